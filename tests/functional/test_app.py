"""The app shell with a deterministic child: layout keys, quitting, a missing command, saving the theme."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from taskping_tui.app import TaskPingApp
from taskping_tui.config import Config, parse_config
from taskping_tui.widgets.confirm_dialog import ConfirmDialog
from taskping_tui.widgets.sessions_panel import SessionsPanel
from taskping_tui.widgets.sidebar import Sidebar
from tests.support.app_harness import AppDriver

FAKE_AGENT = [sys.executable, str(Path(__file__).resolve().parents[1] / "data" / "fake_agent.py")]


async def test_f6_moves_focus_and_h_hides_the_sidebar(tmp_path: Path) -> None:
    app = TaskPingApp(Config(), FAKE_AGENT, runtime_dir=tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        driver = AppDriver(app, pilot)
        await driver.until(lambda: "Ready" in driver.screen_text(), "the fake agent")
        assert app.pane.has_focus
        await pilot.press("f6")
        await pilot.pause()
        assert app.query_one(SessionsPanel).has_focus_within
        await pilot.press("h")
        await pilot.pause()
        assert not app.query_one(Sidebar).display
        assert app.pane.has_focus
        assert app.pane.size.width > 110  # the pane took the full width
        await pilot.press("f6")
        await pilot.pause()
        assert app.query_one(Sidebar).display
        assert app.query_one(SessionsPanel).has_focus_within
        await pilot.press("f6")
        assert app.pane.has_focus


async def test_keys_typed_in_the_pane_reach_the_child_even_app_keys(tmp_path: Path) -> None:
    app = TaskPingApp(Config(), FAKE_AGENT, runtime_dir=tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        driver = AppDriver(app, pilot)
        await driver.until(lambda: "Ready" in driver.screen_text(), "the fake agent")
        await pilot.press("h", "q", "ctrl+p", "enter")  # sidebar keys and the palette key go to the child
        await driver.until(lambda: "you said: hq" in driver.screen_text(), "the echoed line")
        assert app.query_one(Sidebar).display
        assert app.is_running


async def test_quit_from_the_sidebar_ends_the_child(tmp_path: Path) -> None:
    app = TaskPingApp(Config(), FAKE_AGENT, runtime_dir=tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        driver = AppDriver(app, pilot)
        await driver.until(lambda: app.pane.pid is not None, "the child")
        pid = app.pane.pid
        assert pid is not None
        await pilot.press("f6", "q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)  # an agent runs: quitting asks first
        await pilot.press("y")
        await pilot.pause(0.5)
    assert not Path(f"/proc/{pid}").exists()


async def test_missing_agent_is_explained_and_the_app_stays_up(tmp_path: Path) -> None:
    app = TaskPingApp(Config(), ["no-such-agent-here"], runtime_dir=tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        driver = AppDriver(app, pilot)
        await driver.until(lambda: "not found" in driver.screen_text().lower(), "the not-found message")
        assert "no-such-agent-here" in driver.screen_text()
        assert app.is_running


async def test_missing_claude_shows_the_npm_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    app = TaskPingApp(Config(), ["claude"], runtime_dir=tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        driver = AppDriver(app, pilot)
        await driver.until(
            lambda: "npm install -g @anthropic-ai/claude-code" in driver.screen_text(), "the install hint"
        )


async def test_theme_choice_is_saved_keeping_the_users_comments(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('# mine\n[ui]\ntheme = "taskping-dark"  # dark is nice\n')
    app = TaskPingApp(parse_config(path.read_text(), path), FAKE_AGENT, runtime_dir=tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.theme == "taskping-dark"
        app.theme = "taskping-light"
        await pilot.pause(1.5)
    text = path.read_text()
    assert tomllib.loads(text)["ui"]["theme"] == "taskping-light"
    assert "# dark is nice" in text and text.startswith("# mine")


async def test_unknown_theme_falls_back_with_a_notice(tmp_path: Path) -> None:
    app = TaskPingApp(parse_config('[ui]\ntheme = "no-such-theme"'), FAKE_AGENT, runtime_dir=tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert app.theme == "taskping-dark"
        assert any("no-such-theme" in str(n.message) for n in app._notifications)


async def test_starting_the_app_leaves_the_config_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[ui]\ntheme = "taskping-light"\n')
    before = path.stat().st_mtime_ns
    app = TaskPingApp(parse_config(path.read_text(), path), FAKE_AGENT, runtime_dir=tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(1.5)
        assert app.theme == "taskping-light"
    assert path.stat().st_mtime_ns == before


async def test_startup_output_of_a_plain_agent_is_not_a_finished_turn(tmp_path: Path) -> None:
    config = parse_config("[agent]\nsilence_seconds = 1.0\n[notify]\ndesktop = false\n")
    app = TaskPingApp(config, FAKE_AGENT, runtime_dir=tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        driver = AppDriver(app, pilot)
        await driver.until(lambda: app.agent_state == "idle", "idle after the banner")
        await pilot.pause(1.5)
        assert app.notification_entries == []


async def test_each_local_ring_can_be_turned_off(tmp_path: Path) -> None:
    config = parse_config("[agent]\nsilence_seconds = 1.0\n[notify]\npanel = false\ntoast = false\ndesktop = false\n")
    app = TaskPingApp(config, FAKE_AGENT, runtime_dir=tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        driver = AppDriver(app, pilot)
        await driver.until(lambda: app.agent_state == "idle", "idle after the banner")
        session = app.main.focused_session
        assert session is not None and session.link is not None
        session.link.on_exit(0, None)
        await pilot.pause()
        assert [entry.kind for entry in app.notification_entries] == ["exited"]  # recorded...
        assert app.query_one("NotificationsPanel").count == 0  # ...but not listed
        assert not app._notifications  # and no toast
