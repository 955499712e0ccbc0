"""The agent state machine: one notification per turn, permission waits, Esc, exit, silence fallback.

Event payloads mirror what Claude Code 2.1.197 really sends (recorded in tests/functional/test_claude_hooks.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from taskping_tui.agent.events import HookEvent, parse_hook_event
from taskping_tui.agent.state import (
    AgentState,
    AgentTracker,
    NotificationKind,
    TrackerSettings,
    read_last_assistant_text,
    title_kind,
)

SESSION = "3c36439f-c878-476a-bea5-eb09c398698f"
IDLE_TITLE = "✳ Claude Code"
BUSY_TITLE = "⠂ Claude Code"


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def hook(name: str, **fields: Any) -> HookEvent:
    payload = {
        "session_id": SESSION,
        "transcript_path": "/nonexistent.jsonl",
        "cwd": "/home/u/proj",
        "hook_event_name": name,
        **fields,
    }
    event = parse_hook_event(payload)
    assert event is not None
    return event


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def tracker(clock: FakeClock) -> AgentTracker:
    return AgentTracker(is_claude=True, clock=clock, transcript_reader=lambda path: None)


def start_session(tracker: AgentTracker) -> None:
    tracker.on_title(IDLE_TITLE)
    tracker.on_hook(hook("SessionStart", source="startup"))


def test_starts_in_starting_and_becomes_idle_when_the_prompt_is_ready(tracker: AgentTracker) -> None:
    assert tracker.state is AgentState.STARTING
    assert tracker.on_hook(hook("SessionStart", source="startup")) == []
    assert tracker.state is AgentState.IDLE
    assert tracker.session_id == SESSION and tracker.cwd == "/home/u/proj"


def test_idle_title_alone_also_ends_starting(tracker: AgentTracker) -> None:
    tracker.on_title(IDLE_TITLE)
    assert tracker.state is AgentState.IDLE


def test_a_turn_gives_busy_then_idle_and_one_turn_finished_with_the_facts(
    tracker: AgentTracker, clock: FakeClock
) -> None:
    start_session(tracker)
    assert tracker.on_hook(hook("UserPromptSubmit", prompt="say hello")) == []
    assert tracker.state is AgentState.BUSY
    clock.advance(3)
    (note,) = tracker.on_hook(hook("Stop", stop_hook_active=False, last_assistant_message="Hello from the mock"))
    assert tracker.state is AgentState.IDLE
    assert note.kind is NotificationKind.TURN_FINISHED
    assert note.prompt == "say hello"
    assert note.last_assistant_message == "Hello from the mock"
    assert note.session_id == SESSION and note.cwd == "/home/u/proj"
    assert note.time == clock.now
    assert "Hello from the mock" in note.summary and "\n" not in note.summary


def test_repeated_stop_in_the_same_turn_is_debounced(tracker: AgentTracker, clock: FakeClock) -> None:
    start_session(tracker)
    tracker.on_hook(hook("UserPromptSubmit", prompt="p"))
    first = tracker.on_hook(hook("Stop", last_assistant_message="A"))
    clock.advance(0.5)
    again = tracker.on_hook(hook("Stop", last_assistant_message="A"))
    clock.advance(10)
    same_answer_later = tracker.on_hook(hook("Stop", last_assistant_message="A"))
    assert len(first) == 1 and again == [] and same_answer_later == []


def test_each_new_turn_gets_its_own_notification(tracker: AgentTracker, clock: FakeClock) -> None:
    start_session(tracker)
    notes = []
    for index in range(3):
        tracker.on_hook(hook("UserPromptSubmit", prompt=f"p{index}"))
        clock.advance(0.2)  # faster than the debounce window: still separate turns
        notes += tracker.on_hook(hook("Stop", last_assistant_message="same answer"))
    assert [n.prompt for n in notes] == ["p0", "p1", "p2"]


def test_stop_with_stop_hook_active_is_skipped(tracker: AgentTracker) -> None:
    start_session(tracker)
    tracker.on_hook(hook("UserPromptSubmit", prompt="p"))
    assert tracker.on_hook(hook("Stop", stop_hook_active=True, last_assistant_message="not yet")) == []
    assert tracker.state is AgentState.BUSY
    (note,) = tracker.on_hook(hook("Stop", stop_hook_active=False, last_assistant_message="done"))
    assert note.last_assistant_message == "done"


def test_stop_without_message_falls_back_to_the_transcript(clock: FakeClock, tmp_path: Path) -> None:
    transcript = tmp_path / "t.jsonl"
    lines = [
        {"type": "user", "message": {"role": "user", "content": "say hello"}},
        {"type": "assistant", "message": {"role": "assistant", "content": [{"type": "text", "text": "First"}]}},
        {
            "type": "assistant",
            "message": {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "Bash", "input": {}}]},
        },
        {"type": "assistant", "message": {"role": "assistant", "content": [{"type": "text", "text": "Final answer"}]}},
        {"type": "system", "subtype": "stop_hook_summary"},
    ]
    transcript.write_text("\n".join(json.dumps(line) for line in lines) + "\n{broken")
    tracker = AgentTracker(is_claude=True, clock=clock)
    start_session(tracker)
    tracker.on_hook(hook("UserPromptSubmit", prompt="p"))
    (note,) = tracker.on_hook(hook("Stop", transcript_path=str(transcript)))
    assert note.last_assistant_message == "Final answer"
    assert note.transcript_path == str(transcript)


def test_transcript_reader_tolerates_a_missing_file(tmp_path: Path) -> None:
    assert read_last_assistant_text(str(tmp_path / "gone.jsonl")) is None


def test_stop_failure_gives_an_api_error_with_the_error(tracker: AgentTracker) -> None:
    start_session(tracker)
    tracker.on_hook(hook("UserPromptSubmit", prompt="make it fail"))
    (note,) = tracker.on_hook(hook("StopFailure", error="server_error", last_assistant_message="API Error: 500 boom."))
    assert tracker.state is AgentState.IDLE
    assert note.kind is NotificationKind.API_ERROR
    assert note.error == "server_error"
    assert note.prompt == "make it fail"
    assert "server_error" in note.summary


def test_permission_request_then_its_late_notification_gives_one_needs_permission(
    tracker: AgentTracker, clock: FakeClock
) -> None:
    start_session(tracker)
    tracker.on_hook(hook("UserPromptSubmit", prompt="run it"))
    tracker.on_title(IDLE_TITLE)  # 2.1.197 shows ✳ while the dialog is open, before the hook lands
    (note,) = tracker.on_hook(
        hook(
            "PermissionRequest", tool_name="Bash", tool_input={"command": "touch f.txt", "description": "Create a file"}
        )
    )
    assert tracker.state is AgentState.WAITING
    assert note.kind is NotificationKind.NEEDS_PERMISSION
    assert note.tool_name == "Bash" and note.tool_input == {"command": "touch f.txt", "description": "Create a file"}
    assert "touch f.txt" in note.summary
    clock.advance(6)
    assert (
        tracker.on_hook(
            hook("Notification", notification_type="permission_prompt", message="Claude needs your permission")
        )
        == []
    )
    clock.advance(10)
    assert tracker.tick() == []
    assert tracker.state is AgentState.WAITING  # the idle title during a dialog is not an interrupt


def test_late_permission_notification_after_the_dialog_was_answered_is_not_a_new_wait(
    tracker: AgentTracker, clock: FakeClock
) -> None:
    start_session(tracker)
    tracker.on_hook(hook("UserPromptSubmit", prompt="run it"))
    tracker.on_hook(hook("PermissionRequest", tool_name="Bash", tool_input={"command": "ls"}))
    clock.advance(2)
    tracker.on_title(BUSY_TITLE)  # the user said yes: the agent works again
    assert tracker.state is AgentState.BUSY
    clock.advance(4)
    assert tracker.on_hook(hook("Notification", notification_type="permission_prompt")) == []
    assert tracker.state is AgentState.BUSY


def test_permission_prompt_notification_alone_still_means_waiting(tracker: AgentTracker) -> None:
    start_session(tracker)
    tracker.on_hook(hook("UserPromptSubmit", prompt="run it"))
    (note,) = tracker.on_hook(
        hook("Notification", notification_type="permission_prompt", message="Claude needs your permission to use Bash")
    )
    assert tracker.state is AgentState.WAITING
    assert note.kind is NotificationKind.NEEDS_PERMISSION
    assert "to use Bash" in note.summary


def test_a_second_dialog_in_the_same_turn_is_notified_again(tracker: AgentTracker, clock: FakeClock) -> None:
    start_session(tracker)
    tracker.on_hook(hook("UserPromptSubmit", prompt="two tools"))
    first = tracker.on_hook(hook("PermissionRequest", tool_name="Bash", tool_input={"command": "a"}))
    tracker.on_title(BUSY_TITLE)
    clock.advance(1)
    second = tracker.on_hook(hook("PermissionRequest", tool_name="Write", tool_input={"file_path": "/x"}))
    assert len(first) == 1 and len(second) == 1 and second[0].tool_name == "Write"


def test_waiting_ends_when_the_dialog_leaves_the_screen_without_a_hook(tracker: AgentTracker, clock: FakeClock) -> None:
    start_session(tracker)
    tracker.on_hook(hook("UserPromptSubmit", prompt="run it"))
    tracker.on_hook(hook("PermissionRequest", tool_name="Bash", tool_input={"command": "x"}))
    assert tracker.tick(permission_dialog_visible=False) == []  # hook may land before the dialog is drawn
    clock.advance(0.5)
    tracker.tick(permission_dialog_visible=True)
    clock.advance(5)
    tracker.tick(permission_dialog_visible=None)  # unknown: no change
    assert tracker.state is AgentState.WAITING
    tracker.tick(permission_dialog_visible=False)  # the user answered "No"
    clock.advance(TrackerSettings().dialog_gone_grace)
    assert tracker.next_deadline() == pytest.approx(clock.now)
    assert tracker.tick(permission_dialog_visible=False) == []
    assert tracker.state is AgentState.IDLE


def test_title_changes_drive_busy_and_waiting_returns_to_busy(tracker: AgentTracker) -> None:
    start_session(tracker)
    tracker.on_title(BUSY_TITLE)
    assert tracker.state is AgentState.BUSY
    tracker.on_hook(hook("PermissionRequest", tool_name="Bash", tool_input={"command": "x"}))
    tracker.on_title("⠐ Claude Code")
    assert tracker.state is AgentState.BUSY


def test_esc_interrupt_is_seen_through_the_title_quietly(tracker: AgentTracker, clock: FakeClock) -> None:
    start_session(tracker)
    tracker.on_hook(hook("UserPromptSubmit", prompt="slow one"))
    tracker.on_title(BUSY_TITLE)
    clock.advance(2)
    tracker.on_title(IDLE_TITLE)  # Esc: no hook at all
    assert tracker.state is AgentState.BUSY  # not yet: a Stop hook may still be on its way
    assert tracker.next_deadline() == pytest.approx(clock.now + TrackerSettings().title_idle_grace)
    clock.advance(TrackerSettings().title_idle_grace)
    assert tracker.tick() == []
    assert tracker.state is AgentState.IDLE
    assert tracker.interrupted_turns == 1
    assert tracker.next_deadline() is None


def test_stop_arriving_after_the_idle_title_wins_over_the_interrupt_guess(
    tracker: AgentTracker, clock: FakeClock
) -> None:
    start_session(tracker)
    tracker.on_hook(hook("UserPromptSubmit", prompt="p"))
    tracker.on_title(IDLE_TITLE)
    clock.advance(0.3)
    (note,) = tracker.on_hook(hook("Stop", last_assistant_message="answer"))
    clock.advance(5)
    assert tracker.tick() == []
    assert note.kind is NotificationKind.TURN_FINISHED and tracker.interrupted_turns == 0


def test_a_very_late_stop_after_an_assumed_interrupt_still_notifies(tracker: AgentTracker, clock: FakeClock) -> None:
    start_session(tracker)
    tracker.on_hook(hook("UserPromptSubmit", prompt="p"))
    tracker.on_title(IDLE_TITLE)
    clock.advance(TrackerSettings().title_idle_grace + 0.1)
    tracker.tick()
    (note,) = tracker.on_hook(hook("Stop", last_assistant_message="answer"))
    assert note.last_assistant_message == "answer"


def test_busy_title_after_idle_starts_a_new_turn_even_without_the_prompt_hook(
    tracker: AgentTracker, clock: FakeClock
) -> None:
    start_session(tracker)
    tracker.on_hook(hook("UserPromptSubmit", prompt="one"))
    assert len(tracker.on_hook(hook("Stop", last_assistant_message="first"))) == 1
    clock.advance(0.5)
    tracker.on_title(BUSY_TITLE)
    assert len(tracker.on_hook(hook("Stop", last_assistant_message="second"))) == 1


def test_idle_prompt_notification_settles_a_busy_state_without_notifying(tracker: AgentTracker) -> None:
    start_session(tracker)
    tracker.on_title(BUSY_TITLE)
    assert tracker.on_hook(hook("Notification", notification_type="idle_prompt")) == []
    assert tracker.state is AgentState.IDLE


def test_child_exit_gives_one_exited_notification_and_freezes_the_state(tracker: AgentTracker) -> None:
    start_session(tracker)
    tracker.on_hook(hook("SessionEnd", reason="clear"))
    assert tracker.state is AgentState.IDLE  # SessionEnd also fires on /clear: only exit counts
    (note,) = tracker.on_exit(0)
    assert note.kind is NotificationKind.EXITED and note.exit_code == 0 and "code 0" in note.summary
    assert tracker.state is AgentState.EXITED
    assert tracker.on_exit(0) == []
    assert tracker.on_hook(hook("Stop", last_assistant_message="x")) == []
    tracker.on_title(BUSY_TITLE)
    assert tracker.state is AgentState.EXITED


def test_leaving_claude_code_on_purpose_is_no_news(tracker: AgentTracker) -> None:
    """/exit or Ctrl+D twice (SessionEnd "prompt_input_exit"): no "Agent exited" mail; the state still ends."""
    start_session(tracker)
    tracker.on_hook(hook("SessionEnd", reason="prompt_input_exit"))
    assert tracker.on_exit(0) == []
    assert tracker.state is AgentState.EXITED


def test_a_restart_by_the_app_is_no_news_but_a_crash_is(clock: FakeClock) -> None:
    restarted = AgentTracker(is_claude=True, clock=clock, transcript_reader=lambda path: None)
    start_session(restarted)
    restarted.expect_exit()
    assert restarted.on_exit(-15) == []
    crashed = AgentTracker(is_claude=True, clock=clock, transcript_reader=lambda path: None)
    start_session(crashed)
    (note,) = crashed.on_exit(1, user_typed_last=True)  # a failure right after a key is still news
    assert note.kind is NotificationKind.EXITED


def test_a_plain_agent_left_with_exit_right_after_typing_is_no_news(clock: FakeClock) -> None:
    shell = AgentTracker(is_claude=False, clock=clock)
    assert shell.on_exit(0, user_typed_last=True) == []
    killed = AgentTracker(is_claude=False, clock=clock)
    (note,) = killed.on_exit(137, user_typed_last=True)
    assert "code 137" in note.summary
    idle_exit = AgentTracker(is_claude=False, clock=clock)
    assert len(idle_exit.on_exit(0)) == 1  # nobody typed: it ended on its own


def test_session_id_follows_a_clear(tracker: AgentTracker) -> None:
    start_session(tracker)
    tracker.on_hook(parse_hook_event({"hook_event_name": "SessionStart", "session_id": "new-one", "source": "clear"}))
    assert tracker.session_id == "new-one"


def test_state_change_callback_sees_every_transition(clock: FakeClock) -> None:
    changes: list[tuple[AgentState, AgentState]] = []
    tracker = AgentTracker(
        is_claude=True,
        clock=clock,
        transcript_reader=lambda path: None,
        on_state_change=lambda old, new: changes.append((old, new)),
    )
    start_session(tracker)
    tracker.on_hook(hook("UserPromptSubmit", prompt="p"))
    tracker.on_hook(hook("PermissionRequest", tool_name="Bash", tool_input={"command": "x"}))
    tracker.on_hook(hook("Stop", last_assistant_message="y"))
    tracker.on_exit(1)
    assert changes == [
        (AgentState.STARTING, AgentState.IDLE),
        (AgentState.IDLE, AgentState.BUSY),
        (AgentState.BUSY, AgentState.WAITING),
        (AgentState.WAITING, AgentState.IDLE),
        (AgentState.IDLE, AgentState.EXITED),
    ]


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("✳ Claude Code", AgentState.IDLE),
        ("⠂ Claude Code", AgentState.BUSY),
        ("⠐ Claude Code", AgentState.BUSY),
        ("✻ Claude Code", AgentState.BUSY),
        ("", None),
        ("bash: ~/proj", None),
    ],
)
def test_title_classification(title: str, expected: AgentState | None) -> None:
    assert title_kind(title) is expected


# -- agents without hooks: output silence ----------------------------------------------------------------


@pytest.fixture
def plain(clock: FakeClock) -> AgentTracker:
    return AgentTracker(is_claude=False, clock=clock, settings=TrackerSettings(silence_seconds=3.0))


def test_silence_fallback_busy_while_output_flows_idle_after_quiet_at_a_prompt(
    plain: AgentTracker, clock: FakeClock
) -> None:
    plain.on_output(40)  # shell start-up and first prompt
    clock.advance(3)
    assert plain.tick(cursor_at_prompt=True) == []  # start-up is not a turn
    assert plain.state is AgentState.IDLE
    for _ in range(5):
        plain.on_output(400)
        clock.advance(1)
    assert plain.state is AgentState.BUSY
    assert plain.tick(cursor_at_prompt=True) == []  # only 1 s quiet
    clock.advance(2)
    assert plain.tick(cursor_at_prompt=False) == []  # quiet, but the cursor is not at a prompt
    assert plain.state is AgentState.BUSY
    (note,) = plain.tick(cursor_at_prompt=True, screen_excerpt="All 12 tests passed\n$")
    assert plain.state is AgentState.IDLE
    assert note.kind is NotificationKind.TURN_FINISHED
    assert note.last_assistant_message == "All 12 tests passed\n$"
    assert plain.tick(cursor_at_prompt=True) == []


def test_key_echo_does_not_count_as_a_turn(plain: AgentTracker, clock: FakeClock) -> None:
    plain.on_output(40)
    clock.advance(3)
    plain.tick(cursor_at_prompt=True)
    for _ in range(10):
        plain.on_output(1)
        clock.advance(0.2)
    assert plain.state is AgentState.IDLE
    clock.advance(3)
    assert plain.tick(cursor_at_prompt=True) == []


def test_hooks_and_titles_do_not_confuse_the_silence_fallback(plain: AgentTracker, clock: FakeClock) -> None:
    plain.on_output(1000)
    assert plain.state is AgentState.STARTING  # start-up output is not a turn
    clock.advance(3)
    plain.tick(cursor_at_prompt=True)
    plain.on_output(1000)
    assert plain.state is AgentState.BUSY
    assert plain.next_deadline() == pytest.approx(clock.now + 3.0)
    (note,) = plain.on_exit(None)
    assert note.kind is NotificationKind.EXITED and note.summary == "Agent exited"


def test_output_does_not_drive_claude_state(tracker: AgentTracker, clock: FakeClock) -> None:
    start_session(tracker)
    tracker.on_output(10_000)
    clock.advance(60)
    assert tracker.tick(cursor_at_prompt=True) == []
    assert tracker.state is AgentState.IDLE


def test_titles_of_other_agents_do_not_drive_the_state(plain: AgentTracker, clock: FakeClock) -> None:
    plain.on_title("✳ Some Other Tool")
    assert plain.state is AgentState.STARTING
    plain.on_output(1000)
    clock.advance(3)
    assert plain.tick(cursor_at_prompt=True) == []
    assert plain.state is AgentState.IDLE


def test_claudes_question_waits_and_is_summarised_by_the_question(tracker: AgentTracker) -> None:
    start_session(tracker)
    tracker.on_hook(hook("UserPromptSubmit", prompt="set up the service"))
    questions = [{"question": "Which database should the service use?", "options": [{"label": "SQLite"}]}]
    (note,) = tracker.on_hook(
        hook("PermissionRequest", tool_name="AskUserQuestion", tool_input={"questions": questions})
    )
    assert tracker.state is AgentState.WAITING
    assert note.summary == "Asks: Which database should the service use?"
    (two,) = tracker.on_hook(
        hook("PermissionRequest", tool_name="AskUserQuestion", tool_input={"questions": questions * 2})
    )
    assert two.summary == "Asks: Which database should the service use? (+1 more)"
