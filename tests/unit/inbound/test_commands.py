"""The command state machine: which steps a command may take, and when it may be typed."""

from __future__ import annotations

import pytest

from taskping_tui.inbound.commands import (
    CAN_EXPIRE,
    TRANSITIONS,
    InvalidTransition,
    allows,
    can_move,
    initial_state,
    injection_readiness,
    needs_confirmation,
    next_state,
    sources_by_target,
)
from taskping_tui.inbound.commands import (
    CommandEvent as E,
)
from taskping_tui.inbound.commands import (
    CommandState as S,
)


@pytest.mark.parametrize(
    ("verdict", "approval", "state"),
    [
        ("accepted", "auto", S.APPROVED),
        ("accepted", "manual", S.QUEUED),
        ("blocked", "auto", S.BLOCKED),
        ("blocked", "manual", S.BLOCKED),
    ],
)
def test_where_a_command_starts(verdict: str, approval: str, state: S) -> None:
    assert initial_state(verdict, approval) is state


def test_rejected_mail_never_becomes_a_command() -> None:
    with pytest.raises(ValueError, match="not 'rejected'"):
        initial_state("rejected", "auto")


def test_happy_path_from_blocked_to_injected() -> None:
    state = S.BLOCKED
    assert needs_confirmation(state)
    for event, expected in [(E.APPROVE, S.APPROVED), (E.START_INJECTION, S.INJECTING), (E.INJECTION_DONE, S.INJECTED)]:
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
    assert {state for (state, event) in TRANSITIONS if event is E.EXPIRE} == CAN_EXPIRE
    assert {state for state in S if can_move(state)} == CAN_EXPIRE


def test_the_keys_a_command_offers_follow_its_transitions() -> None:
    """What the Commands panel offers: approve a waiting, failed or unknown command; reject any not done."""
    assert {state for state in S if allows(state, E.APPROVE)} == {S.QUEUED, S.BLOCKED, S.FAILED, S.UNKNOWN}
    assert {state for state in S if allows(state, E.REJECT)} == {S.QUEUED, S.BLOCKED, S.APPROVED, S.FAILED, S.UNKNOWN}
    assert not any(allows(state, event) for state in (S.INJECTED, S.REJECTED, S.EXPIRED) for event in E)


def test_sources_by_target_inverts_the_transitions_of_one_event() -> None:
    assert sources_by_target(E.APPROVE) == {S.APPROVED: [S.QUEUED, S.BLOCKED, S.UNKNOWN, S.FAILED]}
    assert sources_by_target(E.START_INJECTION) == {S.INJECTING: [S.APPROVED]}


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
