"""What quitting would end or leave behind, worded for the "Quit taskping-tui?" dialog (Textual-free)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class QuitFacts:
    agent: str  # the hosted command, e.g. "claude"
    agent_running: bool
    agent_state: str  # starting / busy / idle / waiting / exited
    waiting_commands: Sequence[str] = ()  # states of the commands still in the queue


def quit_warnings(facts: QuitFacts) -> list[str]:
    """One line per thing the user would lose by quitting now; empty when quitting loses nothing."""
    lines: list[str] = []
    if facts.agent_running:
        doing = {"busy": " in the middle of a turn", "waiting": " waiting for a permission answer"}
        lines.append(f"The agent ({facts.agent}) is running{doing.get(facts.agent_state, '')}: it will be ended.")
    if facts.waiting_commands:
        count = len(facts.waiting_commands)
        need_you = sum(state in ("queued", "blocked") for state in facts.waiting_commands)
        detail = f", {need_you} waiting for your approval" if need_you else ""
        lines.append(f"{count} command{'s' if count != 1 else ''} from mail not typed yet{detail}: "
                     "kept, and shown again on the next start (until they expire).")
    return lines


def quit_question(facts: QuitFacts) -> str | None:
    """The dialog body, or None when there is nothing to ask about."""
    lines = quit_warnings(facts)
    return "\n".join(lines) if lines else None
