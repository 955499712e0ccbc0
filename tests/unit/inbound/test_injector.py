"""Typing commands into the agent: only when it may, only once, and permission answers by the dialog."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from taskping_tui.agent.question import AgentQuestion, QuestionOption
from taskping_tui.inbound.injector import (
    PERMISSION_GONE,
    QUESTION_GONE,
    QUESTION_STEP_PAUSE,
    AgentView,
    Injector,
    plan_injection,
)
from taskping_tui.store import NewInboundMail, Store

DIALOG = {1: "Yes", 2: "Yes, and always allow access to project/ from this project", 3: "No"}
DIALOG_NO_ALWAYS = {1: "Yes", 2: "No, and tell Claude what to do differently (esc)"}
IDLE = AgentView(state="idle", prompt_text="", bracketed_paste=True)


def test_plan_types_a_prompt_as_paste_then_waits_for_enter() -> None:
    plan = plan_injection("fix the tests\nthen commit", IDLE)
    assert plan.action == "type"
    # Inside a bracketed paste, newlines travel as CR exactly as a real terminal pastes them.
    assert plan.keys == b"\x1b[200~fix the tests\rthen commit\x1b[201~"
    plain = plan_injection("a\r\nb", AgentView(state="idle", prompt_text=""))
    assert plain.keys == b"a\nb"


@pytest.mark.parametrize(
    ("view", "reason"),
    [
        (AgentView(state="busy", prompt_text=""), "agent is busy"),
        (AgentView(state="idle", prompt_text="half-typed"), "the agent's prompt line is not empty"),
        (AgentView(state="idle", prompt_text="", seconds_since_key=1.0), "you are typing in the pane"),
        (
            AgentView(state="waiting", prompt_text=None, dialog_options=DIALOG),
            "agent is waiting for a permission answer; this is not one",
        ),
    ],
)
def test_plan_waits_and_says_why(view: AgentView, reason: str) -> None:
    plan = plan_injection("run the linter", view)
    assert (plan.action, plan.reason) == ("wait", reason)


def test_plan_answers_a_dialog_with_the_option_number() -> None:
    waiting = AgentView(state="waiting", prompt_text=None, dialog_options=DIALOG)
    assert plan_injection("yes", waiting).keys == b"1"
    assert plan_injection("不", waiting).keys == b"3"
    drop = plan_injection("always", AgentView(state="waiting", prompt_text=None, dialog_options=DIALOG_NO_ALWAYS))
    assert drop.action == "drop"
    assert plan_injection("yes", IDLE).action == "drop"


def store_with(tmp_path: Path, *commands: str, state: str = "approved") -> Store:
    store = Store.open(tmp_path / "store.sqlite3")
    for index, text in enumerate(commands):
        store.record_inbound_mail(
            NewInboundMail(
                verdict="accepted",
                received_at=1000.0 + index,
                message_id=f"<m{index}@x>",
                sender="me@example.com",
                command=text,
            ),
            command_state=state,
        )
    return store


async def no_sleep(_seconds: float) -> None:
    return None


async def test_injector_types_each_command_once_in_queue_order(tmp_path: Path) -> None:
    store = store_with(tmp_path, "first", "second")
    written: list[bytes] = []
    injector = Injector(store, written.append, sleep=no_sleep)
    first = await injector.step(IDLE)
    assert first.command is not None and first.command.state == "injected"
    assert written == [b"\x1b[200~first\x1b[201~", b"\r"]
    await injector.step(IDLE)
    await injector.step(IDLE)
    assert written[2:] == [b"\x1b[200~second\x1b[201~", b"\r"]
    assert [row.state for row in store.list_commands()] == ["injected", "injected"]


async def test_injector_leaves_the_command_waiting_while_the_agent_is_busy(tmp_path: Path) -> None:
    store = store_with(tmp_path, "later")
    written: list[bytes] = []
    step = await Injector(store, written.append, sleep=no_sleep).step(AgentView(state="busy", prompt_text=""))
    assert step.plan is not None and step.plan.reason == "agent is busy"
    assert written == []
    assert store.list_commands()[0].state == "approved"


async def test_write_failure_marks_the_command_failed_not_lost(tmp_path: Path) -> None:
    store = store_with(tmp_path, "doomed")

    def broken(_data: bytes) -> None:
        raise OSError(5, "Input/output error")

    step = await Injector(store, broken, sleep=no_sleep).step(IDLE)
    assert step.command is not None and step.command.state == "failed"
    assert "could not write to the agent" in step.command.note


def test_a_crash_mid_injection_is_never_replayed(tmp_path: Path) -> None:
    store = store_with(tmp_path, "once only")
    (command,) = store.list_commands()
    from taskping_tui.inbound.commands import CommandEvent

    store.apply_command_event(command.id, CommandEvent.START_INJECTION)
    store.close()
    reopened = Store.open(tmp_path / "store.sqlite3")
    assert reopened.list_commands()[0].state == "unknown"
    assert Injector(reopened, lambda _b: None).next_command() is None


async def test_queued_and_blocked_commands_are_never_typed(tmp_path: Path) -> None:
    store = store_with(tmp_path, "needs approval", state="queued")
    written: list[bytes] = []
    step = await Injector(store, written.append, sleep=no_sleep).step(IDLE)
    assert step.command is None and written == []


async def test_commands_of_another_apps_session_are_left_alone(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store.sqlite3")
    for session, text in (("theirs", "their command"), ("ours", "our command")):
        store.record_inbound_mail(
            NewInboundMail(
                verdict="accepted",
                received_at=1.0,
                message_id=f"<{session}@x>",
                sender="me@example.com",
                command=text,
                session_id=session,
            ),
            command_state="approved",
        )
    written: list[bytes] = []
    step = await Injector(store, written.append, sessions=lambda: {"ours"}, sleep=no_sleep).step(IDLE)
    assert step.command is not None and step.command.text == "our command"
    assert written[0] == b"\x1b[200~our command\x1b[201~"
    assert await Injector(store, written.append, sessions=lambda: {"ours"}, sleep=no_sleep).step(IDLE) == type(step)(
        None, None
    )


QUESTION = AgentQuestion(
    "Which database should the service use?",
    "Database",
    (QuestionOption("PostgreSQL", "relational"), QuestionOption("SQLite", "one file")),
)
QUESTION_ON_SCREEN = {1: "PostgreSQL", 2: "SQLite", 3: "Type something.", 4: "Chat about this"}
ASKING = AgentView(state="waiting", prompt_text=None, dialog_options=QUESTION_ON_SCREEN, questions=(QUESTION,))


@pytest.mark.parametrize("reply", ["2", "2.", "sqlite", "SQLite!", " SQLite "])
def test_a_reply_naming_an_option_presses_its_number(reply: str) -> None:
    plan = plan_injection(reply, ASKING)
    assert (plan.action, plan.keys, plan.then) == ("answer", b"2", ())
    assert plan.note == "answered Claude's question: SQLite"


@pytest.mark.parametrize(
    ("reply", "typed"), [("use DuckDB\ninstead", b"use DuckDB instead"), ("yes", b"yes"), ("3", b"3")]
)
def test_any_other_reply_goes_into_type_something(reply: str, typed: bytes) -> None:
    plan = plan_injection(reply, ASKING)
    assert (plan.action, plan.keys, plan.then) == ("answer", b"3", (typed, b"\r"))


def test_a_question_answer_waits_for_its_own_dialog() -> None:
    hidden = AgentView(state="waiting", prompt_text=None, questions=(QUESTION,))
    assert plan_injection("2", hidden).reason == "Claude's question is not on screen yet"
    other = AgentView(state="waiting", prompt_text=None, dialog_options={1: "Yes", 2: "No"}, questions=(QUESTION,))
    assert plan_injection("2", other).reason == "the dialog on screen is not the question that was asked"
    assert plan_injection("free words", other).action == "wait"


def test_a_question_for_the_keyboard_drops_the_reply_and_says_so() -> None:
    view = AgentView(state="waiting", prompt_text=None, question_needs_keyboard=True)
    plan = plan_injection("Auth and Billing", view)
    assert (plan.action, plan.reason) == (
        "drop",
        "Claude's question lets you pick several answers: answer it at the keyboard",
    )


FRAMEWORK = AgentQuestion(
    "Which web framework?", "Framework", (QuestionOption("FastAPI"), QuestionOption("Flask"), QuestionOption("Django"))
)
ASKING_TWO = AgentView(
    state="waiting", prompt_text=None, dialog_options=QUESTION_ON_SCREEN, questions=(QUESTION, FRAMEWORK)
)


def test_several_questions_take_one_answer_per_line_then_submit() -> None:
    plan = plan_injection("SQLite\n\n  Bottle, not Flask  ", ASKING_TWO)
    assert plan.action == "answer" and plan.pause >= 0.3
    assert (plan.keys, plan.then) == (b"2", (b"4", b"Bottle, not Flask", b"\r", b"1"))
    assert plan.note == "answered Claude's questions: SQLite; in its own words"
    assert plan_injection("1\n3", ASKING_TWO).then == (b"3", b"1")


@pytest.mark.parametrize("reply", ["SQLite", "SQLite\nDjango\nand hurry"])
def test_several_questions_with_the_wrong_number_of_answers_are_dropped(reply: str) -> None:
    plan = plan_injection(reply, ASKING_TWO)
    assert (plan.action, plan.reason) == ("drop", "Claude asks 2 questions: reply with one answer per line, in order")


async def test_a_free_text_answer_is_typed_after_its_row_is_picked(tmp_path: Path) -> None:
    store = store_with(tmp_path, "use DuckDB instead")
    written: list[bytes] = []
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    step = await Injector(store, written.append, sleep=sleep, submit_delay=0.1).step(ASKING)
    assert written == [b"3", b"use DuckDB instead", b"\r"] and pauses == [QUESTION_STEP_PAUSE] * 2
    assert step.command is not None and step.command.state == "injected"


def test_a_reply_to_a_question_no_longer_asked_is_not_typed_at_all() -> None:
    """Answered at the keyboard (or lost with a restart), a held "SQLite" would otherwise become a prompt."""
    idle = AgentView(state="idle", prompt_text="", seconds_since_key=60.0)
    asked = dataclasses.replace(ASKING, dialog_key="AskUserQuestion:k1")
    for view in (idle, dataclasses.replace(asked, dialog_key="AskUserQuestion:k2")):  # gone, or another one now
        plan = plan_injection("SQLite", view, answers_dialog="AskUserQuestion:k1")
        assert (plan.action, plan.reason) == ("drop", QUESTION_GONE)
    assert plan_injection("SQLite", asked, answers_dialog="AskUserQuestion:k1").keys == b"2"
    assert plan_injection("SQLite", idle).action == "type"  # a reply to any other mail is a prompt


async def test_the_injector_rejects_a_held_answer_whose_question_is_gone(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store.sqlite3")
    store.record_inbound_mail(
        NewInboundMail(verdict="accepted", received_at=1.0, command="SQLite", answers_dialog="AskUserQuestion:k1"),
        command_state="approved",
    )
    written: list[bytes] = []
    step = await Injector(store, written.append, sleep=no_sleep).step(AgentView(state="idle", prompt_text=""))
    assert written == []
    assert step.command is not None and (step.command.state, step.command.note) == ("rejected", QUESTION_GONE)


def test_a_yes_to_a_permission_mail_never_answers_another_dialog() -> None:
    """Answered at the keyboard, then Claude asks for something else: the late "yes" must not grant that."""
    other = AgentView(state="waiting", prompt_text=None, dialog_options=DIALOG, dialog_key="Bash:git-push")
    plan = plan_injection("yes", other, answers_dialog="Bash:touch-file")
    assert (plan.action, plan.reason) == ("drop", PERMISSION_GONE)
    assert plan_injection("yes", dataclasses.replace(other, dialog_key="Bash:touch-file")).keys == b"1"
    idle = AgentView(state="idle", prompt_text="", seconds_since_key=60.0)
    assert plan_injection("run the tests instead", idle, answers_dialog="Bash:touch-file").action == "type"
