"""`taskping-tui doctor`: check everything taskping-tui depends on and say how to fix what is wrong.

Each check gives ok / warning / error with a fix. The mail checks are shared with `init`, which tests
the answers live before saving.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import ssl
import stat
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from taskping_tui import paths
from taskping_tui.config import Config, ConfigError, MailConfig, load_config

OK, WARNING, ERROR = "ok", "warning", "error"
SYMBOLS = {OK: "✔", WARNING: "!", ERROR: "✖"}


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""


def format_check(check: Check) -> str:
    line = f"{SYMBOLS[check.status]} {check.status:<7} {check.name}: {check.detail}"
    return line + (f"\n            fix: {check.fix}" if check.fix else "")


# ------------------------------------------------------------------------------------------- local


def check_state_dir(directory: Path | None = None) -> Check:
    directory = directory or paths.state_dir()
    if not directory.exists():
        return Check("state dir", OK, f"{directory} will be created (0700) on first use")
    mode = stat.S_IMODE(directory.stat().st_mode)
    if directory.stat().st_uid != os.getuid():
        return Check("state dir", ERROR, f"{directory} belongs to another user", f"chown $USER {directory}")
    if mode & 0o077:
        return Check(
            "state dir", WARNING, f"{directory} is readable by others (mode {mode:o})", f"chmod 700 {directory}"
        )
    return Check("state dir", OK, f"{directory} (mode {mode:o})")


def check_agent(config: Config) -> Check:
    command = config.agent.command
    path = shutil.which(command)
    if path is None:
        from taskping_tui.agent.install_hints import install_hint_for

        return Check("agent", ERROR, f"{command!r} is not on PATH", install_hint_for([command]))
    try:
        result = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL
        )
        version = (result.stdout or result.stderr).strip().splitlines()[0] if (result.stdout or result.stderr) else ""
    except (OSError, subprocess.TimeoutExpired) as error:
        return Check("agent", WARNING, f"{path} found but `--version` failed: {error}")
    return Check("agent", OK, f"{path} {version}".strip())


# Claude Code starts in auto mode from this release on (2.1.332 checked; 2.1.197 asks by default).
AUTO_MODE_DEFAULT_SINCE = (2, 1, 330)


def _claude_settings_mode(home: Path, cwd: Path) -> tuple[str, Path] | None:
    """permissions.defaultMode from Claude Code's settings files, the most specific file first."""
    for path in (
        cwd / ".claude" / "settings.local.json",
        cwd / ".claude" / "settings.json",
        home / ".claude" / "settings.json",
    ):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        mode = data.get("permissions", {}).get("defaultMode") if isinstance(data, dict) else None
        if isinstance(mode, str) and mode:
            return mode, path
    return None


def _version_tuple(text: str) -> tuple[int, ...] | None:
    import re

    found = re.search(r"\b(\d+)\.(\d+)\.(\d+)\b", text)
    return tuple(int(part) for part in found.groups()) if found else None


def check_permission_mode(
    config: Config, version_text: str, *, home: Path | None = None, cwd: Path | None = None
) -> Check | None:
    """Claude Code in a mode that never asks sends no permission mail: say so, with the way out."""
    from taskping_tui.agent.permission_mode import HOW_TO_BE_ASKED, NEVER_ASKS

    if Path(config.agent.command).name != "claude":
        return None
    args = list(config.agent.args)
    mode, where = None, ""
    if "--dangerously-skip-permissions" in args:
        mode, where = "bypassPermissions", "[agent] args"
    elif "--permission-mode" in args[:-1]:
        mode, where = args[args.index("--permission-mode") + 1], "[agent] args"
    elif (found := _claude_settings_mode(home or Path.home(), cwd or Path.cwd())) is not None:
        mode, where = found[0], str(found[1])
    else:
        version = _version_tuple(version_text)
        if version is not None and version >= AUTO_MODE_DEFAULT_SINCE:
            mode, where = "auto", f"the default of Claude Code {'.'.join(map(str, version))}"
    if mode is None:
        return Check("permission mode", OK, "Claude Code asks before running tools: permission mails are sent")
    if mode in NEVER_ASKS:
        return Check(
            "permission mode",
            WARNING,
            f"{NEVER_ASKS[mode]} ({where}): tools run without asking, so no permission mail is ever sent",
            HOW_TO_BE_ASKED,
        )
    return Check("permission mode", OK, f"{mode} ({where}): Claude Code asks, and you get a mail")


async def check_hook_round_trip(timeout: float = 5.0) -> Check:
    """Start a private hook socket and run the real hook command against it, as Claude Code would."""
    from taskping_tui.agent.hooks import InstanceDir, hook_command
    from taskping_tui.agent.socket_server import HookSocketServer

    received: asyncio.Queue[object] = asyncio.Queue()
    instance = InstanceDir.create()
    server = HookSocketServer(instance.socket_path, received.put_nowait)
    try:
        await server.start()
        payload = json.dumps(
            {
                "hook_event_name": "SessionStart",
                "session_id": "doctor",
                "cwd": os.getcwd(),
                "transcript_path": "",
                "source": "doctor",
            }
        )
        process = await asyncio.create_subprocess_shell(
            hook_command(instance.socket_path),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await asyncio.wait_for(process.communicate(payload.encode()), timeout)
        await asyncio.wait_for(received.get(), timeout)
    except (OSError, TimeoutError, PermissionError) as error:
        return Check(
            "hook round trip",
            ERROR,
            f"a hook call did not reach the app's socket ({error})",
            f"check that {paths.runtime_dir()} is writable and private to you",
        )
    finally:
        await server.stop()
        instance.cleanup()
    return Check("hook round trip", OK, "`taskping-tui hook` reached a private socket")


def check_keyring(mail: MailConfig) -> Check | None:
    """The keyring, only when the config reads the password from it (headless machines have none)."""
    if not (mail.enabled and mail.password_keyring):
        return None
    try:
        import keyring
    except ImportError:
        return Check(
            "keyring",
            ERROR,
            "password_keyring = true but the keyring package is not installed",
            "pip install 'taskping-tui[keyring]', or use password_env / password_command",
        )
    backend = keyring.get_keyring()
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    if "fail" in name.lower() or "null" in name.lower():
        return Check(
            "keyring",
            ERROR,
            f"password_keyring = true but there is no usable keyring backend ({name})",
            "install and unlock a Secret Service (e.g. gnome-keyring), or use password_env",
        )
    return Check("keyring", OK, name)


def check_require_auth(config: Config) -> Check:
    """[security] require_auth must name the server that receives the service mailbox's mail."""
    from taskping_tui.mail.providers import require_auth_fit

    fit = require_auth_fit(config.security.require_auth, config.mail.imap.host)
    return Check("require_auth", WARNING if fit.fits is False else OK, fit.detail, fit.fix)


# ------------------------------------------------------------------------------------------- mail


def resolve_mail_password(mail: MailConfig) -> tuple[str | None, Check]:
    from taskping_tui.mail.password import PasswordError, resolve_password

    try:
        password = resolve_password(mail)
    except PasswordError as error:
        return None, Check("password", ERROR, str(error))
    return password, Check("password", OK, "found (not shown)")


async def check_smtp(mail: MailConfig, password: str, ssl_context: ssl.SSLContext | None = None) -> Check:
    from taskping_tui.mail.sender import SmtpSender

    sender = SmtpSender(mail, ssl_context=ssl_context, password_resolver=lambda _mail: password)
    result = await sender.check_login()
    if result.outcome == "sent":
        return Check("SMTP", OK, result.message)
    return Check("SMTP", ERROR, result.message, "check [mail.smtp] host, port and security, and the password")


async def send_test_mail(mail: MailConfig, password: str, ssl_context: ssl.SSLContext | None = None) -> Check:
    from email.message import EmailMessage
    from email.utils import formatdate

    from taskping_tui.mail.compose import new_message_id
    from taskping_tui.mail.sender import SmtpSender

    message = EmailMessage()
    message["From"] = mail.address
    message["To"] = ", ".join(mail.recipients)
    message["Subject"] = "taskping-tui doctor: test mail"
    # Without them some servers add their own and spam filters score the mail down.
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = new_message_id(mail.address)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content("This is a test mail from `taskping-tui doctor --send-test`. No need to answer it.\n")
    sender = SmtpSender(mail, ssl_context=ssl_context, password_resolver=lambda _mail: password)
    result = await sender.send(message.as_bytes(), sender=mail.address, recipients=mail.recipients)
    if result.outcome == "sent":
        return Check(
            "test mail",
            WARNING if result.warning else OK,
            f"sent to {', '.join(mail.recipients)}" + (f" ({result.warning})" if result.warning else ""),
        )
    return Check("test mail", ERROR, result.message)


async def check_imap(mail: MailConfig, password: str, ssl_context: ssl.SSLContext | None = None) -> list[Check]:
    from taskping_tui.mail.imap_client import ImapError, ImapSession
    from taskping_tui.mail.sender import is_loopback_host

    imap = mail.imap
    where = f"{imap.host}:{imap.port}"
    if imap.security == "none" and not is_loopback_host(imap.host):
        return [
            Check(
                "IMAP",
                ERROR,
                f'security = "none" is only allowed for a loopback host, not {imap.host}',
                'use security = "tls" on port 993',
            )
        ]
    context = (ssl_context or ssl.create_default_context()) if imap.security == "tls" else None
    session = ImapSession(imap.host, imap.port, ssl_context=context, response_timeout=20.0)
    checks: list[Check] = []
    try:
        await session.connect()
        await session.login(mail.login, password)
        checks.append(Check("IMAP login", OK, f"logged in to {where} ({imap.security})"))
        if imap.send_id:
            await session.send_id(name="taskping-tui", version="doctor")
            checks.append(Check("IMAP ID", OK, "sent" if session.has_capability("ID") else "not offered"))
        selected = await session.select(imap.mailbox)
        checks.append(Check("IMAP select", OK, f"{imap.mailbox}: {selected.exists} mails"))
        if session.has_capability("IDLE"):
            checks.append(Check("IMAP IDLE", OK, "supported: replies arrive within seconds"))
        else:
            checks.append(
                Check(
                    "IMAP IDLE",
                    WARNING,
                    f"not supported: polling every {imap.poll_seconds:g} s",
                    "lower [mail.imap] poll_seconds for faster replies",
                )
            )
    except ImapError as error:
        checks.append(
            Check("IMAP", ERROR, str(error), "check [mail.imap] host, port, security, the login and the password")
        )
    finally:
        await session.close()
    return checks


async def check_mail(
    mail: MailConfig, *, send_test: bool = False, password: str | None = None, ssl_context: ssl.SSLContext | None = None
) -> list[Check]:
    checks: list[Check] = []
    if password is None:
        password, password_check = await asyncio.to_thread(resolve_mail_password, mail)
        checks.append(password_check)
        if password is None:
            return checks
    smtp_check = await check_smtp(mail, password, ssl_context)
    checks.append(smtp_check)
    if send_test and smtp_check.status == OK:
        checks.append(await send_test_mail(mail, password, ssl_context))
    checks.extend(await check_imap(mail, password, ssl_context))
    return checks


# ------------------------------------------------------------------------------------------- run


async def run_checks(
    config_path: Path | None, *, send_test: bool = False, ssl_context: ssl.SSLContext | None = None
) -> list[Check]:
    try:
        config = load_config(config_path)
    except ConfigError as error:
        return [
            Check(
                "config",
                ERROR,
                f"{error.key + ': ' if error.key else ''}{error.problem}",
                error.fix or f"edit {error.path}",
            )
        ]
    where = str(config.path) if config.path else f"defaults ({paths.default_config_path()} does not exist)"
    checks = [Check("config", OK, where)]
    checks.extend(Check("config", WARNING, warning) for warning in config.warnings)
    checks.append(check_state_dir())
    agent_check = await asyncio.to_thread(check_agent, config)
    checks.append(agent_check)
    mode_check = check_permission_mode(config, agent_check.detail if agent_check.status == OK else "")
    if mode_check is not None:
        checks.append(mode_check)
    checks.append(await check_hook_round_trip())
    keyring_check = check_keyring(config.mail)
    if keyring_check is not None:
        checks.append(keyring_check)
    if config.mail.enabled:
        checks.append(check_require_auth(config))
        checks.extend(await check_mail(config.mail, send_test=send_test, ssl_context=ssl_context))
    else:
        checks.append(
            Check(
                "mail",
                WARNING,
                "mail is off: notifications stay on this screen",
                "run `taskping-tui init` to set up mail",
            )
        )
    return checks


def main(config_path: Path | None, *, send_test: bool = False, write: Callable[[str], object] = print) -> int:
    checks = asyncio.run(run_checks(config_path, send_test=send_test))
    for check in checks:
        write(format_check(check))
    errors = sum(check.status == ERROR for check in checks)
    warnings = sum(check.status == WARNING for check in checks)
    write(f"\n{errors} error(s), {warnings} warning(s)")
    return 1 if errors else 0
