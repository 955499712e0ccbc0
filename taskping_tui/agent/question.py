"""Claude Code's AskUserQuestion tool: the questions an agent asks, read from the tool's input.

Claude Code (2.1.197 and 2.1.332) reports the tool through a PermissionRequest hook whose
``tool_input`` is ``{"questions": [{"question", "header", "options": [{"label", "description"}],
"multiSelect"}]}`` (one to four questions) and draws a dialog that numbers a question's options 1..n,
then "n+1. Type something." (free text) and, below a rule, "n+2. Chat about this". Pressing an
option's digit picks it at once; the free-text row takes typed text and Enter. With several questions
each answer moves on to the next one and the last to a review, where "1. Submit answers" sends them.
A multiple-choice question (check boxes toggled with Enter, a Submit row) is left to the keyboard.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

QUESTION_TOOL: Final = "AskUserQuestion"
MAX_TEXT = 500  # a question, header, label or description longer than this is cut (it is shown, not typed)
_ANSWER_PUNCTUATION = re.compile(r"[\s.!?。！？~～]+$")


@dataclass(frozen=True)
class QuestionOption:
    label: str
    description: str = ""


@dataclass(frozen=True)
class AgentQuestion:
    """One question of an AskUserQuestion call."""

    text: str
    header: str = ""
    options: tuple[QuestionOption, ...] = ()
    multi_select: bool = False

    @property
    def free_text_number(self) -> int:
        """The number of the dialog's "Type something." row."""
        return len(self.options) + 1


def _text(value: Any) -> str:
    return " ".join(value.split())[:MAX_TEXT] if isinstance(value, str) else ""


def read_questions(tool_input: Any) -> tuple[AgentQuestion, ...]:
    """The questions in an AskUserQuestion tool input; entries that are not questions are left out."""
    raw = tool_input.get("questions") if isinstance(tool_input, dict) else None
    if not isinstance(raw, list):
        return ()
    questions = []
    for entry in raw:
        if not isinstance(entry, dict) or not _text(entry.get("question")):
            continue
        options = tuple(
            QuestionOption(_text(option.get("label")), _text(option.get("description")))
            for option in entry.get("options") or ()
            if isinstance(option, dict) and _text(option.get("label"))
        )
        questions.append(
            AgentQuestion(
                _text(entry["question"]), _text(entry.get("header")), options, entry.get("multiSelect") is True
            )
        )
    return tuple(questions)


def answerable_by_mail(questions: Sequence[AgentQuestion]) -> bool:
    """One answer each will do: every question a single choice with options."""
    return bool(questions) and all(not question.multi_select and question.options for question in questions)


def mail_answerable_questions(tool_name: str | None, tool_input: Any) -> tuple[AgentQuestion, ...]:
    """The questions a reply can answer, one answer each (see :func:`answerable_by_mail`); () otherwise."""
    questions = read_questions(tool_input) if tool_name == QUESTION_TOOL else ()
    return questions if answerable_by_mail(questions) else ()


def reply_answers(text: str, questions: Sequence[AgentQuestion]) -> list[str] | None:
    """The answers a reply gives: all of it for one question, one per non-empty line for several;
    None when the number of lines does not match the number of questions."""
    if len(questions) == 1:
        return [" ".join(text.split())]
    answers = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    return answers if len(answers) == len(questions) else None


def picked_number(answer: str, question: AgentQuestion) -> int | None:
    """The number of the option ``answer`` names by number or label (any case, trailing punctuation ignored)."""
    wanted = _ANSWER_PUNCTUATION.sub("", " ".join(answer.split())).casefold()
    for number, option in enumerate(question.options, start=1):
        if wanted in (str(number), option.label.casefold()):
            return number
    return None


def picked_option(answer: str, question: AgentQuestion) -> QuestionOption | None:
    """The option ``answer`` names, if any."""
    number = picked_number(answer, question)
    return question.options[number - 1] if number is not None else None
