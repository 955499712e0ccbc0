"""The mail password comes from env, keyring, a command or the file — in that order — and never leaks."""

from __future__ import annotations

import logging
import sys
import types

import pytest

from taskping_tui.config import MailConfig
from taskping_tui.mail.password import KEYRING_SERVICE, PasswordError, has_password_source, resolve_password

SECRET = "correct-horse-battery"


def config(**values) -> MailConfig:
    return MailConfig(enabled=True, address="bot@example.org", **values)


def test_env_var_wins_over_every_other_source() -> None:
    mail = config(password_env="TP_PW", password_command="echo from-command", password="from-file")
    assert resolve_password(mail, environ={"TP_PW": SECRET}) == SECRET


def test_unset_env_var_falls_through_to_the_command() -> None:
    mail = config(password_env="TP_PW", password_command=f"echo {SECRET}")
    assert resolve_password(mail, environ={}) == SECRET


def test_command_password_is_its_first_line_stripped() -> None:
    mail = config(password_command=f"printf '  {SECRET}  \\nuser: bot\\n'")
    assert resolve_password(mail, environ={}) == SECRET


def test_command_with_shell_syntax_runs_in_a_shell() -> None:
    mail = config(password_command="echo correct-horse | tr a-z A-Z")
    assert resolve_password(mail, environ={}) == "CORRECT-HORSE"


def test_failing_command_reports_status_but_not_its_output(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    mail = config(password_command=f"sh -c 'echo {SECRET}; echo {SECRET} >&2; exit 3'")
    with pytest.raises(PasswordError) as caught:
        resolve_password(mail, environ={})
    message = str(caught.value)
    assert "mail.password_command" in message and "status 3" in message
    assert SECRET not in message
    assert SECRET not in caplog.text


def test_command_that_hangs_is_stopped() -> None:
    mail = config(password_command="sleep 5")
    with pytest.raises(PasswordError, match="did not finish within 0.2 s"):
        resolve_password(mail, environ={}, command_timeout=0.2)


def test_missing_command_is_named() -> None:
    mail = config(password_command="no-such-password-tool --get")
    with pytest.raises(PasswordError, match="command not found: no-such-password-tool"):
        resolve_password(mail, environ={})


def test_keyring_is_asked_for_our_service_and_the_login(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, str]] = []

    def get_password(service: str, username: str) -> str:
        asked.append((service, username))
        return SECRET

    monkeypatch.setitem(sys.modules, "keyring", types.SimpleNamespace(get_password=get_password))
    mail = config(username="login-name", password_keyring=True, password_command="echo never-used")
    assert resolve_password(mail, environ={}) == SECRET
    assert asked == [(KEYRING_SERVICE, "login-name")]


def test_keyring_not_installed_falls_back_to_file_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)  # makes `import keyring` fail
    assert resolve_password(config(password_keyring=True, password="from-file"), environ={}) == "from-file"


def test_every_failed_source_is_named_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)
    mail = config(password_env="TP_PW", password_keyring=True, password_command="false")
    with pytest.raises(PasswordError) as caught:
        resolve_password(mail, environ={})
    message = str(caught.value)
    assert "mail.password_env: environment variable TP_PW is not set" in message
    assert "mail.password_keyring: the 'keyring' package is not installed" in message
    assert "mail.password_command: the command exited with status 1" in message


def test_keyring_without_entry_says_how_to_add_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "keyring", types.SimpleNamespace(get_password=lambda s, u: None))
    with pytest.raises(PasswordError, match="keyring set taskping-tui bot@example.org"):
        resolve_password(config(password_keyring=True), environ={})


def test_no_source_at_all() -> None:
    assert not has_password_source(config())
    with pytest.raises(PasswordError, match="mail.password_env"):
        resolve_password(config(), environ={})
