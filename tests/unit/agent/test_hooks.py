"""The per-launch --settings file and the argv decisions for the hosted agent."""

from __future__ import annotations

import json
import os
import shlex
import stat
import sys
import uuid
from pathlib import Path

import pytest

from taskping_tui.agent import hooks
from taskping_tui.agent.hooks import (
    HOOKED_EVENTS,
    InstanceDir,
    build_hook_settings,
    chooses_its_own_session,
    is_claude_code,
    plan_agent_launch,
)


@pytest.fixture
def instance(tmp_path: Path) -> InstanceDir:
    with InstanceDir.create(tmp_path / "run") as created:
        yield created


def test_settings_have_one_command_hook_per_followed_event(tmp_path: Path) -> None:
    settings = build_hook_settings(tmp_path / "hook.sock", python="/opt/py/bin/python3")
    assert (
        set(settings["hooks"])
        == set(HOOKED_EVENTS)
        == {
            "SessionStart",
            "UserPromptSubmit",
            "Stop",
            "StopFailure",
            "Notification",
            "PermissionRequest",
            "SessionEnd",
        }
    )
    for entries in settings["hooks"].values():
        assert len(entries) == 1
        assert entries[0]["matcher"] == ""
        (hook,) = entries[0]["hooks"]
        assert hook["type"] == "command"
        assert 1 <= hook["timeout"] <= 10
        words = shlex.split(hook["command"])
        assert words[0] == "/opt/py/bin/python3"
        assert words[-2:] == ["--socket", str(tmp_path / "hook.sock")]


def test_hook_command_uses_this_absolute_interpreter_and_quotes_odd_paths(tmp_path: Path) -> None:
    odd = tmp_path / "dir with space;$x" / "hook.sock"
    words = shlex.split(hooks.hook_command(odd))
    assert os.path.isabs(words[0]) and words[0] == os.path.abspath(sys.executable)
    assert words[-1] == str(odd)


def test_instance_dir_is_private_and_removed_on_cleanup(tmp_path: Path) -> None:
    created = InstanceDir.create(tmp_path / "run")
    assert stat.S_IMODE(created.path.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o700
    other = InstanceDir.create(tmp_path / "run")
    assert other.path != created.path  # unique per app instance
    created.cleanup()
    other.cleanup()
    assert not created.path.exists() and not other.path.exists()


def test_instance_dir_falls_back_to_a_short_path_when_the_socket_path_would_be_too_long(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 90)
    with InstanceDir.create(deep) as created:
        assert len(str(created.socket_path)) <= hooks.MAX_SOCKET_PATH
        assert stat.S_IMODE(created.path.stat().st_mode) == 0o700


@pytest.mark.parametrize(
    "argv",
    [
        ["claude"],
        ["/usr/local/bin/claude", "fix the bug"],
        ["claude.exe"],
        ["node", "/x/node_modules/@anthropic-ai/claude-code/cli.js"],
        ["node", "--no-warnings", "/x/node_modules/@anthropic-ai/claude-code/cli-wrapper.cjs", "-p", "hi"],
    ],
)
def test_claude_code_is_recognised(argv: list[str]) -> None:
    assert is_claude_code(argv)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["bash"],
        ["codex"],
        ["aider", "--model", "x"],
        ["node", "server.js"],
        ["node", "/tmp/cli.js"],
        ["python3", "claude"],
    ],
)
def test_other_agents_are_not_taken_for_claude(argv: list[str]) -> None:
    assert not is_claude_code(argv)


def test_a_symlink_named_otherwise_that_points_at_claude_is_recognised(tmp_path: Path, monkeypatch) -> None:
    real = tmp_path / "pkg" / "node_modules" / "@anthropic-ai" / "claude-code" / "bin" / "claude.exe"
    real.parent.mkdir(parents=True)
    real.write_text("#!/bin/sh\n")
    real.chmod(0o755)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "cc").symlink_to(real)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert is_claude_code(["cc"])


def test_claude_launch_gets_settings_and_a_fresh_session_id(instance: InstanceDir) -> None:
    plan = plan_agent_launch(["claude", "--model", "opus"], instance)
    assert plan.is_claude
    assert plan.argv[0] == "claude" and plan.argv[-2:] == ["--model", "opus"]
    settings_path = Path(plan.argv[plan.argv.index("--settings") + 1])
    assert settings_path == plan.settings_path
    assert stat.S_IMODE(settings_path.stat().st_mode) == 0o600
    written = json.loads(settings_path.read_text())
    assert set(written["hooks"]) == set(HOOKED_EVENTS)
    assert str(instance.socket_path) in written["hooks"]["Stop"][0]["hooks"][0]["command"]
    session_id = plan.argv[plan.argv.index("--session-id") + 1]
    assert session_id == plan.session_id and uuid.UUID(session_id).version == 4


def test_node_launch_keeps_the_script_before_the_added_flags(instance: InstanceDir) -> None:
    script = "/x/node_modules/@anthropic-ai/claude-code/cli-wrapper.cjs"
    plan = plan_agent_launch(["node", script, "hello"], instance)
    assert plan.argv[:3] == ["node", script, "--settings"]
    assert plan.argv[-1] == "hello"


@pytest.mark.parametrize(
    "user_args",
    [
        ["-c"],
        ["--continue"],
        ["-r"],
        ["--resume", "abc"],
        ["--resume=abc"],
        ["--session-id", "0f8fad5b-d9cb-469f-a165-70867728950e"],
    ],
)
def test_no_session_id_added_when_the_user_picks_the_session(instance: InstanceDir, user_args: list[str]) -> None:
    plan = plan_agent_launch(["claude", *user_args], instance)
    assert plan.session_id is None
    assert plan.argv.count("--session-id") == user_args.count("--session-id")
    assert "--settings" in plan.argv


def test_flags_after_double_dash_do_not_count_as_session_flags() -> None:
    assert not chooses_its_own_session(["--", "-c"])
    assert chooses_its_own_session(["--model", "x", "-r"])


def test_other_agent_argv_is_left_alone_and_no_settings_written(instance: InstanceDir) -> None:
    plan = plan_agent_launch(["bash", "-l"], instance)
    assert plan == hooks.LaunchPlan(argv=["bash", "-l"], is_claude=False)
    assert not instance.settings_path.exists()


def test_the_users_own_settings_file_is_merged_not_replaced(instance: InstanceDir, tmp_path: Path) -> None:
    own = tmp_path / "mine.json"
    own.write_text(
        json.dumps(
            {
                "model": "sonnet",
                "hooks": {"Stop": [{"matcher": "", "hooks": [{"type": "command", "command": "my-stop-hook"}]}]},
            }
        )
    )
    plan = plan_agent_launch(["claude", "--settings", str(own), "go"], instance)
    assert plan.argv.count("--settings") == 1
    merged = json.loads(Path(plan.argv[plan.argv.index("--settings") + 1]).read_text())
    assert merged["model"] == "sonnet"
    commands = [h["command"] for entry in merged["hooks"]["Stop"] for h in entry["hooks"]]
    assert commands[0] == "my-stop-hook" and "hook_client" in commands[1]
    assert json.loads(own.read_text())["hooks"]["Stop"][0]["hooks"][0]["command"] == "my-stop-hook"


def test_inline_json_settings_are_merged_too(instance: InstanceDir) -> None:
    plan = plan_agent_launch(["claude", '--settings={"model": "haiku"}'], instance)
    merged = json.loads(Path(plan.argv[plan.argv.index("--settings") + 1]).read_text())
    assert merged["model"] == "haiku" and "Stop" in merged["hooks"]


def test_unreadable_user_settings_are_passed_on_untouched(instance: InstanceDir, tmp_path: Path) -> None:
    argv = ["claude", "--settings", str(tmp_path / "missing.json")]
    plan = plan_agent_launch(argv, instance)
    assert plan.argv == argv and plan.is_claude and plan.session_id is None


def test_user_claude_settings_file_is_never_touched(instance: InstanceDir, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    plan_agent_launch(["claude"], instance)
    assert not (tmp_path / ".claude").exists()
