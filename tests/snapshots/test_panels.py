"""Each sidebar panel alone, with an entry in every state it can show."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual.pilot import Pilot

from taskping_tui.core.sessions import SessionStatus
from taskping_tui.inbound.commands import CommandState
from taskping_tui.widgets.commands_panel import CommandEntry, CommandsPanel
from taskping_tui.widgets.inbound_panel import InboundEntry, InboundPanel
from taskping_tui.widgets.notifications_panel import KIND_LABELS, NotificationEntry, NotificationsPanel
from taskping_tui.widgets.panel import Panel
from taskping_tui.widgets.sessions_panel import SessionsPanel
from tests.snapshots.scenes import COMMANDS, CONFIG_HINT_PATH, INBOUND, NOTIFICATIONS, SESSIONS
from tests.support.panel_app import PanelApp

WIDTH = 44


Entry = NotificationEntry | InboundEntry | CommandEntry


def fill_with(entries: Sequence[Entry]) -> Callable[[Panel], None]:
    def fill(panel: Panel) -> None:
        for entry in entries:
            panel.show(entry)  # type: ignore[attr-defined]  # each panel's own show(entry)

    return fill


def test_notifications_panel_every_mail_state(snap_compare) -> None:
    """Every kind of notification, and its mail queued / sending / sent / retrying (when) / failed (why)."""
    states = {entry.mail_state for entry in NOTIFICATIONS}
    assert states == {"queued", "sending", "sent", "retrying", "failed"}
    assert {entry.kind for entry in NOTIFICATIONS} == set(KIND_LABELS)
    app = PanelApp(NotificationsPanel(True, str(CONFIG_HINT_PATH)), fill_with(NOTIFICATIONS))
    assert snap_compare(app, terminal_size=(WIDTH, 30))


def test_inbound_panel_every_verdict(snap_compare) -> None:
    """accepted, blocked (why), rejected (why) and ignored (why), newest first."""
    assert {entry.verdict for entry in INBOUND} == {"accepted", "blocked", "rejected", "ignored"}
    app = PanelApp(InboundPanel(True, str(CONFIG_HINT_PATH)), fill_with(INBOUND))
    assert snap_compare(app, terminal_size=(WIDTH, 22))


def test_commands_panel_every_state(snap_compare) -> None:
    """All nine command states: what needs you first (queued, blocked, failed, unknown in queue order), then
    what waits for the agent, then the history newest first; the approved one says what it waits for."""
    assert [entry.state for entry in COMMANDS] == [
        "queued",
        "blocked",
        "approved",
        "injecting",
        "injected",
        "rejected",
        "expired",
        "failed",
        "unknown",
    ]
    app = PanelApp(CommandsPanel(True), fill_with(COMMANDS))
    assert snap_compare(app, terminal_size=(WIDTH, 56))


def test_commands_panel_focused_on_blocked_command(snap_compare) -> None:
    """With focus, the highlighted entry stands out from the rest."""

    async def highlight_blocked(pilot: Pilot) -> None:
        panel = pilot.app.query_one(CommandsPanel)
        panel.focus()
        await pilot.pause()
        assert panel.highlighted_entry.command_id == 2  # the newest command that needs you

    app = PanelApp(CommandsPanel(True), fill_with(COMMANDS[:4]))
    assert snap_compare(app, terminal_size=(WIDTH, 22), run_before=highlight_blocked)


def test_empty_panels_with_mail_off(snap_compare) -> None:
    """Mail off: the commands panel says nothing can arrive."""
    app = PanelApp(CommandsPanel(False), fill_with([]))
    assert snap_compare(app, terminal_size=(WIDTH, 10))


async def test_focusing_a_panel_highlights_its_first_entry() -> None:
    """F6 lands on a panel: its keys must work at once, without an arrow key first."""
    app = PanelApp(InboundPanel(True, str(CONFIG_HINT_PATH)), fill_with(INBOUND[:3]))
    async with app.run_test(size=(WIDTH, 30)) as pilot:
        panel = app.query_one(InboundPanel)
        panel.focus()
        await pilot.pause()
        assert panel.highlighted_entry.mail_id == 3  # newest first
        assert app.active_bindings["enter"].enabled


async def test_focusing_the_commands_panel_lands_on_the_newest_command_that_needs_you() -> None:
    """F6 then a: approves the command the toast just announced, without an arrow key first."""
    app = PanelApp(CommandsPanel(True), fill_with(COMMANDS[:3]))
    async with app.run_test(size=(WIDTH, 30)) as pilot:
        panel = app.query_one(CommandsPanel)
        panel.focus()
        await pilot.pause()
        assert panel.highlighted_entry.command_id == 2
        assert app.active_bindings["a"].enabled


def history(count: int) -> list[CommandEntry]:
    return [
        CommandEntry(
            i + 1,
            CommandState.INJECTED,
            "me@example.com",
            "2h",
            "dmarc=pass (mx.example.com)",
            f"old command number {i}",
            position=i,
            updated_at=1000.0 + i,
        )
        for i in range(count)
    ]


async def test_a_new_blocked_command_comes_first_and_in_view_below_a_long_history() -> None:
    """It used to be added at the bottom of a list that did not scroll: below the fold at 170x45."""
    app = PanelApp(CommandsPanel(True), fill_with(history(12)))
    async with app.run_test(size=(WIDTH, 16)) as pilot:
        panel = app.query_one(CommandsPanel)
        panel.option_list.scroll_end(animate=False)
        await pilot.pause()
        panel.show(
            CommandEntry(
                99,
                CommandState.BLOCKED,
                "me@example.com",
                "9s",
                "dmarc=pass (mx.example.com)",
                "git push --force origin main",
                danger="git push --force",
                position=99,
                updated_at=5000.0,
            )
        )
        await pilot.pause()
        await pilot.pause()
        entries = panel.option_list
        assert entries.get_option_at_index(0).id == "99"
        assert panel.highlighted_key == "99"
        assert entries.scroll_y == 0


async def test_a_new_command_does_not_move_the_highlight_while_you_work_in_the_list() -> None:
    app = PanelApp(CommandsPanel(True), fill_with(COMMANDS[:3]))
    async with app.run_test(size=(WIDTH, 30)) as pilot:
        panel = app.query_one(CommandsPanel)
        panel.focus()
        await pilot.pause()
        await pilot.press("down")
        before = panel.highlighted_key
        panel.show(
            CommandEntry(50, CommandState.QUEUED, "me@example.com", "1s", "", "new one", position=50, updated_at=1)
        )
        await pilot.pause()
        assert panel.highlighted_key == before


def test_commands_panel_new_blocked_command_above_history(snap_compare) -> None:
    """A blocked command arriving after a dozen finished ones: first, highlighted, the history below it."""

    def fill(panel: Panel) -> None:
        fill_with(history(12))(panel)
        panel.show(
            CommandEntry(
                99,
                CommandState.BLOCKED,
                "me@example.com",
                "9s",
                "dmarc=pass (mx.example.com)",
                "git push --force origin main",
                danger="git push --force",
                position=99,
                updated_at=5000.0,
            )
        )  # type: ignore[attr-defined]

    app = PanelApp(CommandsPanel(True), fill)
    assert snap_compare(app, terminal_size=(WIDTH, 16))


async def test_new_entry_keeps_the_highlight_on_the_same_entry() -> None:
    """A reply arriving while you are on an older one must not move or drop your selection."""
    app = PanelApp(InboundPanel(True, str(CONFIG_HINT_PATH)), fill_with(INBOUND[:3]))
    async with app.run_test(size=(WIDTH, 30)) as pilot:
        panel = app.query_one(InboundPanel)
        panel.focus()
        await pilot.pause()
        await pilot.press("down")
        assert panel.highlighted_entry.mail_id == 2
        panel.show(INBOUND[3])
        await pilot.pause()
        assert panel.highlighted_entry.mail_id == 2
        assert panel.count == 4


def test_inbound_panel_login_refused(snap_compare) -> None:
    """A refused IMAP login: the reason and the fix in the panel's body, above the mail already received."""

    def fill(panel: Panel) -> None:
        assert isinstance(panel, InboundPanel)
        fill_with(INBOUND[:1])(panel)
        panel.show_problem(
            "IMAP login refused",
            "login refused for bot@gmail.com: NO [AUTHENTICATIONFAILED] Invalid credentials",
            "check the login 'bot@gmail.com' and the password from the environment variable "
            "TASKPING_MAIL_PASSWORD (Gmail wants an app password, not the account password); "
            "`taskping-tui doctor` tests it; then restart taskping-tui.",
        )

    app = PanelApp(InboundPanel(True, str(CONFIG_HINT_PATH)), fill)
    assert snap_compare(app, terminal_size=(WIDTH, 22))


async def test_mail_off_hint_keeps_the_config_path_whole(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A long home directory: the path is shown with ~ on a line of its own, never cut mid-word."""
    from pathlib import Path

    from taskping_tui.paths import display_path

    monkeypatch.setenv("HOME", "/home/alexandra-verylongname")
    hint = display_path(Path("/home/alexandra-verylongname/.config/taskping-tui/config.toml"))
    assert hint == "~/.config/taskping-tui/config.toml"
    for panel in (NotificationsPanel(False, hint), InboundPanel(False, hint)):
        app = PanelApp(panel, fill_with([]))
        async with app.run_test(size=(WIDTH, 20)) as pilot:
            await pilot.pause()
            lines = [
                line.text.rstrip()
                for line in panel.query_one(".panel-empty").render_lines(
                    panel.query_one(".panel-empty").region.reset_offset
                )
            ]  # type: ignore[attr-defined]
            assert hint in [line.strip() for line in lines], lines


def test_sessions_panel_every_state(snap_compare) -> None:
    """Every session state with its number, time in that state and the queued / blocked badges."""
    assert {entry.status for entry in SESSIONS} == {status.value for status in SessionStatus}

    def fill(panel: Panel) -> None:
        panel.styles.max_height = 100  # in the sidebar it scrolls after five sessions; here all are shown
        panel.query_one(".panel-list").styles.max_height = 100
        assert isinstance(panel, SessionsPanel)
        panel.show_sessions(SESSIONS)

    assert snap_compare(PanelApp(SessionsPanel(), fill), terminal_size=(WIDTH, 30))
