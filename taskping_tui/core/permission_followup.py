"""After a permission is denied by mail, tell the phone user that the agent now waits for them.

Claude Code answers "No" with "tell Claude what to do differently" and goes back to its prompt: no hook
fires and no turn ends, so without this the phone user never learns that the agent is waiting. The
follow-up goes out when the agent is idle again (the dialog has gone); if it gets busy instead, its
next turn-finished mail says what happened.
"""

from __future__ import annotations

from dataclasses import dataclass

from taskping_tui.agent.question import QUESTION_TOOL
from taskping_tui.agent.state import AgentState
from taskping_tui.inbound.permission import permission_answer
from taskping_tui.mail.compose import NotificationFacts
from taskping_tui.store import CommandRow


def denied_summary(tool_name: str) -> str:
    tool = f" to {tool_name}" if tool_name else ""
    return (
        f"You answered no{tool}: it did not run, and the agent is waiting for your instruction. "
        "Reply with what it should do instead."
    )


@dataclass
class DeniedPermissionFollowUp:
    denied: CommandRow | None = None
    tool_name: str = ""
    cwd: str = ""
    prompt: str = ""

    def answered(
        self, command: CommandRow, action: str, *, tool_name: str = "", cwd: str = "", prompt: str = ""
    ) -> None:
        """Called after a command was injected with ``action`` ("answer" for a dialog answer)."""
        if tool_name == QUESTION_TOOL:
            return  # "no" picked an answer to Claude's question: nothing was denied
        if action == "answer" and permission_answer(command.text) == "no" and command.session_id:
            self.denied, self.tool_name, self.cwd, self.prompt = command, tool_name, cwd, prompt

    def on_state(self, new: AgentState) -> NotificationFacts | None:
        """The mail to send now that the agent is ``new``, or None."""
        denied = self.denied
        if denied is None or new is AgentState.WAITING:
            return None
        self.denied = None
        if new is not AgentState.IDLE or denied.session_id is None:
            return None  # busy: the turn's own mail follows; exited: the exit mail says so
        return NotificationFacts(
            kind="permission_denied",
            summary=denied_summary(self.tool_name),
            session_id=denied.session_id,
            cwd=self.cwd,
            tool_name=self.tool_name,
            prompt=self.prompt,
        )
