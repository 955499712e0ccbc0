"""The life of a command that arrived by mail: a pure state machine and the rules around it.

accepted + approval "auto"   → approved ─┐
accepted + approval "manual" → queued ───┤ (approve at the keyboard)
blocked (danger pattern)     → blocked ──┘ (approve after confirming the full text)
approved → injecting (committed before the write) → injected | failed
injecting found at start-up  → unknown (never replayed on our own: the user decides)
queued / blocked / approved past their TTL → expired;  the user can reject any waiting command.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CommandState(StrEnum):
    QUEUED = "queued"
    BLOCKED = "blocked"
    APPROVED = "approved"
    INJECTING = "injecting"
    INJECTED = "injected"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"
    UNKNOWN = "unknown"


class CommandEvent(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    EXPIRE = "expire"
    START_INJECTION = "start_injection"
    INJECTION_DONE = "injection_done"
    INJECTION_FAILED = "injection_failed"
    CRASH_RECOVERED = "crash_recovered"
    CONFIRM_DELIVERED = "confirm_delivered"


S, E = CommandState, CommandEvent

TRANSITIONS: dict[tuple[CommandState, CommandEvent], CommandState] = {
    (S.QUEUED, E.APPROVE): S.APPROVED,
    (S.QUEUED, E.REJECT): S.REJECTED,
    (S.QUEUED, E.EXPIRE): S.EXPIRED,
    (S.BLOCKED, E.APPROVE): S.APPROVED,
    (S.BLOCKED, E.REJECT): S.REJECTED,
    (S.BLOCKED, E.EXPIRE): S.EXPIRED,
    (S.APPROVED, E.START_INJECTION): S.INJECTING,
    (S.APPROVED, E.REJECT): S.REJECTED,
    (S.APPROVED, E.EXPIRE): S.EXPIRED,
    (S.INJECTING, E.INJECTION_DONE): S.INJECTED,
    (S.INJECTING, E.INJECTION_FAILED): S.FAILED,
    (S.INJECTING, E.CRASH_RECOVERED): S.UNKNOWN,
    # After a crash or a failed write only the user can tell whether the agent got the text.
    (S.UNKNOWN, E.CONFIRM_DELIVERED): S.INJECTED,
    (S.UNKNOWN, E.APPROVE): S.APPROVED,
    (S.UNKNOWN, E.REJECT): S.REJECTED,
    (S.FAILED, E.APPROVE): S.APPROVED,
    (S.FAILED, E.REJECT): S.REJECTED,
}

# Still in the queue: shown in order, may be moved up and down, and expire after their TTL.
CAN_EXPIRE = frozenset({S.QUEUED, S.BLOCKED, S.APPROVED})


class InvalidTransition(ValueError):
    def __init__(self, state: CommandState, event: CommandEvent) -> None:
        super().__init__(f"a command that is {state.value} cannot {event.value.replace('_', ' ')}")
        self.state = state
        self.event = event


def allows(state: CommandState, event: CommandEvent) -> bool:
    """May a command in ``state`` take ``event`` now? (The Commands panel offers only the keys that may.)"""
    return (state, event) in TRANSITIONS


def can_move(state: CommandState) -> bool:
    """Still waiting in the queue, so the user may move it up or down."""
    return state in CAN_EXPIRE


def sources_by_target(event: CommandEvent) -> dict[CommandState, list[CommandState]]:
    """For ``event``: each state it leads to, with the states it leads there from."""
    found: dict[CommandState, list[CommandState]] = {}
    for (source, each), target in TRANSITIONS.items():
        if each is event:
            found.setdefault(target, []).append(source)
    return found


def next_state(state: CommandState, event: CommandEvent) -> CommandState:
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise InvalidTransition(state, event) from None


def initial_state(verdict: str, approval: str) -> CommandState:
    """Where a command starts, from the gate's verdict ("accepted"/"blocked") and the approval policy."""
    if verdict == "blocked":
        return S.BLOCKED
    if verdict != "accepted":
        raise ValueError(f"only accepted or blocked mail becomes a command, not {verdict!r}")
    return S.APPROVED if approval == "auto" else S.QUEUED


def needs_confirmation(state: CommandState) -> bool:
    """Approving a blocked command shows its full text and asks once more."""
    return state is S.BLOCKED


@dataclass(frozen=True)
class InjectionReadiness:
    ready: bool
    reason: str = ""


def injection_readiness(
    agent_state: str,
    *,
    prompt_line_empty: bool,
    seconds_since_last_key: float,
    typing_grace_seconds: float = 5.0,
) -> InjectionReadiness:
    """May a prompt be typed into the agent right now? If not, say why in words for the panel."""
    if agent_state == "waiting":
        return InjectionReadiness(False, "agent is waiting for a permission answer")
    if agent_state != "idle":
        return InjectionReadiness(False, f"agent is {agent_state}")
    if seconds_since_last_key < typing_grace_seconds:
        return InjectionReadiness(False, "you are typing in the pane")
    if not prompt_line_empty:
        return InjectionReadiness(False, "the agent's prompt line is not empty")
    return InjectionReadiness(True)
