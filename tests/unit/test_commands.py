"""The command state machine: which steps a command may take, and when it may be typed."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from taskping_tui.inbound.commands import (
    TRANSITIONS,
    InvalidTransition,
    initial_state,
    injection_readiness,
    is_expired,
    needs_confirmation,
    next_state,
)
from taskping_tui.inbound.commands import (
    CommandEvent as E,
)
from taskping_tui.inbound.commands import (
    CommandState as S,
)


@pytest.mark.parametrize(
    ("verdict", "approval", "state"),
    [("accepted", "auto", S.APPROVED), ("accepted", "manual", S.QUEUED),
     ("blocked", "auto", S.BLOCKED), ("blocked", "manual", S.BLOCKED)],
)
def test_where_a_command_starts(verdict: str, approval: str, state: S) -> None:
    assert initial_state(verdict, approval) is state


def test_rejected_mail_never_becomes_a_command() -> None:
    with pytest.raises(ValueError, match="not 'rejected'"):
        initial_state("rejected", "auto")


def test_happy_path_from_blocked_to_injected() -> None:
    state = S.BLOCKED
    assert needs_confirmation(state)
    for event, expected in [(E.APPROVE, S.APPROVED), (E.START_INJECTION, S.INJECTING),
                            (E.INJECTION_DONE, S.INJECTED)]:
        state = next_state(state, event)
        assert state is expected


def test_a_command_cannot_be_injected_twice() -> None:
    with pytest.raises(InvalidTransition, match="a command that is injected cannot start injection"):
        next_state(S.INJECTED, E.START_INJECTION)
    with pytest.raises(InvalidTransition):
        next_state(S.INJECTING, E.START_INJECTION)


def test_crash_during_injection_is_never_replayed_without_the_user() -> None:
    assert next_state(S.INJECTING, E.CRASH_RECOVERED) is S.UNKNOWN
    reachable_without_user = {next_state(S.UNKNOWN, e) for e in (E.CONFIRM_DELIVERED, E.REJECT)}
    assert S.INJECTING not in reachable_without_user
    with pytest.raises(InvalidTransition):
        next_state(S.UNKNOWN, E.START_INJECTION)


def test_only_approved_commands_can_start_injection() -> None:
    starters = {state for (state, event) in TRANSITIONS if event is E.START_INJECTION}
    assert starters == {S.APPROVED}


def test_finished_commands_take_no_more_steps() -> None:
    for state in (S.INJECTED, S.REJECTED, S.EXPIRED):
        assert not [event for (s, event) in TRANSITIONS if s is state]


def test_expiry_applies_only_to_waiting_commands() -> None:
    created = datetime(2026, 1, 1, 12, 0)
    ttl = timedelta(minutes=30)
    assert is_expired(S.QUEUED, created, ttl, created + ttl)
    assert not is_expired(S.QUEUED, created, ttl, created + ttl - timedelta(seconds=1))
    assert not is_expired(S.INJECTING, created, ttl, created + 10 * ttl)
    assert not is_expired(S.INJECTED, created, ttl, created + 10 * ttl)


@pytest.mark.parametrize(
    ("agent", "empty", "since_key", "ready", "reason"),
    [
        ("idle", True, 60.0, True, ""),
        ("busy", True, 60.0, False, "agent is busy"),
        ("starting", True, 60.0, False, "agent is starting"),
        ("waiting", True, 60.0, False, "agent is waiting for a permission answer"),
        ("idle", True, 1.0, False, "you are typing in the pane"),
        ("idle", False, 60.0, False, "the agent's prompt line is not empty"),
    ],
)
def test_injection_waits_for_an_idle_agent_and_a_quiet_keyboard(
    agent: str, empty: bool, since_key: float, ready: bool, reason: str
) -> None:
    readiness = injection_readiness(agent, prompt_line_empty=empty, seconds_since_last_key=since_key)
    assert readiness.ready is ready
    assert readiness.reason == reason
