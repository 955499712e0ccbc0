"""Stumbles a newcomer hit in the first hour, each against the real app (issue 15)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from taskping_tui.app import TaskPingApp
from taskping_tui.config import parse_config
from taskping_tui.mail.watcher import WatcherTimings
from taskping_tui.widgets.inbound_panel import InboundPanel
from tests.support.app_harness import AppDriver
from tests.support.dovecot_fixtures import DovecotServer
from tests.support.smtp_fixtures import SmtpServerFactory

FAKE_AGENT = [sys.executable, str(Path(__file__).resolve().parents[1] / "data" / "fake_agent.py")]
PASSWORD_ENV = "TASKPING_NEWCOMER_PASSWORD"


def mail_config(imap_port: int, smtp_port: int, login: str) -> str:
    return f"""
[notify]
desktop = false

[mail]
enabled = true
address = "{login}"
password_env = "{PASSWORD_ENV}"
recipients = ["me@example.com"]
smtp = {{ host = "127.0.0.1", port = {smtp_port}, security = "none", timeout_seconds = 5.0 }}
imap = {{ host = "127.0.0.1", port = {imap_port}, security = "none" }}

[security]
allowed_senders = ["me@example.com"]
"""


@pytest.mark.slow
async def test_wrong_imap_password_is_shown_in_the_inbound_panel_and_a_notice(
    tmp_path: Path, dovecot: DovecotServer, smtp_server_factory: SmtpServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The title used to be cut to "reconnecting in 7.0 s …" and the reason never showed."""
    user = dovecot.new_user()
    smtp = smtp_server_factory()
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    config = parse_config(mail_config(dovecot.imap_port, smtp.port, user.login))
    app = TaskPingApp(
        config,
        FAKE_AGENT,
        store_path=tmp_path / "store.sqlite3",
        runtime_dir=tmp_path / "run",
        watcher_timings=WatcherTimings(backoff_initial_seconds=0.2, backoff_max_seconds=0.5),
    )
    async with app.run_test(size=(170, 45)) as pilot:
        driver = AppDriver(app, pilot)
        panel = app.query_one(InboundPanel)
        await driver.until(lambda: "login refused" in panel.problem_text, "the problem in the panel", timeout=15)
        await pilot.pause()
        text = panel.problem_text
        assert "Fix:" in text and PASSWORD_ENV in text and "doctor" in text
        assert "not-the-password" not in text
        assert panel.region.height > 0 and panel.query_one(".panel-problem").region.height >= 2
        notices = [n for n in app._notifications if "IMAP login refused" in str(n.title)]
        assert len(notices) == 1, "one notice, not one per retry"
        await pilot.pause(1.5)  # a few more refused retries
        assert len([n for n in app._notifications if "IMAP login refused" in str(n.title)]) == 1
        assert "login refused" in panel.problem_text


def seed_command(store_path: Path, text: str, verdict: str, danger: str | None) -> int:
    from taskping_tui.inbound.commands import CommandState
    from taskping_tui.store import NewInboundMail, Store

    with Store.open(store_path) as store:
        recorded = store.record_inbound_mail(
            NewInboundMail(
                verdict=verdict,
                received_at=time.time(),
                sender="me@example.com",  # type: ignore[arg-type]
                command=text,
                danger_pattern=danger,
                message_id=f"<{text[:4]}@example.com>",
            ),
            command_state=CommandState.BLOCKED if verdict == "blocked" else CommandState.QUEUED,
        )
        assert recorded.command_id is not None
        return recorded.command_id


async def edit_command_at_the_keyboard(app: TaskPingApp, pilot, command_id: int, new_text: str) -> None:  # type: ignore[no-untyped-def]
    from textual.widgets import TextArea

    from taskping_tui.widgets.commands_panel import CommandsPanel
    from taskping_tui.widgets.edit_dialog import EditDialog

    panel = app.query_one(CommandsPanel)
    panel.focus()
    await pilot.pause()
    panel.option_list.highlighted = panel.option_list.get_option_index(str(command_id))
    await pilot.press("e")
    await pilot.pause()
    assert isinstance(app.screen, EditDialog)
    app.screen.query_one(TextArea).text = new_text
    await pilot.press("ctrl+s")
    await pilot.pause()


async def test_a_blocked_command_edited_into_a_harmless_one_is_checked_again(tmp_path: Path) -> None:
    """It used to keep "matches git push --force" and lose the original text."""
    from taskping_tui.widgets.confirm_dialog import ConfirmDialog
    from tests.snapshots.scenes import config, make_app

    command_id = seed_command(tmp_path / "state.sqlite3", "git push --force origin main", "blocked", "git push --force")
    app = make_app(config(mail=True), tmp_path)
    async with app.run_test(size=(170, 45)) as pilot:
        await pilot.pause()
        await edit_command_at_the_keyboard(app, pilot, command_id, "git status")
        assert not isinstance(app.screen, ConfirmDialog), "a harmless edit needs no danger confirmation"
        assert app.store is not None
        command = app.store.get_command(command_id)
        assert command is not None and command.text == "git status" and command.danger_pattern is None
        assert command.state in ("approved", "injecting", "injected")
        (edit,) = app.store.command_edits(command_id)
        assert edit.old_text == "git push --force origin main" and edit.old_danger == "git push --force"
        row = app.query_one("CommandsPanel").entry(command_id)  # type: ignore[attr-defined]
        assert row.danger == "" and row.command == "git status"


async def test_a_safe_command_edited_into_a_dangerous_one_asks_first(tmp_path: Path) -> None:
    from taskping_tui.widgets.confirm_dialog import ConfirmDialog
    from tests.snapshots.scenes import config, make_app

    command_id = seed_command(tmp_path / "state.sqlite3", "run the tests", "accepted", None)
    app = make_app(config(mail=True), tmp_path)
    async with app.run_test(size=(170, 45)) as pilot:
        await pilot.pause()
        await edit_command_at_the_keyboard(app, pilot, command_id, "sudo rm -rf /srv/app")
        assert isinstance(app.screen, ConfirmDialog)
        assert app.store is not None
        assert app.store.get_command(command_id).state == "queued"  # type: ignore[union-attr]
        await pilot.press("escape")
        await pilot.pause()
        command = app.store.get_command(command_id)
        assert command is not None and command.state == "queued" and command.text == "run the tests"
        assert app.store.command_edits(command_id) == []


async def test_quitting_asks_first_while_the_agent_runs_or_commands_wait(tmp_path: Path) -> None:
    from taskping_tui.widgets.confirm_dialog import ConfirmDialog
    from tests.snapshots.scenes import config, make_app

    seed_command(tmp_path / "state.sqlite3", "rm -rf build", "blocked", "rm -rf")
    app = make_app(config(mail=True), tmp_path)
    async with app.run_test(size=(170, 45)) as pilot:
        driver = AppDriver(app, pilot)
        await driver.until(lambda: "Ready" in driver.screen_text(), "the fake agent")
        await pilot.press("f6", "q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        body = str(app.screen.query_one("#dialog-body Static").render())
        assert "is running: it will be ended" in body  # the one session's agent
        assert "1 command from mail not typed yet, 1 waiting for your approval" in body
        await pilot.press("n")  # changed my mind
        await pilot.pause()
        assert app.is_running and app.pane.pid is not None
        await pilot.press("q", "y")
        await pilot.pause(0.5)
    assert app.return_value == 0


async def test_quitting_after_the_agent_exited_with_nothing_waiting_does_not_ask(tmp_path: Path) -> None:
    app = TaskPingApp(
        parse_config("[notify]\ndesktop = false\n"), [sys.executable, "-c", "pass"], runtime_dir=tmp_path / "run"
    )
    async with app.run_test(size=(120, 36)) as pilot:
        driver = AppDriver(app, pilot)
        await driver.until(lambda: app.agent_state == "exited", "the agent to exit")
        await pilot.press("f6", "q")
        await pilot.pause(0.5)
    assert app.return_value == 0


async def test_missing_command_is_not_labelled_starting(tmp_path: Path) -> None:
    app = TaskPingApp(parse_config("[notify]\ndesktop = false\n"), ["no-such-agent-here"], runtime_dir=tmp_path / "run")
    async with app.run_test(size=(120, 36)) as pilot:
        driver = AppDriver(app, pilot)
        await driver.until(lambda: "not found" in driver.screen_text().lower(), "the not-found message")
        await pilot.pause()
        assert app.pane.border_subtitle == "command not found"


async def test_the_pane_label_says_when_it_is_scrolled_back(tmp_path: Path) -> None:
    app = TaskPingApp(
        parse_config("[notify]\ndesktop = false\n"),
        ["bash", "--norc", "--noprofile", "-i"],
        runtime_dir=tmp_path / "run",
    )
    async with app.run_test(size=(120, 36)) as pilot:
        driver = AppDriver(app, pilot)
        await driver.until(lambda: app.pane.pid is not None, "bash")
        await pilot.pause(0.5)
        await pilot.press(*"seq 1 200", "enter")
        await driver.until(lambda: "200" in driver.screen_text(), "the output")
        await pilot.press("shift+pageup")
        await driver.until(lambda: "scrolled back" in str(app.pane.border_subtitle), "the scrolled-back label")
        assert "Shift+PgDn to return" in str(app.pane.border_subtitle)
        await pilot.press("shift+pagedown")
        await driver.until(lambda: "scrolled back" not in str(app.pane.border_subtitle), "back to live")


async def test_tab_cycles_the_panels_and_never_reaches_the_agent(tmp_path: Path) -> None:
    """Tab from Commands used to land in the pane, so the next Tab went to the agent."""
    from taskping_tui.widgets.commands_panel import CommandsPanel
    from taskping_tui.widgets.notifications_panel import NotificationsPanel
    from taskping_tui.widgets.panel import Panel
    from taskping_tui.widgets.sessions_panel import SessionsPanel

    app = TaskPingApp(parse_config("[notify]\ndesktop = false\n"), FAKE_AGENT, runtime_dir=tmp_path / "run")
    async with app.run_test(size=(170, 45)) as pilot:
        driver = AppDriver(app, pilot)
        await driver.until(lambda: "Ready" in driver.screen_text(), "the fake agent")
        await pilot.press("f6")
        assert app.query_one(SessionsPanel).has_focus_within  # the command layer (its Tab: the last session)
        app.query_one(NotificationsPanel).focus()
        await pilot.pause()
        seen = []
        for _ in range(4):
            focused_panel = next(p for p in app.query(Panel) if p.has_focus_within)
            seen.append(type(focused_panel).__name__)
            await pilot.press("tab")
            await pilot.pause()
        assert seen == ["NotificationsPanel", "InboundPanel", "CommandsPanel", "SessionsPanel"]
        assert not app.pane.has_focus
        app.query_one(CommandsPanel).focus()
        await pilot.press("shift+tab", "shift+tab")
        assert app.query_one(NotificationsPanel).has_focus_within and not app.pane.has_focus
        await pilot.press("f6", "x", "enter")
        await driver.until(lambda: "you said: x" in driver.screen_text(), "the echo")
        assert "\t" not in driver.screen_text()


async def test_toasts_cover_neither_the_agents_input_line_nor_the_commands_panel(tmp_path: Path) -> None:
    from textual.widgets._toast import Toast

    from taskping_tui.widgets.commands_panel import CommandsPanel

    app = TaskPingApp(parse_config("[notify]\ndesktop = false\n"), FAKE_AGENT, runtime_dir=tmp_path / "run")
    async with app.run_test(size=(170, 45), notifications=True) as pilot:
        driver = AppDriver(app, pilot)
        await driver.until(lambda: "Ready" in driver.screen_text(), "the fake agent")
        for index in range(3):
            app.notify(
                f"me@example.com: git push --force origin main #{index}",
                title="Command waits for your approval",
                severity="warning",
                timeout=8,
            )
        await pilot.pause()
        await pilot.pause()
        await pilot.pause(0.3)
        toasts = list(app.screen.query(Toast))
        assert len(toasts) == 3
        commands = app.query_one(CommandsPanel).region
        pane = app.pane.content_region
        input_rows = pane.height // 3  # the bottom third of the pane: where the agent's prompt sits
        for toast in toasts:
            region = toast.region
            assert region.height > 0
            assert not region.overlaps(commands), (region, commands)
            assert region.bottom <= pane.bottom - input_rows, (region, pane)
