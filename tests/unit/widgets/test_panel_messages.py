"""Each sidebar panel alone: the keys a user presses post one typed message per intent, with the ids the
app acts on, and only when the state machine allows that action."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from textual.message import Message

from taskping_tui.inbound.commands import CommandState
from taskping_tui.widgets.commands_panel import CommandEntry, CommandsPanel
from taskping_tui.widgets.inbound_panel import InboundEntry, InboundPanel
from taskping_tui.widgets.notifications_panel import NotificationEntry, NotificationsPanel
from taskping_tui.widgets.panel import Panel
from tests.support.panel_app import PanelApp

SIZE = (44, 40)
WHEN = datetime(2026, 1, 5, 9, 12)


def command(command_id: int, state: CommandState) -> CommandEntry:
    return CommandEntry(command_id, state, "me@example.com", "5m", "dmarc=pass", f"command {command_id}")


def fill(entries: Sequence[object]):  # type: ignore[no-untyped-def]
    def show(panel: Panel) -> None:
        for entry in entries:
            panel.show(entry)  # type: ignore[attr-defined]

    return show


async def press_on(panel: Panel, entries: Sequence[object], keys: Sequence[str], *, down: int = 0) -> list[Message]:
    messages: list[Message] = []
    app = PanelApp(panel, fill(entries))
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        panel.focus()
        await pilot.pause()
        for _ in range(down):
            await pilot.press("down")
        for key in keys:
            await pilot.press(key)
        await pilot.pause()
    # Only the panel's own messages (CommandsPanel.ApproveRequested…), each naming the panel as its control.
    # The hook sees a message at every node it bubbles through: keep each once.
    unique = list({id(m): m for m in messages}.values())
    own = [m for m in unique if type(m).__qualname__.startswith(f"{type(panel).__name__}.")]
    assert all(m.control is panel for m in own)
    return own


async def test_each_commands_key_posts_its_own_message_with_the_command_id() -> None:
    """Blocked 12 is listed first (what needs you) and focus lands on it: each key names command 12."""
    panel = CommandsPanel(True)
    posted = await press_on(
        panel,
        [command(7, CommandState.QUEUED), command(12, CommandState.BLOCKED)],
        ["a", "x", "e", "v", "shift+up", "shift+down"],
    )
    assert [(type(m), m.command_id) for m in posted] == [  # type: ignore[attr-defined]
        (CommandsPanel.ApproveRequested, 12),
        (CommandsPanel.RejectRequested, 12),
        (CommandsPanel.EditRequested, 12),
        (CommandsPanel.ViewRequested, 12),
        (CommandsPanel.MoveRequested, 12),
        (CommandsPanel.MoveRequested, 12),
    ]
    assert [m.offset for m in posted if isinstance(m, CommandsPanel.MoveRequested)] == [-1, 1]


async def test_commands_keys_follow_the_state_machine() -> None:
    """An injected command can only be viewed; a failed one can be approved again but not moved."""
    injected = await press_on(
        CommandsPanel(True), [command(3, CommandState.INJECTED)], ["a", "x", "e", "shift+up", "v"]
    )
    assert [type(m) for m in injected] == [CommandsPanel.ViewRequested]
    failed = await press_on(CommandsPanel(True), [command(4, CommandState.FAILED)], ["shift+down", "a", "x"])
    assert [type(m) for m in failed] == [CommandsPanel.ApproveRequested, CommandsPanel.RejectRequested]


async def test_enter_on_a_mail_asks_to_open_it_by_mail_id() -> None:
    entries = [
        InboundEntry(41, WHEN, "me@example.com", "Re: done", "accepted"),
        InboundEntry(42, WHEN, "x@spam.example", "Re: done", "rejected", "not an allowed sender"),
    ]
    posted = await press_on(InboundPanel(True, "config.toml"), entries, ["enter"])
    assert [(type(m), m.mail_id) for m in posted] == [(InboundPanel.OpenRequested, 42)]  # type: ignore[attr-defined]


async def test_resend_and_revoke_carry_the_outbox_row_and_need_a_mail() -> None:
    entries = [NotificationEntry("n1", WHEN, "turn_finished", "Turn finished", "failed", "421", outbox_id=5)]
    posted = await press_on(NotificationsPanel(True, "config.toml"), entries, ["r", "t"])
    assert [(type(m), m.outbox_id) for m in posted] == [  # type: ignore[attr-defined]
        (NotificationsPanel.ResendRequested, 5),
        (NotificationsPanel.RevokeTokenRequested, 5),
    ]
    unmailed = [NotificationEntry("n1", WHEN, "turn_finished", "Turn finished")]
    assert await press_on(NotificationsPanel(True, "config.toml"), unmailed, ["r", "t"]) == []
