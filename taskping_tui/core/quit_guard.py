"""What quitting would end or leave behind, worded for the "Quit taskping-tui?" dialog (Textual-free)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

DOING = {"busy": " in the middle of a turn", "waiting": " waiting for a permission answer"}


@dataclass(frozen=True)
class RunningAgent:
    session: str  # the session's name, e.g. "api"
    agent: str  # the hosted command, e.g. "claude"
    state: str  # starting / busy / idle / waiting


@dataclass(frozen=True)
class QuitFacts:
    running: Sequence[RunningAgent] = ()
    waiting_commands: Sequence[str] = field(default=())  # states of the commands still in the queue


def quit_warnings(facts: QuitFacts) -> list[str]:
    """One line per thing the user would lose by quitting now; empty when quitting loses nothing."""
    lines: list[str] = []
    if len(facts.running) == 1:
        agent = facts.running[0]
        lines.append(
            f"The agent of {agent.session} ({agent.agent}) is running{DOING.get(agent.state, '')}: "
            "it will be ended (its session can be resumed next time)."
        )
    elif facts.running:
        busy = sum(agent.state in DOING for agent in facts.running)
        detail = f", {busy} in the middle of a turn or a permission question" if busy else ""
        names = ", ".join(agent.session for agent in facts.running)
        lines.append(
            f"{len(facts.running)} agents are running ({names}){detail}: they will be ended "
            "(their sessions can be resumed next time)."
        )
    if facts.waiting_commands:
        count = len(facts.waiting_commands)
        need_you = sum(state in ("queued", "blocked") for state in facts.waiting_commands)
        detail = f", {need_you} waiting for your approval" if need_you else ""
        lines.append(
            f"{count} command{'s' if count != 1 else ''} from mail not typed yet{detail}: "
            "kept, and typed after their sessions are resumed (until they expire)."
        )
    return lines


def quit_question(facts: QuitFacts) -> str | None:
    """The dialog body, or None when there is nothing to ask about."""
    lines = quit_warnings(facts)
    return "\n".join(lines) if lines else None
