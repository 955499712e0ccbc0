"""What `taskping-tui init` asks, turned into config changes and checked before anything is written."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from taskping_tui.config import Config, ConfigError, parse_config
from taskping_tui.config.writer import Change, apply_changes


@dataclass
class SetupAnswers:
    address: str = ""
    username: str = ""
    smtp_host: str = ""
    smtp_port: int = 465
    smtp_security: str = "tls"
    imap_host: str = ""
    imap_port: int = 993
    imap_security: str = "tls"
    send_id: bool = True
    # "env", "keyring" or "command"
    password_source: str = "env"
    password_env: str = "TASKPING_MAIL_PASSWORD"
    password_command: str = ""
    recipients: list[str] = field(default_factory=list)
    allowed_senders: list[str] = field(default_factory=list)
    approval: str = "auto"
    theme: str = "taskping-dark"
    require_auth: str = ""


def split_addresses(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").replace(" ", ",").split(",") if part.strip()]


def answers_to_changes(answers: SetupAnswers) -> list[Change]:
    password_keys: list[Change] = [
        ("mail", "password_env", answers.password_env.strip() if answers.password_source == "env" else ""),
        ("mail", "password_keyring", answers.password_source == "keyring"),
        ("mail", "password_command", answers.password_command.strip() if answers.password_source == "command" else ""),
    ]
    return [
        ("mail", "enabled", True),
        ("mail", "address", answers.address.strip()),
        ("mail", "username", answers.username.strip()),
        *password_keys,
        ("mail", "recipients", answers.recipients),
        ("mail.smtp", "host", answers.smtp_host.strip()),
        ("mail.smtp", "port", answers.smtp_port),
        ("mail.smtp", "security", answers.smtp_security),
        ("mail.imap", "host", answers.imap_host.strip()),
        ("mail.imap", "port", answers.imap_port),
        ("mail.imap", "security", answers.imap_security),
        ("mail.imap", "send_id", answers.send_id),
        ("security", "approval", answers.approval),
        ("security", "allowed_senders", answers.allowed_senders),
        ("security", "require_auth", answers.require_auth.strip()),
        ("ui", "theme", answers.theme),
    ]


def check_answers(answers: SetupAnswers, existing: Path | None = None) -> Config:
    """The config that saving would produce, validated exactly as start-up validates it."""
    data: dict = {}
    if existing is not None and existing.exists():
        try:
            data = tomllib.loads(existing.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(existing, "", f"is not valid TOML: {error}", "fix it or move it away first") from None
    apply_changes(data, answers_to_changes(answers))
    return parse_config(tomli_w.dumps(data), existing)
