"""A "no" by mail to a permission dialog: once the agent is back at its prompt, a mail says it waits."""

from __future__ import annotations

from taskping_tui.agent.state import AgentState
from taskping_tui.core.permission_followup import DeniedPermissionFollowUp
from taskping_tui.inbound.commands import CommandState
from taskping_tui.store import CommandRow


def command(text: str, session: str | None = "s1") -> CommandRow:
    return CommandRow(
        id=1,
        mail_id=1,
        session_id=session,
        token="T",
        sender="me@example.com",
        text=text,
        danger_pattern=None,
        auth_result="",
        state=CommandState.INJECTED,
        position=1,
        created_at=0.0,
        updated_at=0.0,
        note="",
    )


def test_no_then_idle_gives_one_follow_up_in_the_session() -> None:
    follow = DeniedPermissionFollowUp()
    follow.answered(command("No."), "answer", tool_name="Bash", cwd="/work/app", prompt="make a file")
    assert follow.on_state(AgentState.WAITING) is None  # still on the dialog
    facts = follow.on_state(AgentState.IDLE)
    assert facts is not None
    assert (facts.kind, facts.session_id, facts.prompt) == ("permission_denied", "s1", "make a file")
    assert "waiting for your instruction" in facts.summary and "Bash" in facts.summary
    assert follow.on_state(AgentState.IDLE) is None


def test_yes_or_a_typed_prompt_or_a_busy_agent_sends_nothing() -> None:
    follow = DeniedPermissionFollowUp()
    follow.answered(command("yes"), "answer")
    assert follow.on_state(AgentState.IDLE) is None
    follow.answered(command("no"), "type")  # typed as a prompt, not a dialog answer
    assert follow.on_state(AgentState.IDLE) is None
    follow.answered(command("否"), "answer")
    assert follow.on_state(AgentState.BUSY) is None  # its turn-finished mail follows instead
    assert follow.on_state(AgentState.IDLE) is None


def test_no_as_the_answer_to_claudes_question_is_no_denial() -> None:
    follow = DeniedPermissionFollowUp()
    follow.answered(command("No"), "answer", tool_name="AskUserQuestion", cwd="/work/app", prompt="deploy?")
    assert follow.on_state(AgentState.IDLE) is None
