"""`taskping-tui init`: the set-up form as it opens, and after Save with a required answer missing."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from taskping_tui.init_app import InitApp
from tests.snapshots.scenes import SIZE, steady_cursors

# Shown in the form's title; relative, so nothing could ever be written outside the test's tmp dir.
CONFIG_PATH = Path("~/.config/taskping-tui/config.toml")


async def opened(pilot: Pilot) -> None:
    await pilot.pause()
    steady_cursors(pilot)
    await pilot.pause()


def test_init_screen_opens_with_gmail_defaults(snap_compare) -> None:
    """Gmail preselected with its hosts, ports and app-password note; the cursor in the address field."""
    assert snap_compare(InitApp(CONFIG_PATH), terminal_size=SIZE, run_before=opened)


def test_init_screen_save_without_recipients(snap_compare, tmp_path: Path) -> None:
    """Ctrl+S without recipients: nothing is written and the form says which key is missing and how to fix it."""

    async def fill_and_save(pilot: Pilot) -> None:
        await opened(pilot)
        await pilot.press(*"taskping.bot@gmail.com")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert pilot.app.screen.query_one("#address", Input).value == "taskping.bot@gmail.com"

    assert snap_compare(InitApp(CONFIG_PATH), terminal_size=SIZE, run_before=fill_and_save)
    assert not (tmp_path / CONFIG_PATH).exists()


def test_init_screen_own_servers_switch_to_other(snap_compare) -> None:
    """A local IMAP server typed while Gmail was picked: "Other", require_auth emptied, and the note says so."""

    async def type_servers(pilot: Pilot) -> None:
        await opened(pilot)
        await pilot.press(*"bot@example.org")
        screen = pilot.app.screen
        screen.query_one("#imap_host", Input).value = "127.0.0.1"
        screen.query_one("#imap_port", Input).value = "10143"
        screen.query_one("#smtp_port", Input).value = "10025"
        await pilot.pause()
        screen.query_one("#require_auth", Input).focus()
        await pilot.pause()
        steady_cursors(pilot)
        await pilot.pause()

    assert snap_compare(InitApp(CONFIG_PATH), terminal_size=SIZE, run_before=type_servers)
