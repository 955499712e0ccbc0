"""Where the mail password comes from: env var, system keyring, a command, or (last) the config file.

Sources are tried in that order and the first that yields a non-empty password wins. When none works the
error names every configured key and why it gave nothing — never the password, and never a command's
output (a failing password manager may print the secret or part of it to stderr).
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from taskping_tui.config import MailConfig
from taskping_tui.errors import TaskPingError

logger = logging.getLogger(__name__)

KEYRING_SERVICE = "taskping-tui"
DEFAULT_COMMAND_TIMEOUT = 30.0
# A password command with any of these needs a shell (pipes, redirections, variables, globbing...).
_SHELL_CHARACTERS = frozenset("|&;<>()$`*?~\n{}[]")


class PasswordError(TaskPingError):
    """No password source gave a password; the message names the config keys to fix."""


@dataclass(frozen=True)
class PasswordAttempt:
    key: str
    problem: str


class Secret:
    """A password that never shows itself: not in a repr, not in str(), not in a traceback's locals.

    Textual prints crash tracebacks with ``show_locals=True``; holding the password in one of these keeps
    it out of every frame that shows it. Use :meth:`reveal` only at the call that needs the text.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


def resolve_secret(mail: MailConfig, **options: object) -> Secret:
    """:func:`resolve_password`, wrapped in a :class:`Secret`."""
    return Secret(resolve_password(mail, **options))  # type: ignore[arg-type]


def has_password_source(mail: MailConfig) -> bool:
    """True when [mail] names any password source (otherwise the server is used without AUTH)."""
    return bool(mail.password_env or mail.password_keyring or mail.password_command or mail.password)


def resolve_password(
    mail: MailConfig,
    *,
    environ: Mapping[str, str] | None = None,
    command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
) -> str:
    """Return the password for ``mail.login`` or raise :class:`PasswordError` naming what was tried."""
    environ = os.environ if environ is None else environ
    attempts: list[PasswordAttempt] = []
    if mail.password_env:
        value = environ.get(mail.password_env, "")
        if value:
            return value
        attempts.append(PasswordAttempt("mail.password_env", f"environment variable {mail.password_env} is not set"))
    if mail.password_keyring:
        value, problem = _password_from_keyring(mail.login)
        if value:
            return value
        attempts.append(PasswordAttempt("mail.password_keyring", problem))
    if mail.password_command:
        value, problem = _password_from_command(mail.password_command, command_timeout)
        if value:
            return value
        attempts.append(PasswordAttempt("mail.password_command", problem))
    if mail.password:
        return mail.password
    if not attempts:
        raise PasswordError(
            "no mail password source is set: set mail.password_env, mail.password_keyring = true "
            "or mail.password_command"
        )
    details = "; ".join(f"{attempt.key}: {attempt.problem}" for attempt in attempts)
    raise PasswordError(f"no mail password found ({details})")


def _password_from_keyring(login: str) -> tuple[str, str]:
    try:
        import keyring  # optional dependency: only needed by users who set password_keyring = true
    except ImportError:
        return "", "the 'keyring' package is not installed (pip install keyring)"
    try:
        value = keyring.get_password(KEYRING_SERVICE, login)
    except Exception as error:  # any backend failure (locked, no D-Bus...) is a reason, not a crash
        return "", f"the system keyring failed ({type(error).__name__})"
    if not value:
        return "", (
            f"no keyring entry for service {KEYRING_SERVICE!r} and user {login!r} "
            f"(add it with: keyring set {KEYRING_SERVICE} {login})"
        )
    return value, ""


def _command_argv(command: str) -> list[str]:
    """Run simple commands directly; only commands that use shell syntax go through /bin/sh."""
    if any(character in _SHELL_CHARACTERS for character in command):
        return ["/bin/sh", "-c", command]
    return shlex.split(command)


def _password_from_command(command: str, timeout: float) -> tuple[str, str]:
    """The first line of the command's stdout, stripped (the ``pass`` / msmtp ``passwordeval`` habit)."""
    argv = _command_argv(command)
    if not argv:
        return "", "the command is empty"
    try:
        completed = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError:
        return "", f"command not found: {argv[0]}"
    except PermissionError:
        return "", f"command is not executable: {argv[0]}"
    except subprocess.TimeoutExpired:
        return "", f"the command did not finish within {timeout:g} s"
    except OSError as error:
        return "", f"the command could not be started ({error.strerror or type(error).__name__})"
    if completed.returncode != 0:
        logger.warning("mail.password_command exited with status %d", completed.returncode)
        return "", (
            f"the command exited with status {completed.returncode} "
            "(its output is not shown; run it by hand to see why)"
        )
    lines = completed.stdout.decode("utf-8", errors="replace").splitlines()
    value = lines[0].strip() if lines else ""
    if not value:
        return "", "the command printed nothing on its first line"
    return value, ""
