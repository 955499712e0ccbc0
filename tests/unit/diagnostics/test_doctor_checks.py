"""`doctor`'s local checks: the keyring only when it is used, require_auth against the IMAP host, the test mail."""

from __future__ import annotations

import sys
import types
from dataclasses import replace

import pytest

from taskping_tui.config import Config, ImapConfig, MailConfig, SecurityConfig
from taskping_tui.diagnostics.doctor import ERROR, OK, WARNING, check_keyring, check_require_auth, send_test_mail
from taskping_tui.mail.providers import address_fits, provider, require_auth_fit, servers_fit
from tests.support.smtp_fixtures import SmtpServerFactory


def mail_config(**overrides: object) -> MailConfig:
    values: dict[str, object] = {"enabled": True, "address": "bot@example.com", "recipients": ["me@example.com"]}
    values.update(overrides)
    return MailConfig(**values)  # type: ignore[arg-type]


def no_backend_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    class FailKeyring:
        pass

    FailKeyring.__module__ = "keyring.backends.fail"
    monkeypatch.setitem(sys.modules, "keyring", types.SimpleNamespace(get_keyring=FailKeyring))


def test_keyring_is_not_checked_when_the_password_comes_from_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """A headless machine with the keyring extra installed but no backend: no warning unless it is used."""
    no_backend_keyring(monkeypatch)
    assert check_keyring(mail_config(password_env="TP_PW")) is None
    assert check_keyring(mail_config(enabled=False, password_keyring=True)) is None


def test_keyring_without_a_backend_is_an_error_when_the_password_lives_there(monkeypatch: pytest.MonkeyPatch) -> None:
    no_backend_keyring(monkeypatch)
    check = check_keyring(mail_config(password_keyring=True))
    assert check is not None and check.status == ERROR
    assert "no usable keyring backend" in check.detail and "password_env" in check.fix


def test_keyring_package_missing_is_an_error_when_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)
    check = check_keyring(mail_config(password_keyring=True))
    assert check is not None and check.status == ERROR and "pip install" in check.fix


def with_auth(require_auth: str, imap_host: str) -> Config:
    return Config(mail=mail_config(imap=ImapConfig(host=imap_host)), security=SecurityConfig(require_auth=require_auth))


@pytest.mark.parametrize(
    ("require_auth", "imap_host"),
    [
        ("mx.google.com", "127.0.0.1"),
        ("mx.google.com", "imap.qq.com"),
        ("mx.google.com", "mail.example.org"),
        ("mx.example.org", "imap.gmail.com"),
    ],
)
def test_require_auth_that_cannot_fit_the_imap_host_is_a_warning_with_the_fix(
    require_auth: str, imap_host: str
) -> None:
    """Gmail's authserv-id with another provider's mailbox: every reply would be rejected."""
    check = check_require_auth(with_auth(require_auth, imap_host))
    assert check.status == WARNING, check
    assert "every reply is rejected" in check.detail
    assert "require_auth" in check.fix


def test_require_auth_that_fits_or_cannot_be_judged_is_ok() -> None:
    assert check_require_auth(with_auth("mx.google.com", "imap.gmail.com")).status == OK
    self_hosted = check_require_auth(with_auth("mx.example.org", "mail.example.org"))
    assert self_hosted.status == OK and "inspect" in self_hosted.detail
    off = check_require_auth(with_auth("", "imap.gmail.com"))
    assert off.status == OK and "mx.google.com" in off.detail


def test_require_auth_fit_ignores_case_and_spaces() -> None:
    assert require_auth_fit(" MX.Google.com ", "IMAP.gmail.com").fits is True


def test_provider_presets_fit_only_their_own_servers_and_addresses() -> None:
    gmail = provider("gmail")
    assert servers_fit(gmail, "smtp.gmail.com", "465", "imap.gmail.com", "993")
    assert not servers_fit(gmail, "smtp.gmail.com", "465", "127.0.0.1", "993")
    assert not servers_fit(gmail, "smtp.gmail.com", "587", "imap.gmail.com", "993")
    assert address_fits(gmail, "bot@gmail.com") and address_fits(gmail, "bot@gm")  # still typing
    assert not address_fits(gmail, "bot@example.org")
    assert address_fits(provider("custom"), "bot@example.org")
    assert address_fits(provider("feishu"), "bot@company.cn")  # company domains: no way to tell


async def test_send_test_mail_has_date_and_message_id(smtp_server_factory: SmtpServerFactory) -> None:
    server = smtp_server_factory()
    mail = replace(server.mail_config(), address="bot@example.com")
    check = await send_test_mail(mail, "unused")
    assert check.status == OK, check
    (received,) = server.messages
    message = received.message
    assert message["Date"] and message["Message-ID"].endswith("@example.com>")


def claude_config(*args: str) -> Config:
    from taskping_tui.config import AgentConfig

    return Config(agent=AgentConfig(command="claude", args=list(args)))


def test_claude_332_defaults_to_auto_mode_and_doctor_says_no_permission_mail_comes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from taskping_tui.diagnostics.doctor import check_permission_mode

    check = check_permission_mode(claude_config(), "/usr/bin/claude 2.1.332 (Claude Code)", home=tmp_path, cwd=tmp_path)
    assert check is not None and check.status == WARNING
    assert "auto mode" in check.detail and "no permission mail" in check.detail
    assert "--permission-mode default" in check.fix and "Shift+Tab" in check.fix


def test_permission_mode_chosen_in_args_or_settings_is_respected(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json as json_module

    from taskping_tui.diagnostics.doctor import check_permission_mode

    version = "claude 2.1.332 (Claude Code)"
    asked = check_permission_mode(claude_config("--permission-mode", "default"), version, home=tmp_path, cwd=tmp_path)
    assert asked is not None and asked.status == OK
    skip = check_permission_mode(claude_config("--dangerously-skip-permissions"), version, home=tmp_path, cwd=tmp_path)
    assert skip is not None and skip.status == WARNING
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / "settings.json").write_text(json_module.dumps({"permissions": {"defaultMode": "default"}}))
    from_settings = check_permission_mode(claude_config(), version, home=tmp_path, cwd=tmp_path / "elsewhere")
    assert from_settings is not None and from_settings.status == OK and "settings.json" in from_settings.detail
    old = check_permission_mode(
        claude_config(), "claude 2.1.197 (Claude Code)", home=tmp_path / "x", cwd=tmp_path / "x"
    )
    assert old is not None and old.status == OK
    from taskping_tui.config import AgentConfig

    assert check_permission_mode(Config(agent=AgentConfig(command="bash")), version) is None
