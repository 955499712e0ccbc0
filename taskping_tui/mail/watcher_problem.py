"""What a user must do when the mailbox watcher cannot work on its own (a refused login), in words.

The watcher keeps retrying with backoff, which never helps with a wrong password: the app shows this
in the Inbound panel's body and as a notice, the way a refused SMTP login is shown on the mail.
"""

from __future__ import annotations

from dataclasses import dataclass

from taskping_tui.config import MailConfig
from taskping_tui.mail.providers import provider_for_imap_host
from taskping_tui.mail.watcher import WatcherStatus


@dataclass(frozen=True)
class WatcherProblem:
    title: str  # short: the panel title and the notice title
    reason: str  # what the server said (never the password)
    fix: str


def password_source_text(mail: MailConfig) -> str:
    if mail.password_env:
        return f"the environment variable {mail.password_env}"
    if mail.password_keyring:
        return "the system keyring"
    if mail.password_command:
        return f"the command {mail.password_command!r}"
    return "mail.password in the config"


def _provider_hint(mail: MailConfig) -> str:
    hints = {
        "gmail": "Gmail wants an app password",
        "qq": "QQ Mail wants the authorization code (授权码)",
        "163": "163 Mail wants the authorization code (授权码)",
        "feishu": "Feishu wants the client password",
        "lark": "Lark wants the client password",
    }
    known = provider_for_imap_host(mail.imap.host)
    hint = hints.get(known.key) if known is not None else None
    return f" ({hint}, not the account password)" if hint else ""


def watcher_problem(status: WatcherStatus, mail: MailConfig) -> WatcherProblem | None:
    """The problem to show for ``status``, or None while the watcher can get on by itself."""
    if not status.login_refused:
        return None
    return WatcherProblem(
        title="IMAP login refused",
        reason=status.last_error or f"{mail.imap.host} refused the login",
        fix=(
            f"check the login {mail.login!r} and the password from {password_source_text(mail)}"
            f"{_provider_hint(mail)}; `taskping-tui doctor` tests it; then restart taskping-tui."
        ),
    )


def no_password_problem(error: str) -> WatcherProblem:
    """Mail is on but no password source gave a password: the watcher never starts."""
    return WatcherProblem(
        title="no mail password",
        reason=error,
        fix="set the password where the config says, then restart taskping-tui (`taskping-tui doctor` checks it).",
    )
