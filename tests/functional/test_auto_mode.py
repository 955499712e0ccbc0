"""Claude Code 2.1.332 (what users install today) starts in auto mode: no dialog, so no permission mail.

The app says so once, with the way to choose another mode; in manual mode no such notice appears.
Real 2.1.332 against the mock API (tests/mock_anthropic.py).
"""

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


def mode_notices(app: TaskPingApp) -> list[str]:
    return [str(n.message) for n in app._notifications if n.title == "No permission mails"]


@pytest.fixture
def app_332(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    claude_cli_332: Path,
    claude_project: Path,
    claude_env: dict[str, str],
):  # type: ignore[no-untyped-def]
    @contextlib.asynccontextmanager
    async def run(*args: str) -> AsyncIterator[AppDriver]:
        monkeypatch.chdir(claude_project)
        config = parse_config(f"[agent]\nenv = {agent_env_toml(claude_env)}\n[notify]\ndesktop = false\n")
        app = TaskPingApp(config, [str(claude_cli_332), *args], runtime_dir=tmp_path / "run")
        async with app.run_test(size=(170, 45)) as pilot:
            yield AppDriver(app, pilot)

    return run


async def test_auto_mode_is_announced_once_with_the_way_to_be_asked(app_332, mock_anthropic: MockAnthropic) -> None:  # type: ignore[no-untyped-def]
    mock_anthropic.queue_tool_use("Bash", {"command": "touch made_in_auto_mode.txt", "description": "Create"})
    mock_anthropic.queue_text("Created it.")
    async with app_332() as driver:
        app = driver.app
        await driver.until(lambda: "auto mode on" in driver.screen_text(), "2.1.332's auto-mode footer")
        await driver.until(lambda: bool(mode_notices(app)), "the auto-mode notice")
        (notice,) = mode_notices(app)
        assert "no permission mail" in notice
        assert "Shift+Tab" in notice and "--permission-mode default" in notice
        # The tool runs without a dialog: the only news is the finished turn, and the notice is not repeated.
        await driver.type_prompt("create a file")
        await driver.until(lambda: any(e.kind == "turn_finished" for e in app.notification_entries), "Stop")
        assert not any(e.kind == "needs_permission" for e in app.notification_entries)
        assert len(mode_notices(app)) == 1


async def test_manual_mode_shows_no_notice_and_asks_with_four_options(app_332, mock_anthropic: MockAnthropic) -> None:  # type: ignore[no-untyped-def]
    mock_anthropic.queue_tool_use("Bash", {"command": "touch asked_first.txt", "description": "Create a file"})
    async with app_332("--permission-mode", "default") as driver:
        app = driver.app
        await driver.until(lambda: "manual mode on" in driver.screen_text(), "the manual-mode footer")
        await driver.type_prompt("create a file")
        await driver.until(lambda: app.agent_state == "waiting", "the permission request")
        await driver.until(lambda: "4. No" in driver.screen_text(), "the four-option dialog")
        assert [e.kind for e in app.notification_entries] == ["needs_permission"]
        assert mode_notices(app) == []


async def test_leaving_with_exit_sends_no_agent_exited_notification(app_332) -> None:  # type: ignore[no-untyped-def]
    """/exit is the user leaving on purpose (SessionEnd reason prompt_input_exit): no "Agent exited" news."""
    async with app_332("--permission-mode", "default") as driver:
        app = driver.app
        await driver.type_prompt("/exit")
        await driver.until(lambda: app.agent_state == "exited", "the agent to exit")
        await driver.pilot.pause(0.5)
        assert [e.kind for e in app.notification_entries] == []


async def test_doctor_warns_that_the_installed_claude_code_never_asks(
    tmp_path: Path, claude_cli_332: Path, claude_cli: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from taskping_tui.diagnostics.doctor import OK, WARNING, run_checks

    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.claude/settings.json choosing a mode
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "config.toml"
    for cli, expected in ((claude_cli_332, WARNING), (claude_cli, OK)):
        config.write_text(f'[agent]\ncommand = "{cli}"\n')
        checks = {check.name: check for check in await run_checks(config)}
        mode = checks["permission mode"]
        assert mode.status == expected, mode
    config.write_text(f'[agent]\ncommand = "{claude_cli_332}"\nargs = ["--permission-mode", "default"]\n')
    checks = {check.name: check for check in await run_checks(config)}
    assert checks["permission mode"].status == OK
