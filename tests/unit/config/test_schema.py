"""The config file: defaults, the example file, and one clear message for each kind of mistake."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from taskping_tui.config import Config, ConfigError, load_config, parse_config
from tests.support import ROOT

CONFIG = Path("/home/me/.config/taskping-tui/config.toml")

MAIL_ON = """
[mail]
enabled = true
address = "bot@example.com"
password_env = "PW"
recipients = ["me@example.com"]
smtp = { host = "smtp.example.com" }
imap = { host = "imap.example.com" }
[security]
allowed_senders = ["me@example.com"]
"""


def error_for(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, CONFIG)
    return str(caught.value)


def test_missing_default_file_gives_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    config = load_config()
    assert config == Config()
    assert config.agent.command == "claude"
    assert config.mail.enabled is False


def test_example_file_is_valid_and_documents_every_key() -> None:
    example = ROOT / "config.example.toml"
    config = load_config(example)
    assert config.security.approval == "auto"
    text = example.read_text()
    for section in ("agent", "notify", "mail", "mail.smtp", "mail.imap", "security", "ui"):
        assert f"[{section}]" in text


def test_explicit_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[agent]\ncomand = 'x'", "agent.comand: unknown key"),
        ("[agent]\ncommand = 3", "agent.command: expected a string, got integer 3"),
        ("[agent]\nargs = 'x'", "agent.args: expected an array of strings, got string"),
        ("[agent]\nenv = { A = 1 }", "agent.env.A: expected a string"),
        ("[security]\napproval = 'maybe'", 'security.approval: expected one of "auto", "manual"'),
        ("[mail.smtp]\nport = 70000", "mail.smtp.port: 70000 is not a TCP port"),
        ("[ui]\nshow_sidebar = 'yes'", "ui.show_sidebar: expected true or false"),
        ("[agent\ncommand='x'", "is not valid TOML"),
        ("mail = 3", "mail: expected a table [mail], got integer"),
    ],
)
def test_mistakes_name_file_key_and_expectation(text: str, expected: str) -> None:
    message = error_for(text)
    assert message.startswith(f"{CONFIG}: ")
    assert expected in message


def test_unknown_key_lists_the_valid_ones() -> None:
    assert "use one of: args, command, env, silence_seconds" in error_for("[agent]\nfoo = 1")


def test_integer_is_accepted_for_a_number() -> None:
    assert parse_config("[agent]\nsilence_seconds = 2").agent.silence_seconds == 2.0


def test_mail_on_needs_recipients_senders_and_a_password_source() -> None:
    assert parse_config(MAIL_ON).mail.login == "bot@example.com"
    assert "mail.recipients: needs at least one address" in error_for(
        MAIL_ON.replace('"me@example.com"]\nsmtp', "]\nsmtp")
    )
    assert "no password source is set" in error_for(MAIL_ON.replace('password_env = "PW"', ""))
    assert "security.allowed_senders" in error_for(MAIL_ON.replace('allowed_senders = ["me@example.com"]', ""))


def test_plain_smtp_is_refused_off_loopback() -> None:
    message = error_for(
        MAIL_ON.replace(
            'smtp = { host = "smtp.example.com" }', 'smtp = { host = "smtp.example.com", security = "none" }'
        )
    )
    assert 'mail.smtp.security: "none" is only allowed for a loopback host' in message
    loopback = MAIL_ON.replace(
        'smtp = { host = "smtp.example.com" }', 'smtp = { host = "127.0.0.1", port = 2525, security = "none" }'
    )
    assert parse_config(loopback).mail.smtp.security == "none"


def test_password_in_file_warns_about_permissions(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(MAIL_ON.replace('password_env = "PW"', 'password = "hunter2"'))
    os.chmod(path, 0o644)
    warnings = load_config(path).warnings
    assert any("stored in the config file" in w for w in warnings)
    assert any(f"chmod 600 {path}" in w for w in warnings)
    assert not any("hunter2" in w for w in warnings)


def test_cli_reports_a_bad_config_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[agent]\ncommand = 42\n")
    result = subprocess.run(
        [sys.executable, "-m", "taskping_tui", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert f"{path}: agent.command: expected a string" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_version_and_help() -> None:
    version = subprocess.run(
        [sys.executable, "-m", "taskping_tui", "--version"], capture_output=True, text=True, timeout=30
    )
    assert version.stdout.strip().startswith("taskping-tui 0.")
    usage = subprocess.run([sys.executable, "-m", "taskping_tui", "--help"], capture_output=True, text=True, timeout=30)
    assert "[-- COMMAND [ARGS...]]" in usage.stdout


def test_cli_points_a_stray_command_to_the_separator() -> None:
    result = subprocess.run([sys.executable, "-m", "taskping_tui", "vim"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "put the agent command after `--`" in result.stderr


def test_bad_allowed_sender_and_bad_danger_pattern_are_named() -> None:
    assert "security.allowed_senders[1]: 'not an address' is not a single mail address" in error_for(
        '[security]\nallowed_senders = ["me@example.com", "not an address"]'
    )
    assert "security.danger_patterns" in error_for('[security]\ndanger_patterns = ["rm -rf (unclosed"]')


def test_command_key_and_sessions_on_start() -> None:
    config = parse_config('[ui]\ncommand_key = "f12"\n[sessions]\non_start = "ask"\n')
    assert (config.ui.command_key, config.sessions.on_start) == ("f12", "ask")
    assert (parse_config("").ui.command_key, parse_config("").sessions.on_start) == ("f6", "resume")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[ui]\ncommand_key = "x"\n', "ui.command_key"),
        ('[ui]\ncommand_key = ""\n', "ui.command_key"),
        ('[sessions]\non_start = "always"\n', "sessions.on_start"),
    ],
)
def test_bad_session_settings_name_the_key(text: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert key in str(caught.value)
