"""The main screen with the deterministic fake agent in the pane: sidebar shown, hidden, populated."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from taskping_tui.themes import DEFAULT_THEME, load_themes_from, shipped_themes_dirs
from taskping_tui.core.sessions import NewSession
from tests.snapshots.scenes import (
    FAKE_AGENT,
    NOTIFICATIONS,
    SIZE,
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
