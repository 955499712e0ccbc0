"""The dialogs over the live main screen, reached with the keys a user presses (mail on, seeded store)."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import TextArea

from taskping_tui.widgets.commands_panel import CommandsPanel
from taskping_tui.widgets.confirm_dialog import ConfirmDialog
from taskping_tui.widgets.details_dialog import DetailsDialog
from taskping_tui.widgets.edit_dialog import EditDialog
from taskping_tui.widgets.inbound_panel import InboundPanel
from tests.snapshots.scenes import SIZE, at, config, make_app, seed_store, settle_app, steady_cursors


def highlighted_id(panel: CommandsPanel | InboundPanel) -> int | None:
    entry = panel.highlighted_entry
    if entry is None:
        return None
    return entry.command_id if isinstance(panel, CommandsPanel) else entry.mail_id  # type: ignore[union-attr]


async def highlight(pilot: Pilot, panel_type: type[CommandsPanel | InboundPanel], entry_id: int) -> None:
    """Focus a sidebar panel and move down to the command or mail `entry_id` with the arrow keys."""
    panel = pilot.app.query_one(panel_type)
    panel.focus()
    await pilot.pause()
    for _ in range(panel.count):
        if highlighted_id(panel) == entry_id:
            return
        await pilot.press("down")
    assert highlighted_id(panel) == entry_id


def run_dialog(
    snap_compare,
    tmp_path: Path,
    panel_type: type[CommandsPanel | InboundPanel],
    entry_id: int,
    press: str,
    dialog: type,
) -> bool:
    seed_store(tmp_path / "state.sqlite3")

    async def open_dialog(pilot: Pilot) -> None:
        await settle_app(pilot)
        await highlight(pilot, panel_type, entry_id)
        await pilot.press(press)
        await pilot.pause()
        assert isinstance(pilot.app.screen, dialog)
        # Moving focus off the pane can flush output activity that makes the tracker busy for a moment.
        await settle_app(pilot)
        steady_cursors(pilot)
        await pilot.pause()

    return snap_compare(make_app(config(mail=True), tmp_path), terminal_size=SIZE, run_before=open_dialog)


def test_confirm_dialog_for_dangerous_command(snap_compare, tmp_path: Path) -> None:
    """`a` on a blocked command asks first, naming the danger pattern and the exact text to be typed."""
    assert run_dialog(snap_compare, tmp_path, CommandsPanel, 2, "a", ConfirmDialog)


def test_edit_dialog(snap_compare, tmp_path: Path) -> None:
    """`e` on a queued command opens its text for editing before it is approved."""
    assert run_dialog(snap_compare, tmp_path, CommandsPanel, 3, "e", EditDialog)


def test_details_dialog_of_inbound_mail(snap_compare, tmp_path: Path) -> None:
    """Enter on a blocked reply shows the verdict with its reasons, token, command, headers and text."""
    assert run_dialog(snap_compare, tmp_path, InboundPanel, 2, "enter", DetailsDialog)


def test_confirm_dialog_after_editing_into_a_dangerous_command(snap_compare, tmp_path: Path) -> None:
    """`e` on a queued command, edited into `sudo rm -rf`: checked again, the dialog names the new match
    and shows what the mail said."""
    seed_store(tmp_path / "state.sqlite3")

    async def edit_into_danger(pilot: Pilot) -> None:
        await settle_app(pilot)
        await highlight(pilot, CommandsPanel, 3)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(pilot.app.screen, EditDialog)
        pilot.app.screen.query_one(TextArea).text = "sudo rm -rf /srv/app"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(pilot.app.screen, ConfirmDialog)
        await settle_app(pilot)
        await pilot.pause()

    assert snap_compare(make_app(config(mail=True), tmp_path), terminal_size=SIZE, run_before=edit_into_danger)


def test_details_dialog_of_an_edited_command(snap_compare, tmp_path: Path) -> None:
    """`v` on a command edited at the keyboard: the text from the mail and each edit with its verdict."""
    seed_store(tmp_path / "state.sqlite3")

    async def edit_then_view(pilot: Pilot) -> None:
        await settle_app(pilot)
        app = pilot.app
        assert app.store is not None  # type: ignore[attr-defined]
        app.store.edit_command(2, "rm -rf build/", "rm -rf", now=at(9, 41).timestamp())  # type: ignore[attr-defined]
        app.main.show_commands(app.store.list_commands())  # type: ignore[attr-defined]
        await pilot.pause()
        await highlight(pilot, CommandsPanel, 2)
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, DetailsDialog)
        await settle_app(pilot)
        await pilot.pause()

    assert snap_compare(make_app(config(mail=True), tmp_path), terminal_size=SIZE, run_before=edit_then_view)


def test_quit_dialog_with_the_agent_running_and_commands_waiting(snap_compare, tmp_path: Path) -> None:
    """q in the sidebar asks first: the agent would be ended; waiting commands are kept for the next start."""
    seed_store(tmp_path / "state.sqlite3")

    async def ask_to_quit(pilot: Pilot) -> None:
        await settle_app(pilot)
        await pilot.press("f6", "q")
        await pilot.pause()
        assert isinstance(pilot.app.screen, ConfirmDialog)
        await settle_app(pilot)
        await pilot.pause()

    assert snap_compare(make_app(config(mail=True), tmp_path), terminal_size=SIZE, run_before=ask_to_quit)
