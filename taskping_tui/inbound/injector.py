"""Typing approved commands into the agent, exactly once.

Each injection is: `approved → injecting` committed, the bytes written, `injecting → injected`
committed. A crash in between leaves `injecting`, which the store turns into `unknown` at the next
start: the user decides, the injector never replays it.

What may be typed depends on what the agent shows right now:
- idle, input box empty, no key pressed for a few seconds → the command, as a bracketed paste when the
  child enabled it, then a separate Enter;
- a permission dialog → only an answer to it: yes / always / no (and their Chinese forms), mapped to the
  number of the option the dialog shows now; anything else waits for the agent to be idle;
- Claude's questions (AskUserQuestion, each a single choice) → the answers, one per line for several:
  an option's number or label picks it, any other text goes into the dialog's "Type something." row.
  A reply to a question mail whose question is no longer asked (answered at the keyboard, or gone with
  a restart) is never typed: as a prompt its answer would read as an instruction. Likewise a yes / no
  to a permission mail whose dialog closed: it must not answer the next dialog, which asks for
  something else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from taskping_tui.agent.question import QUESTION_TOOL, AgentQuestion, picked_number, reply_answers
from taskping_tui.agent.state import AgentState
from taskping_tui.inbound.commands import CommandEvent, CommandState, injection_readiness
from taskping_tui.inbound.permission import option_for, permission_answer
from taskping_tui.store import CommandRow, Store
from taskping_tui.terminal.keys import encode_paste

logger = logging.getLogger(__name__)

TYPING_GRACE_SECONDS = 5.0
SUBMIT_DELAY_SECONDS = 0.15


@dataclass(frozen=True)
class AgentView:
    """What the injector needs to know about the agent at this moment."""

    state: AgentState
    # The text in the agent's input line; None when no input line is drawn (e.g. a dialog replaces it).
    prompt_text: str | None
    dialog_options: dict[int, str] = field(default_factory=dict)
    seconds_since_key: float = 1e9
    bracketed_paste: bool = False
    # Claude's pending questions, when a reply can answer them (then dialog_options are the question dialog's).
    questions: tuple[AgentQuestion, ...] = ()
    # The agent waits on a question a reply cannot answer (several choices).
    question_needs_keyboard: bool = False
    # The dialog the agent waits on (inbound.permission.dialog_key), "" when none.
    dialog_key: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", AgentState(self.state))  # also accept the state's name


class InjectionAction(StrEnum):
    TYPE = "type"  # type the command as a prompt
    ANSWER = "answer"  # answer the dialog on screen (a permission, Claude's question)
    WAIT = "wait"  # not now: keep it approved and say why
    DROP = "drop"  # never: it no longer applies (rejected, with the reason as its note)


@dataclass(frozen=True)
class InjectionPlan:
    action: InjectionAction
    reason: str = ""
    keys: bytes = b""
    then: tuple[bytes, ...] = ()  # more keys, each after a pause (the agent redraws in between)
    pause: float = 0.0  # at least this long between them (the injector's submit delay otherwise)
    note: str = ""  # what was done, for the command's history


def prompt_keys(text: str, bracketed: bool) -> bytes:
    """The command as typed text, without the final Enter."""
    if bracketed:
        return encode_paste(text, bracketed=True)
    # Claude Code (and most line editors in raw mode) take a bare LF as "new line", CR as "submit".
    return text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")


QUESTION_STEP_PAUSE = 0.4  # between a question's answer and the next: the dialog moves on and redraws
SUBMIT_ANSWERS = b"1"  # "1. Submit answers" on the review after several questions


def _same_label(shown: str, label: str) -> bool:
    return bool(shown) and (label.startswith(shown) or shown.startswith(label))  # a long label may wrap


def _answer_keys(answer: str, question: AgentQuestion, number: int | None) -> tuple[bytes, ...]:
    """One question's answer: its option's digit, or the "Type something." digit, the words and Enter."""
    if number is not None:
        return (str(number).encode(),)
    return (str(question.free_text_number).encode(), answer.encode("utf-8"), b"\r")


def plan_question_answer(
    text: str, questions: Sequence[AgentQuestion], options_on_screen: dict[int, str]
) -> InjectionPlan:
    """Keys that answer Claude's ``questions`` with ``text``: one answer, or one per line for several.

    Only when the dialog on screen shows the first question's options (so a digit never lands in
    another dialog); then each answer's keys, and "Submit answers" after several questions.
    """
    if not options_on_screen:
        return InjectionPlan(InjectionAction.WAIT, "Claude's question is not on screen yet")
    answers = reply_answers(text, questions)
    if answers is None:
        reason = f"Claude asks {len(questions)} questions: reply with one answer per line, in order"
        return InjectionPlan(InjectionAction.DROP, reason)
    first = questions[0]
    expected = {number: option.label for number, option in enumerate(first.options, start=1)}
    expected[first.free_text_number] = "Type something"
    if not all(_same_label(options_on_screen.get(row, ""), label) for row, label in expected.items()):
        return InjectionPlan(InjectionAction.WAIT, "the dialog on screen is not the question that was asked")
    picks = [
        (answer, question, picked_number(answer, question)) for answer, question in zip(answers, questions, strict=True)
    ]
    steps = [keys for pick in picks for keys in _answer_keys(*pick)]
    if len(questions) > 1:
        steps.append(SUBMIT_ANSWERS)
    said = "; ".join(
        question.options[number - 1].label if number is not None else "in its own words"
        for _, question, number in picks
    )
    return InjectionPlan(
        InjectionAction.ANSWER,
        keys=steps[0],
        then=tuple(steps[1:]),
        pause=QUESTION_STEP_PAUSE,
        note=f"answered Claude's {'question' if len(questions) == 1 else 'questions'}: {said}",
    )


QUESTION_GONE = (
    "it answers Claude's question, which is no longer asked (answered at the keyboard, or the agent restarted)"
)
PERMISSION_GONE = (
    "it answers a permission dialog that is no longer open (answered at the keyboard, the agent restarted, "
    "or another one is open now)"
)


def plan_injection(
    text: str, view: AgentView, typing_grace: float = TYPING_GRACE_SECONDS, answers_dialog: str = ""
) -> InjectionPlan:
    """What to do with the command ``text`` now; ``answers_dialog`` is the dialog of the mail it replied to."""
    if answers_dialog and answers_dialog != view.dialog_key:
        if answers_dialog.startswith(f"{QUESTION_TOOL}:"):
            return InjectionPlan(InjectionAction.DROP, QUESTION_GONE)
        if permission_answer(text) is not None:  # any other reply is an instruction, typed when idle
            return InjectionPlan(InjectionAction.DROP, PERMISSION_GONE)
    if view.state is AgentState.WAITING and view.questions:
        return plan_question_answer(text, view.questions, view.dialog_options)
    if view.state is AgentState.WAITING and view.question_needs_keyboard:
        reason = "Claude's question lets you pick several answers: answer it at the keyboard"
        return InjectionPlan(InjectionAction.DROP, reason)
    answer = permission_answer(text)
    if view.state is AgentState.WAITING:
        if answer is None:
            return InjectionPlan(InjectionAction.WAIT, "agent is waiting for a permission answer; this is not one")
        if not view.dialog_options:
            return InjectionPlan(InjectionAction.WAIT, "the permission dialog is not on screen yet")
        number = option_for(answer, view.dialog_options)
        if number is None:
            return InjectionPlan(InjectionAction.DROP, f"the dialog on screen offers no {answer!r} option")
        return InjectionPlan(InjectionAction.ANSWER, keys=str(number).encode(), note="answered the permission dialog")
    if answer is not None and view.state is AgentState.IDLE and view.prompt_text == "":
        return InjectionPlan(InjectionAction.DROP, "a permission answer, but no permission dialog is open any more")
    readiness = injection_readiness(
        view.state,
        prompt_line_empty=view.prompt_text == "",
        seconds_since_last_key=view.seconds_since_key,
        typing_grace_seconds=typing_grace,
    )
    if not readiness.ready:
        return InjectionPlan(InjectionAction.WAIT, readiness.reason)
    return InjectionPlan(
        InjectionAction.TYPE, keys=prompt_keys(text, view.bracketed_paste), then=(b"\r",), note="typed into the agent"
    )


@dataclass(frozen=True)
class InjectionStep:
    command: CommandRow | None
    plan: InjectionPlan | None


Writer = Callable[[bytes], None]
Sleep = Callable[[float], Awaitable[None]]


class Injector:
    """Takes the first approved command in queue order and, when the agent allows it, types it once."""

    def __init__(
        self,
        store: Store,
        write: Writer,
        *,
        sessions: Callable[[], Collection[str]] | None = None,
        sleep: Sleep = asyncio.sleep,
        submit_delay: float = SUBMIT_DELAY_SECONDS,
        typing_grace: float = TYPING_GRACE_SECONDS,
    ) -> None:
        self.store = store
        self.write = write
        # The agent sessions this pane hosts: another taskping-tui sharing the store types its own commands.
        self.sessions = sessions
        self.sleep = sleep
        self.submit_delay = submit_delay
        self.typing_grace = typing_grace
        self._busy = False

    def next_command(self) -> CommandRow | None:
        ours = self.sessions() if self.sessions is not None else None
        approved = [
            row
            for row in self.store.pending_commands()
            if row.state is CommandState.APPROVED and (ours is None or row.session_id in ours)
        ]
        return min(approved, key=lambda row: row.position, default=None)

    async def step(self, view: AgentView) -> InjectionStep:
        """One attempt; returns the command looked at and what was decided for it."""
        if self._busy:
            return InjectionStep(None, None)
        command = self.next_command()
        if command is None:
            return InjectionStep(None, None)
        plan = plan_injection(command.text, view, self.typing_grace, command.answers_dialog)
        if plan.action is InjectionAction.WAIT:
            return InjectionStep(command, plan)
        if plan.action is InjectionAction.DROP:
            row = self.store.apply_command_event(command.id, CommandEvent.REJECT, note=plan.reason)
            return InjectionStep(row or command, plan)
        self._busy = True
        try:
            row = await self._inject(command, plan)
        finally:
            self._busy = False
        return InjectionStep(row, plan)

    async def _inject(self, command: CommandRow, plan: InjectionPlan) -> CommandRow | None:
        started = self.store.apply_command_event(command.id, CommandEvent.START_INJECTION)
        if started is None:  # someone else moved it (rejected, expired) since we looked
            return self.store.get_command(command.id)
        try:
            self.write(plan.keys)
            for keys in plan.then:
                await self.sleep(max(self.submit_delay, plan.pause))
                self.write(keys)
        except OSError as error:
            logger.warning("typing command %s into the agent failed: %s", command.id, error)
            return self.store.apply_command_event(
                command.id, CommandEvent.INJECTION_FAILED, note=f"could not write to the agent: {error}"
            )
        return self.store.apply_command_event(command.id, CommandEvent.INJECTION_DONE, note=plan.note)
