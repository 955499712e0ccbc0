"""The user's configuration: a TOML file read once at start-up and checked key by key.

Every section is a dataclass; the loader walks the dataclass fields, so a wrong key, a wrong type or
a value outside its allowed set stops start-up with one message naming the file, the key and the fix.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import stat
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from taskping_tui import paths
from taskping_tui.errors import TaskPingError


class ConfigError(TaskPingError):
    """A config problem, worded for the user: file, key, what is wrong and how to fix it."""

    def __init__(self, path: Path | None, key: str, problem: str, fix: str = "") -> None:
        where = f"{path}: " if path else ""
        key_part = f"{key}: " if key else ""
        super().__init__(f"{where}{key_part}{problem}", fix)
        self.path = path
        self.key = key
        self.problem = problem


SmtpSecurity = Literal["tls", "starttls", "none"]
ImapSecurity = Literal["tls", "none"]
Approval = Literal["auto", "manual"]


@dataclass(frozen=True)
class AgentConfig:
    """[agent]: the program hosted in the terminal pane."""

    command: str = "claude"
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    # Non-Claude agents have no hooks: they count as idle after this much output silence.
    silence_seconds: float = 3.0


@dataclass(frozen=True)
class NotifyConfig:
    """[notify]: how a notification rings on this machine (mail is configured in [mail])."""

    panel: bool = True
    toast: bool = True
    desktop: bool = True


@dataclass(frozen=True)
class SmtpConfig:
    """[mail.smtp]: the server notifications are sent through."""

    host: str = ""
    port: int = 465
    security: SmtpSecurity = "tls"
    timeout_seconds: float = 30.0


@dataclass(frozen=True)
class ImapConfig:
    """[mail.imap]: the mailbox replies arrive in."""

    host: str = ""
    port: int = 993
    security: ImapSecurity = "tls"
    mailbox: str = "INBOX"
    # Seconds between polls when the server has no IDLE.
    poll_seconds: float = 60.0
    send_id: bool = True
    max_mail_bytes: int = 1_000_000


@dataclass(frozen=True)
class MailConfig:
    """[mail]: the service mailbox, used both to send notifications and to receive replies."""

    enabled: bool = False
    address: str = ""
    username: str = ""
    # Where the password comes from, tried in this order: env var, keyring, command, the file itself.
    password_env: str = ""
    password_keyring: bool = False
    password_command: str = ""
    # Never in a repr: tracebacks that print locals (Textual's do) show the config objects they pass.
    password: str = field(default="", repr=False)
    recipients: list[str] = field(default_factory=list)
    token_ttl_hours: float = 24.0
    max_mails_per_minute: int = 6
    answer_cap_chars: int = 20_000
    send_confirmation: bool = False
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    imap: ImapConfig = field(default_factory=ImapConfig)

    @property
    def login(self) -> str:
        return self.username or self.address


@dataclass(frozen=True)
class SecurityConfig:
    """[security]: who may send commands and what needs a human's approval."""

    approval: Approval = "auto"
    allowed_senders: list[str] = field(default_factory=list)
    # Extra regular expressions that mark a command as dangerous (the defaults always apply).
    danger_patterns: list[str] = field(default_factory=list)
    # An authserv-id (e.g. "mx.google.com"): replies must carry its dmarc=pass / aligned dkim=pass verdict.
    require_auth: str = ""
    max_command_chars: int = 4000
    max_commands_per_hour: int = 30
    command_ttl_minutes: float = 120.0


@dataclass(frozen=True)
class UiConfig:
    """[ui]: look and layout."""

    theme: str = "taskping-dark"
    show_sidebar: bool = True
    scrollback_lines: int = 10_000
    # The one key the agent panes do not get: it opens the command layer (Textual key name, e.g. "f6").
    command_key: str = "f6"


OnStart = Literal["resume", "ask", "none"]


@dataclass(frozen=True)
class SessionsConfig:
    """[sessions]: what `taskping-tui` without arguments does with the last run's open sessions."""

    on_start: OnStart = "resume"


@dataclass(frozen=True)
class Config:
    agent: AgentConfig = field(default_factory=AgentConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    mail: MailConfig = field(default_factory=MailConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    ui: UiConfig = field(default_factory=UiConfig)
    sessions: SessionsConfig = field(default_factory=SessionsConfig)
    path: Path | None = None
    warnings: tuple[str, ...] = ()


def _type_name(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "table"}
    return names.get(type(value), type(value).__name__)


def _expected(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(f'"{choice}"' for choice in typing.get_args(tp))
    plural = {str: "strings", bool: "booleans", int: "integers", float: "numbers"}
    if origin is list:
        return f"an array of {plural[typing.get_args(tp)[0]]}"
    if origin is dict:
        return f"a table of {plural[typing.get_args(tp)[1]]}"
    return {str: "a string", bool: "true or false", int: "an integer", float: "a number"}.get(tp, str(tp))


def _convert(value: Any, tp: Any, key: str, path: Path | None) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(path, key, f"expected a table [{key}], got {_type_name(value)}")
        return _build(tp, value, key, path)
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise ConfigError(path, key, f"expected {_expected(tp)}, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(path, key, f"expected {_expected(tp)}, got {_type_name(value)}")
        (item_type,) = typing.get_args(tp)
        return [_convert(item, item_type, f"{key}[{index}]", path) for index, item in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(path, key, f"expected {_expected(tp)}, got {_type_name(value)}")
        _, value_type = typing.get_args(tp)
        return {name: _convert(item, value_type, f"{key}.{name}", path) for name, item in value.items()}
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (str, bool, int, float) and (type(value) is not tp):
        raise ConfigError(path, key, f"expected {_expected(tp)}, got {_type_name(value)} {value!r}")
    return value


def _build(cls: type, table: dict[str, Any], prefix: str, path: Path | None) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls) if f.name not in ("path", "warnings")}
    values: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if key not in known:
            raise ConfigError(
                path,
                dotted,
                "unknown key",
                f"remove it or use one of: {', '.join(sorted(known))}",
            )
        values[key] = _convert(value, hints[key], dotted, path)
    return cls(**values)


def _is_key_name(key: str) -> bool:
    """A Textual key name that is not a plain printable character (those belong to the agent)."""
    return bool(key) and key == key.strip() and " " not in key and len(key) > 1


def _check_numbers(config: Config) -> None:
    def require(condition: bool, key: str, problem: str) -> None:
        if not condition:
            raise ConfigError(config.path, key, problem)

    require(config.agent.command.strip() != "", "agent.command", "must not be empty")
    require(config.agent.silence_seconds >= 0.25, "agent.silence_seconds", "must be at least 0.25 (seconds)")
    require(config.ui.scrollback_lines >= 0, "ui.scrollback_lines", "must be 0 or more")
    require(
        _is_key_name(config.ui.command_key),
        "ui.command_key",
        f'{config.ui.command_key!r} is not a key name (e.g. "f6", "f12", "ctrl+backslash")',
    )
    mail = config.mail
    for key, port in (("mail.smtp.port", mail.smtp.port), ("mail.imap.port", mail.imap.port)):
        require(0 < port < 65536, key, f"{port} is not a TCP port (1-65535)")
    require(mail.token_ttl_hours > 0, "mail.token_ttl_hours", "must be greater than 0")
    require(mail.max_mails_per_minute >= 1, "mail.max_mails_per_minute", "must be at least 1")
    require(config.security.max_command_chars >= 1, "security.max_command_chars", "must be at least 1")
    require(config.security.max_commands_per_hour >= 1, "security.max_commands_per_hour", "must be at least 1")


def _check_address(path: Path | None, key: str, value: str) -> None:
    """Every address setting goes through the gate's own validator (taskping_tui.mail.address)."""
    from taskping_tui.mail.address import AddressError, config_address

    try:
        config_address(value, key)
    except AddressError as error:
        problem = error.problem.removeprefix(f"{key}: ")
        raise ConfigError(path, key, problem, 'write one plain address, e.g. "you@example.com"') from None


def check_mail_addresses(config: Config) -> None:
    """``mail.address`` and every ``mail.recipients`` entry through the one address validator."""
    _check_address(config.path, "mail.address", config.mail.address)
    for index, recipient in enumerate(config.mail.recipients):
        _check_address(config.path, f"mail.recipients[{index}]", recipient)


def _check_security(config: Config) -> None:
    """Allowed senders must be single addresses and danger patterns valid regular expressions."""
    from taskping_tui.inbound.danger import DangerPatternError, compile_patterns

    for index, sender in enumerate(config.security.allowed_senders):
        _check_address(config.path, f"security.allowed_senders[{index}]", sender)
    try:
        compile_patterns(config.security.danger_patterns)
    except DangerPatternError as error:
        raise ConfigError(
            config.path,
            "security.danger_patterns",
            str(error),
            "write a Python regular expression, e.g. '\\bterraform destroy\\b'",
        ) from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_mail(config: Config) -> list[str]:
    """Cross-key checks for [mail]; returns warnings for things that work but are unwise."""
    mail = config.mail
    if not mail.enabled:
        return []
    path = config.path
    for key, value in (
        ("mail.address", mail.address),
        ("mail.smtp.host", mail.smtp.host),
        ("mail.imap.host", mail.imap.host),
    ):
        if not value:
            raise ConfigError(path, key, "is required when mail.enabled = true")
    check_mail_addresses(config)
    if not mail.recipients:
        raise ConfigError(
            path, "mail.recipients", "needs at least one address", 'e.g. recipients = ["you@example.com"]'
        )
    if not config.security.allowed_senders:
        raise ConfigError(
            path,
            "security.allowed_senders",
            "needs at least one address when mail is on",
            "list the exact addresses you will reply from",
        )
    if mail.smtp.security == "none" and not _is_loopback(mail.smtp.host):
        raise ConfigError(
            path,
            "mail.smtp.security",
            f'"none" is only allowed for a loopback host, not {mail.smtp.host!r}',
            'use "tls" (port 465) or "starttls" (port 587)',
        )
    if mail.imap.security == "none" and not _is_loopback(mail.imap.host):
        raise ConfigError(
            path,
            "mail.imap.security",
            f'"none" is only allowed for a loopback host, not {mail.imap.host!r}',
            'use "tls" (port 993)',
        )
    warnings: list[str] = []
    if mail.password:
        warnings.append(
            f"{path}: mail.password is stored in the config file; prefer password_env, "
            "password_keyring or password_command"
        )
        if path and path.exists() and stat.S_IMODE(path.stat().st_mode) & 0o077:
            warnings.append(f"{path} holds a password but is readable by others: chmod 600 {path}")
    elif not (mail.password_env or mail.password_keyring or mail.password_command):
        raise ConfigError(
            path,
            "mail.password_env",
            "no password source is set",
            "set password_env, password_keyring = true or password_command",
        )
    return warnings


def parse_config(text: str, path: Path | None = None) -> Config:
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path, "", f"is not valid TOML: {error}", "fix the syntax at that line") from None
    config: Config = _build(Config, table, "", path)
    config = dataclasses.replace(config, path=path)
    _check_numbers(config)
    _check_security(config)
    warnings = _check_mail(config)
    return dataclasses.replace(config, warnings=tuple(warnings))


def load_config(path: Path | None = None) -> Config:
    """Load ``path``, or the default XDG path; a missing default file means all defaults."""
    explicit = path is not None
    path = path or paths.default_config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if explicit:
            raise ConfigError(path, "", "file not found", "check the --config path") from None
        return Config(path=None)
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(path, "", f"cannot be read: {error}") from None
    return parse_config(text, path)


def expand_env(env: dict[str, str]) -> dict[str, str]:
    """Expand $VARS in [agent] env values against our own environment."""
    return {name: os.path.expandvars(value) for name, value in env.items()}
