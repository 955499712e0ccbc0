"""Each sidebar panel alone, with an entry in every state it can show."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual.pilot import Pilot

from taskping_tui.widgets.commands_panel import CommandEntry, CommandsPanel
from taskping_tui.widgets.inbound_panel import InboundEntry, InboundPanel
from taskping_tui.widgets.notifications_panel import NotificationEntry, NotificationsPanel
from taskping_tui.widgets.panel import Panel
from tests.snapshots.panel_app import PanelApp
from taskping_tui.core.sessions import SessionStatus
from taskping_tui.widgets.sessions_panel import SessionsPanel
from tests.snapshots.scenes import COMMANDS, CONFIG_HINT_PATH, INBOUND, NOTIFICATIONS, SESSIONS

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
    app = PanelApp(NotificationsPanel(True, str(CONFIG_HINT_PATH)), fill_with(NOTIFICATIONS))
    assert snap_compare(app, terminal_size=(WIDTH, 26))


def test_inbound_panel_every_verdict(snap_compare) -> None:
    """accepted, blocked (why), rejected (why) and ignored (why), newest first."""
    assert {entry.verdict for entry in INBOUND} == {"accepted", "blocked", "rejected", "ignored"}
    app = PanelApp(InboundPanel(True, str(CONFIG_HINT_PATH)), fill_with(INBOUND))
    assert snap_compare(app, terminal_size=(WIDTH, 22))


def test_commands_panel_every_state(snap_compare) -> None:
    """All nine command states in queue order; the approved one says what it waits for."""
    assert [entry.state for entry in COMMANDS] == [
        "queued", "blocked", "approved", "injecting", "injected", "rejected", "expired", "failed", "unknown"]
    app = PanelApp(CommandsPanel(True), fill_with(COMMANDS))
    assert snap_compare(app, terminal_size=(WIDTH, 56))


def test_commands_panel_focused_on_blocked_command(snap_compare) -> None:
    """With focus, the highlighted entry stands out from the rest."""

    async def highlight_blocked(pilot: Pilot) -> None:
        panel = pilot.app.query_one(CommandsPanel)
        panel.focus()
        await pilot.pause()
        await pilot.press("down")
        assert panel.highlighted_key == "c2"

    app = PanelApp(CommandsPanel(True), fill_with(COMMANDS[:4]))
    assert snap_compare(app, terminal_size=(WIDTH, 22), run_before=highlight_blocked)


def test_empty_panels_with_mail_off(snap_compare) -> None:
    """Mail off: the commands panel says nothing can arrive."""
    app = PanelApp(CommandsPanel(False), fill_with([]))
    assert snap_compare(app, terminal_size=(WIDTH, 10))


async def test_focusing_a_panel_highlights_its_first_entry() -> None:
    """F6 lands on a panel: its keys (approve, reject…) must work at once, without an arrow key first."""
    app = PanelApp(CommandsPanel(True), fill_with(COMMANDS[:3]))
    async with app.run_test(size=(WIDTH, 30)) as pilot:
        panel = app.query_one(CommandsPanel)
        panel.focus()
        await pilot.pause()
        assert panel.highlighted_key == "c1"
        assert app.active_bindings["a"].enabled


async def test_new_entry_keeps_the_highlight_on_the_same_entry() -> None:
    """A reply arriving while you are on an older one must not move or drop your selection."""
    app = PanelApp(InboundPanel(True, str(CONFIG_HINT_PATH)), fill_with(INBOUND[:3]))
    async with app.run_test(size=(WIDTH, 30)) as pilot:
        panel = app.query_one(InboundPanel)
        panel.focus()
        await pilot.pause()
        await pilot.press("down")
        assert panel.highlighted_key == "m2"
        panel.show(INBOUND[3])
        await pilot.pause()
        assert panel.highlighted_key == "m2"
        assert panel.count == 4


def test_sessions_panel_every_state(snap_compare) -> None:
    """Every session state with its number, time in that state and the queued / blocked badges."""
    assert {entry.status for entry in SESSIONS} == {status.value for status in SessionStatus}

    def fill(panel: Panel) -> None:
        panel.styles.max_height = 100  # in the sidebar it scrolls after five sessions; here all are shown
        panel.query_one(".panel-list").styles.max_height = 100
        assert isinstance(panel, SessionsPanel)
        panel.show_sessions(SESSIONS)

    assert snap_compare(PanelApp(SessionsPanel(), fill), terminal_size=(WIDTH, 30))
