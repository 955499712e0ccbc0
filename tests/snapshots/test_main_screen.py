"""The main screen with the deterministic fake agent in the pane: sidebar shown, hidden, populated."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from taskping_tui.app import TaskPingApp
from taskping_tui.core.sessions import NewSession
from taskping_tui.inbound.commands import CommandState
from taskping_tui.store import NewInboundMail, Store
from taskping_tui.themes import DEFAULT_THEME, load_themes_from, shipped_themes_dirs
from tests.snapshots.scenes import (
    FAKE_AGENT,
    ME,
    NOTIFICATIONS,
    SIZE,
    at,
    config,
    make_app,
    seed_store,
    settle_app,
    show_notifications,
    wait_for,
)


def test_main_screen_fresh_sidebar_shown(snap_compare, tmp_path: Path) -> None:
    """Mail off: the agent's screen in the pane, the three panels saying what will appear and how to turn mail on."""
    assert snap_compare(make_app(config(), tmp_path), terminal_size=SIZE, run_before=settle_app)


def test_main_screen_sidebar_hidden(snap_compare, tmp_path: Path) -> None:
    """F6 moves to the sidebar, `h` hides it: the pane takes the whole width and has focus again."""

    async def hide_sidebar(pilot: Pilot) -> None:
        await settle_app(pilot)
        await pilot.press("f6")
        await pilot.press("h")
        assert pilot.app.pane.has_focus  # type: ignore[attr-defined]
        # Focus changes and the resize can flush output activity that makes the tracker busy for a moment.
        await settle_app(pilot)

    assert snap_compare(make_app(config(), tmp_path), terminal_size=SIZE, run_before=hide_sidebar)


SHIPPED_THEMES = [theme.name for theme in load_themes_from(shipped_themes_dirs()[0]).themes]


def test_every_shipped_theme_loads() -> None:
    theme_files = sorted(path.stem for path in shipped_themes_dirs()[0].glob("*.toml"))
    assert sorted(SHIPPED_THEMES) == theme_files
    assert DEFAULT_THEME in SHIPPED_THEMES


@pytest.mark.parametrize("theme", SHIPPED_THEMES)
def test_main_screen_populated(snap_compare, tmp_path: Path, theme: str) -> None:
    """Mail on with a seeded store, in each shipped theme: notifications with their mail state, replies with
    their verdicts, commands waiting for approval. The taskping-dark one is the README screenshot."""
    seed_store(tmp_path / "state.sqlite3")

    async def populate(pilot: Pilot) -> None:
        await settle_app(pilot)
        assert pilot.app.theme == theme  # not a fallback after a broken theme file
        show_notifications(pilot.app, NOTIFICATIONS)  # type: ignore[arg-type]
        await pilot.pause()

    assert snap_compare(make_app(config(mail=True, theme=theme), tmp_path), terminal_size=SIZE, run_before=populate)


def test_main_screen_new_blocked_command_in_view_at_170x45(snap_compare, tmp_path: Path) -> None:
    """At 170x45 with a history of finished commands, a newly blocked one is first in Commands, highlighted."""
    seed_store(tmp_path / "state.sqlite3")
    with Store.open(tmp_path / "state.sqlite3") as store:
        for index in range(8):
            recorded = store.record_inbound_mail(
                NewInboundMail(
                    verdict="accepted",
                    received_at=at(8, index).timestamp(),
                    sender=ME,
                    subject="Re: done",
                    command=f"finished command {index}",
                    message_id=f"<old{index}@example.com>",
                ),
                command_state=CommandState.QUEUED,
            )
            assert recorded.command_id is not None
            store.transition_command(
                recorded.command_id, [CommandState.QUEUED], CommandState.INJECTED, now=at(8, index, 30).timestamp()
            )

    async def block_one(pilot: Pilot) -> None:
        await settle_app(pilot)
        show_notifications(pilot.app, NOTIFICATIONS)  # type: ignore[arg-type]
        app = pilot.app
        assert isinstance(app, TaskPingApp) and app.store is not None
        recorded = app.store.record_inbound_mail(
            NewInboundMail(
                verdict="blocked",
                received_at=at(9, 40).timestamp(),
                sender=ME,
                subject="Re: push it",
                command="git push --force origin main",
                danger_pattern="git push --force",
                message_id="<push@example.com>",
            )
        )
        assert recorded.command_id is not None
        command = app.store.get_command(recorded.command_id)
        assert command is not None
        app.main.show_command(command)
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(make_app(config(mail=True), tmp_path), terminal_size=(170, 45), run_before=block_one)


def test_main_screen_pane_scrolled_back(snap_compare, tmp_path: Path) -> None:
    """Shift+PgUp in the pane: the label says it is scrolled back and how to return."""

    async def scroll_back(pilot: Pilot) -> None:
        await settle_app(pilot)
        app = pilot.app
        assert isinstance(app, TaskPingApp)
        # Lines the agent printed earlier, straight into the pane's screen (no output activity, no turn).
        screen = app.pane.terminal_screen
        screen.feed("".join(f"earlier output line {n}\r\n" for n in range(60)).encode())
        await wait_for(pilot, lambda: any("line 59" in line for line in screen.display), "the lines on screen")
        await pilot.press("shift+pageup")
        await wait_for(pilot, lambda: "scrolled back" in str(app.pane.border_subtitle), "the label")
        # The scrollback's rows come from the emulator process once the pane asks for them.
        await wait_for(pilot, lambda: screen.history_row(screen.history_len() - 1) is not None, "the rows")
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(make_app(config(), tmp_path), terminal_size=SIZE, run_before=scroll_back)


def test_main_screen_agent_not_found(snap_compare, tmp_path: Path) -> None:
    """A command that is not on PATH: the pane says how to install it, the label says "command not found"."""

    async def not_found(pilot: Pilot) -> None:
        app = pilot.app
        assert isinstance(app, TaskPingApp)
        await wait_for(pilot, lambda: app.pane.border_subtitle == "command not found", "the label")
        app.clear_notifications()
        await pilot.pause()

    app = TaskPingApp(
        config(), ["no-such-agent-here"], store_path=tmp_path / "state.sqlite3", runtime_dir=tmp_path / "run"
    )
    assert snap_compare(app, terminal_size=SIZE, run_before=not_found)


def test_main_screen_toast_at_the_top(snap_compare, tmp_path: Path) -> None:
    """The 8 s "Command waits for your approval" toast sits top right, clear of the agent's input line and
    the Commands panel."""
    seed_store(tmp_path / "state.sqlite3")

    async def toast(pilot: Pilot) -> None:
        await settle_app(pilot)
        pilot.app.notify(
            "me@example.com: rm -rf build/ dist/",
            title="Command waits for your approval",
            severity="warning",
            timeout=8,
        )
        await pilot.pause()

    assert snap_compare(make_app(config(mail=True), tmp_path), terminal_size=(170, 45), run_before=toast)


def test_main_screen_two_sessions_in_the_command_layer(snap_compare, tmp_path: Path) -> None:
    """A second session opened in another directory, then F6: the Sessions panel lists both (the second
    focused), its keys in the footer; notifications name their session."""
    web = tmp_path / "web"
    web.mkdir()

    async def two_sessions(pilot: Pilot) -> None:
        import sys

        app = pilot.app
        await settle_app(pilot)
        await app.main.new_session(NewSession(str(web), [sys.executable, str(FAKE_AGENT)]))  # type: ignore[attr-defined]
        await settle_app(pilot)
        await pilot.press("f6")
        await wait_for(pilot, lambda: app.main.query_one("SessionsPanel").count == 2, "two session rows")  # type: ignore[attr-defined]
        await pilot.pause(0.3)

    assert snap_compare(make_app(config(), tmp_path), terminal_size=SIZE, run_before=two_sessions)
