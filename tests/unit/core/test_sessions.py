"""What the Sessions panel says about a session, where Space and Tab go, and what opens at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskping_tui.agent.state import AgentState
from taskping_tui.core.agent_link import resume_argv
from taskping_tui.core.sessions import (
    FocusHistory,
    SessionStatus,
    default_session_name,
    next_needing_you,
    plan_start,
    session_status,
)

S = SessionStatus


@pytest.mark.parametrize(
    ("state", "running", "unread", "tool", "claude", "expected"),
    [
        (None, False, False, None, True, S.OFFLINE),
        (AgentState.STARTING, True, False, None, True, S.STARTING),
        (AgentState.BUSY, True, False, None, True, S.BUSY),
        (AgentState.WAITING, True, False, "Bash", True, S.PERMISSION),
        (AgentState.WAITING, True, False, "AskUserQuestion", True, S.QUESTION),
        (AgentState.IDLE, True, True, None, True, S.UNREAD),
        (AgentState.IDLE, True, False, None, True, S.IDLE),
        (AgentState.EXITED, False, False, None, True, S.EXITED),
        (AgentState.IDLE, False, False, None, True, S.EXITED),
        (AgentState.STARTING, False, False, None, False, S.UNKNOWN),
    ],
)
def test_status_of_a_session(
    state: AgentState | None, running: bool, unread: bool, tool: str | None, claude: bool, expected: SessionStatus
) -> None:
    assert session_status(state, running=running, unread=unread, tool_name=tool, is_claude=claude) is expected


def test_space_goes_to_permission_waits_first_then_questions_then_unread() -> None:
    order = ["a", "b", "c", "d", "e"]
    statuses = {"a": S.UNREAD, "b": S.QUESTION, "c": S.PERMISSION, "d": S.BUSY, "e": S.PERMISSION}
    assert next_needing_you(order, statuses, None) == "c"
    assert next_needing_you(order, statuses, "c") == "e"
    assert next_needing_you(order, statuses, "e") == "c"
    assert next_needing_you(order, {"a": S.UNREAD, "b": S.QUESTION}, "d") == "b"
    assert next_needing_you(order, {"a": S.UNREAD}, None) == "a"
    assert next_needing_you(order, {"a": S.IDLE, "b": S.BUSY}, "a") is None


def test_tab_goes_back_to_the_last_used_session() -> None:
    history = FocusHistory()
    history.focus("1")
    history.focus("2")
    history.focus("2")
    assert (history.current, history.previous) == ("2", "1")
    history.focus("1")
    assert history.previous == "2"
    history.forget("1")
    assert (history.current, history.previous) == ("2", None)


def test_default_names_follow_the_directory_and_stay_distinct() -> None:
    assert default_session_name("/work/api/") == "api"
    assert default_session_name("/work/api", ["api"]) == "api (2)"
    assert default_session_name("/x/api", ["api", "api (2)"]) == "api (3)"


def test_start_plans() -> None:
    claude = ["claude"]
    dirs = plan_start(default_argv=claude, cli_argv=None, dirs=["/a", "/b"], cwd="/here", has_open=True)
    assert [(n.cwd, n.argv) for n in dirs.new] == [("/a", claude), ("/b", claude)] and not dirs.resume_open
    both = plan_start(default_argv=claude, cli_argv=["bash"], dirs=["/a"], cwd="/here")
    assert [(n.cwd, n.argv) for n in both.new] == [("/a", ["bash"])]
    command = plan_start(default_argv=claude, cli_argv=["bash", "-l"], cwd="/here", has_open=True)
    assert [(n.cwd, n.argv) for n in command.new] == [("/here", ["bash", "-l"])] and not command.resume_open
    resume = plan_start(default_argv=claude, cli_argv=None, cwd="/here", has_open=True)
    assert resume.resume_open and resume.new == []
    nothing_open = plan_start(default_argv=claude, cli_argv=None, cwd="/here", has_open=False)
    assert [(n.cwd, n.argv) for n in nothing_open.new] == [("/here", claude)]
    assert plan_start(default_argv=claude, cli_argv=None, on_start="ask", cwd="/h", has_open=True).ask
    none = plan_start(default_argv=claude, cli_argv=None, on_start="none", cwd="/h", has_open=True)
    assert not none.resume_open and len(none.new) == 1


def test_claude_resumes_only_when_its_transcript_exists(tmp_path: Path) -> None:
    transcript = tmp_path / "cc-1.jsonl"
    assert resume_argv(["claude"], "cc-1", str(transcript)) == ["claude"]
    transcript.write_text("{}\n")
    assert resume_argv(["claude", "--model", "opus"], "cc-1", str(transcript)) == [
        "claude",
        "--model",
        "opus",
        "--resume",
        "cc-1",
    ]
    assert resume_argv(["bash"], "cc-1", str(transcript)) == ["bash"]
    assert resume_argv(["claude"], None, str(transcript)) == ["claude"]
