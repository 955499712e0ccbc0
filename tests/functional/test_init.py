"""`taskping-tui init`: the form fills provider presets, tests the servers live, and writes the config."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest
from textual.widgets import Input, Select, Static

from taskping_tui.init_app import InitApp
from taskping_tui.widgets.init_screen import InitScreen
from tests.support.dovecot_fixtures import DovecotServer
from tests.support.smtp_fixtures import PasswordAuthenticator, SmtpServerFactory


async def fill(app: InitApp, pilot, widget_id: str, text: str) -> None:  # type: ignore[no-untyped-def]
    field = app.screen.query_one(f"#{widget_id}", Input)
    field.focus()
    field.value = ""
    await pilot.press(*["space" if char == " " else char for char in text])


def results_text(app: InitApp) -> str:
    return str(app.screen.query_one("#init-results", Static).render())


async def test_gmail_address_fills_the_presets_and_saves_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "taskping-tui" / "config.toml"
    app = InitApp(path)
    async with app.run_test(size=(110, 50)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, InitScreen)
        await fill(app, pilot, "address", "bot.taskping@gmail.com")
        await pilot.pause()
        assert app.screen.query_one("#provider", Select).value == "gmail"
        assert app.screen.query_one("#smtp_host", Input).value == "smtp.gmail.com"
        assert "app password" in str(app.screen.query_one("#provider-note", Static).render())
        await fill(app, pilot, "recipients", "me@example.com")
        await pilot.press("ctrl+s")
        await pilot.pause()
    result = app.return_value
    assert result is not None and result.path == path
    data = tomllib.loads(path.read_text())
    assert data["mail"]["enabled"] is True
    assert data["mail"]["address"] == "bot.taskping@gmail.com"
    assert data["mail"]["password_env"] == "TASKPING_MAIL_PASSWORD"
    assert data["mail"]["smtp"] == {"host": "smtp.gmail.com", "port": 465, "security": "tls"}
    assert data["security"]["allowed_senders"] == ["me@example.com"]
    assert data["security"]["require_auth"] == "mx.google.com"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "password =" not in path.read_text()


async def test_missing_recipients_are_refused_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    app = InitApp(path)
    async with app.run_test(size=(110, 50)) as pilot:
        await pilot.pause()
        await fill(app, pilot, "address", "bot@qq.com")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "mail.recipients" in results_text(app)
        assert isinstance(app.screen, InitScreen)
    assert not path.exists()


async def test_existing_file_is_updated_only_after_asking_and_keeps_comments(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('# my notes\n[agent]\ncommand = "claude"  # keep me\n')
    app = InitApp(path)
    async with app.run_test(size=(110, 50)) as pilot:
        await pilot.pause()
        await fill(app, pilot, "address", "bot@163.com")
        await fill(app, pilot, "recipients", "me@example.com")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "ConfirmDialog"
        await pilot.press("y")
        await pilot.pause()
    text = path.read_text()
    assert text.startswith("# my notes") and "# keep me" in text
    assert tomllib.loads(text)["mail"]["imap"]["host"] == "imap.163.com"


@pytest.mark.slow
async def test_connections_are_tested_live_before_saving(
    tmp_path: Path, dovecot: DovecotServer, smtp_server_factory: SmtpServerFactory
) -> None:
    user = dovecot.new_user()
    smtp = smtp_server_factory(auth=True, start=False)
    smtp.authenticator = PasswordAuthenticator({user.login: user.password})
    smtp.start()
    app = InitApp(tmp_path / "config.toml")
    async with app.run_test(size=(110, 50)) as pilot:
        await pilot.pause()
        screen = app.screen
        screen.query_one("#provider", Select).value = "custom"
        await fill(app, pilot, "address", user.login)
        for widget_id, value in (
            ("smtp_host", "127.0.0.1"),
            ("smtp_port", str(smtp.port)),
            ("imap_host", "127.0.0.1"),
            ("imap_port", str(dovecot.imap_port)),
            ("recipients", "me@example.com"),
        ):
            screen.query_one(f"#{widget_id}", Input).value = value
        screen.query_one("#provider", Select).value = "custom"
        screen.query_one("#smtp_security", Select).value = "none"
        screen.query_one("#imap_security", Select).value = "none"
        screen.query_one("#password", Input).value = user.password
        await pilot.press("ctrl+t")
        for _ in range(100):
            await pilot.pause(0.1)
            if "IMAP IDLE" in results_text(app):
                break
        text = results_text(app)
        assert "ok SMTP" in " ".join(text.split()), text
        assert "ok IMAP login" in " ".join(text.split()), text
        assert user.password not in text
    assert not (tmp_path / "config.toml").exists()


async def test_typing_own_servers_switches_to_other_and_drops_gmails_require_auth(tmp_path: Path) -> None:
    """The picker still said Gmail while the user typed a local server: every reply used to be rejected."""
    path = tmp_path / "config.toml"
    app = InitApp(path)
    async with app.run_test(size=(110, 50)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.query_one("#require_auth", Input).value == "mx.google.com"
        await fill(app, pilot, "address", "bot@example.org")
        await pilot.pause()
        assert screen.query_one("#provider", Select).value == "custom"
        assert screen.query_one("#require_auth", Input).value == ""
        await fill(app, pilot, "imap_host", "mail.example.org")
        await fill(app, pilot, "recipients", "me@example.com")
        await pilot.press("ctrl+s")
        await pilot.pause()
    data = tomllib.loads(path.read_text())
    assert data["mail"]["imap"]["host"] == "mail.example.org"
    assert data["security"]["require_auth"] == ""


async def test_changing_a_preset_server_switches_to_other(tmp_path: Path) -> None:
    app = InitApp(tmp_path / "config.toml")
    async with app.run_test(size=(110, 50)) as pilot:
        await pilot.pause()
        await fill(app, pilot, "address", "bot@gmail.com")
        await pilot.pause()
        assert app.screen.query_one("#provider", Select).value == "gmail"
        await fill(app, pilot, "imap_port", "1993")
        await pilot.pause()
        assert app.screen.query_one("#provider", Select).value == "custom"
        assert app.screen.query_one("#require_auth", Input).value == ""


async def test_require_auth_is_shown_editable_and_judged_against_the_imap_host(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    app = InitApp(path)
    async with app.run_test(size=(110, 60)) as pilot:
        await pilot.pause()
        screen = app.screen
        await fill(app, pilot, "address", "bot@gmail.com")
        await fill(app, pilot, "require_auth", "mx.example.org")
        await pilot.pause()
        note = screen.query_one("#require-auth-note", Static)
        assert "every reply is rejected" in str(note.render()) and note.has_class("-warning")
        await fill(app, pilot, "require_auth", "mx.google.com")
        await pilot.pause()
        assert "fits Gmail" in str(note.render()) and not note.has_class("-warning")
        await fill(app, pilot, "recipients", "me@example.com")
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert tomllib.loads(path.read_text())["security"]["require_auth"] == "mx.google.com"
