"""`taskping-tui doctor` against real servers: all green, then a wrong password and a closed port."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from taskping_tui.diagnostics.doctor import ERROR, OK, WARNING, Check, run_checks
from tests.support.dovecot_fixtures import DovecotServer, MailUser
from tests.support.smtp_fixtures import PasswordAuthenticator, SmtpServerFactory, free_port

pytestmark = pytest.mark.slow


def write_config(path: Path, user: MailUser, smtp_port: int, imap_port: int) -> Path:
    path.write_text(f"""
[agent]
command = "{sys.executable}"

[mail]
enabled = true
address = "{user.login}"
password_env = "DOCTOR_TEST_PASSWORD"
recipients = ["me@example.com"]
smtp = {{ host = "127.0.0.1", port = {smtp_port}, security = "none", timeout_seconds = 5.0 }}
imap = {{ host = "127.0.0.1", port = {imap_port}, security = "none" }}

[security]
allowed_senders = ["me@example.com"]
""")
    return path


@pytest.fixture
def mail_setup(
    tmp_path: Path, dovecot: DovecotServer, smtp_server_factory: SmtpServerFactory, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, MailUser, int]:
    user = dovecot.new_user()
    smtp = smtp_server_factory(auth=True, start=False)
    smtp.authenticator = PasswordAuthenticator({user.login: user.password})
    smtp.start()
    monkeypatch.setenv("DOCTOR_TEST_PASSWORD", user.password)
    return write_config(tmp_path / "config.toml", user, smtp.port, dovecot.imap_port), user, smtp.port


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


async def test_everything_ok_against_dovecot_and_aiosmtpd(mail_setup: tuple[Path, MailUser, int]) -> None:
    config_path, user, _port = mail_setup
    checks = by_name(await run_checks(config_path))
    for name in ("config", "agent", "hook round trip", "password", "SMTP", "IMAP login", "IMAP select", "IMAP IDLE"):
        assert checks[name].status == OK, checks[name]
    assert "logged in to 127.0.0.1" in checks["SMTP"].detail
    assert all(check.status != ERROR for check in checks.values())


async def test_wrong_password_is_an_error_with_a_fix(
    mail_setup: tuple[Path, MailUser, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    config_path, _user, _port = mail_setup
    monkeypatch.setenv("DOCTOR_TEST_PASSWORD", "not-the-password")
    checks = by_name(await run_checks(config_path))
    assert checks["SMTP"].status == ERROR
    assert "login" in checks["SMTP"].detail and "refused" in checks["SMTP"].detail
    assert checks["SMTP"].fix
    assert checks["IMAP"].status == ERROR and checks["IMAP"].fix
    assert "not-the-password" not in " ".join(str(c) for c in checks.values())


async def test_closed_smtp_port_is_an_error(
    tmp_path: Path, dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = dovecot.new_user()
    monkeypatch.setenv("DOCTOR_TEST_PASSWORD", user.password)
    config_path = write_config(tmp_path / "config.toml", user, free_port(), dovecot.imap_port)
    checks = by_name(await run_checks(config_path))
    assert checks["SMTP"].status == ERROR
    assert "cannot" in checks["SMTP"].detail
    assert checks["IMAP login"].status == OK


async def test_broken_config_is_reported_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[mail]\nenabled = 'yes'\n")
    (check,) = await run_checks(path)
    assert check.status == ERROR and "mail.enabled" in check.detail


def test_cli_exit_status_follows_errors(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[agent]\ncommand = "{sys.executable}"\n')
    result = subprocess.run(
        [sys.executable, "-m", "taskping_tui", "doctor", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout
    assert "0 error(s)" in result.stdout and WARNING in result.stdout
    path.write_text('[agent]\ncommand = "no-such-agent"\n')
    result = subprocess.run(
        [sys.executable, "-m", "taskping_tui", "doctor", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "'no-such-agent' is not on PATH" in result.stdout
