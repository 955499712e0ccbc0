"""The app hosting the real pinned Claude Code (mail off): agent state and the Notifications panel."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from taskping_tui.app import TaskPingApp
from taskping_tui.config import parse_config
from tests.support.app_harness import AppDriver, agent_env_toml
from tests.support.mock_anthropic import MockAnthropic

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture
def app_driver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, claude_cli: Path, claude_project: Path, claude_env: dict[str, str]
):  # type: ignore[no-untyped-def]
    @contextlib.asynccontextmanager
    async def run() -> AsyncIterator[AppDriver]:
        monkeypatch.chdir(claude_project)
        config = parse_config(f"[agent]\nenv = {agent_env_toml(claude_env)}\n[notify]\ndesktop = false\n")
        app = TaskPingApp(config, [str(claude_cli)], runtime_dir=tmp_path / "run")
        async with app.run_test(size=(150, 45)) as pilot:
            yield AppDriver(app, pilot)

    return run


async def test_turn_finished_reaches_the_panel_with_the_answer(app_driver, mock_anthropic: MockAnthropic) -> None:  # type: ignore[no-untyped-def]
    mock_anthropic.queue_text("The answer is 42.")
    async with app_driver() as driver:
        app = driver.app
        await driver.until(lambda: app.agent_state == "idle", "SessionStart / idle")
        assert app.pane.border_subtitle == "idle"
        await driver.type_prompt("what is the answer")
        await driver.until(lambda: app.agent_state == "busy" or bool(app.notification_entries), "the turn to start")
        await driver.until(lambda: bool(app.notification_entries), "the Stop notification")
        (entry,) = app.notification_entries
        assert entry.kind == "turn_finished"
        assert "The answer is 42." in entry.summary
        assert app.agent_state == "idle"
        assert mock_anthropic.user_prompts() == ["what is the answer"]
        assert "The answer is 42." in driver.screen_text()


async def test_permission_dialog_puts_the_agent_in_waiting(app_driver, mock_anthropic: MockAnthropic) -> None:  # type: ignore[no-untyped-def]
    mock_anthropic.queue_tool_use("Bash", {"command": "touch from_app.txt", "description": "Create a file"})
    async with app_driver() as driver:
        app = driver.app
        await driver.type_prompt("create a file")
        await driver.until(lambda: "Do you want to proceed?" in driver.screen_text(), "the dialog in the pane")
        await driver.until(lambda: app.agent_state == "waiting", "state waiting")
        assert app.pane.border_subtitle == "waiting"
        (entry,) = app.notification_entries
        assert entry.kind == "needs_permission"
        assert "touch from_app.txt" in entry.summary


async def test_api_error_is_recorded(app_driver, mock_anthropic: MockAnthropic) -> None:  # type: ignore[no-untyped-def]
    for _ in range(2):  # CLAUDE_CODE_MAX_RETRIES=1: the first try and one retry
        mock_anthropic.queue_error(500, "mock overload")
    async with app_driver() as driver:
        app = driver.app
        await driver.type_prompt("fail please")
        await driver.until(lambda: any(e.kind == "api_error" for e in app.notification_entries), "StopFailure")
        assert app.agent_state == "idle"


async def test_agent_exit_is_recorded_and_enter_starts_a_fresh_session(
    app_driver,  # type: ignore[no-untyped-def]
    mock_anthropic: MockAnthropic,
) -> None:
    mock_anthropic.queue_text("Back again.")
    async with app_driver() as driver:
        app = driver.app
        first_argv = app.pane.argv
        await driver.type_prompt("/exit")
        await driver.until(lambda: app.agent_state == "exited", "the agent to exit")
        assert app.notification_entries == []  # /exit is leaving on purpose: no "Agent exited" news
        assert app.pane.argv != first_argv  # a new --session-id for the next run
        await driver.pilot.press("enter")
        await driver.type_prompt("are you there")
        await driver.until(
            lambda: any(e.kind == "turn_finished" for e in app.notification_entries), "a turn in the restarted session"
        )
        assert mock_anthropic.user_prompts() == ["are you there"]
