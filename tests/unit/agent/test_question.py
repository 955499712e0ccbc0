"""Claude's AskUserQuestion: the questions read from the tool input, and which ones a mail can answer."""

from __future__ import annotations

from typing import Any

import pytest

from taskping_tui.agent.question import (
    AgentQuestion,
    QuestionOption,
    mail_answerable_questions,
    picked_option,
    read_questions,
    reply_answers,
)
from tests.support.questions import DATABASE, FEATURES


def test_a_question_is_read_with_its_options_in_order() -> None:
    (question,) = read_questions({"questions": [DATABASE]})
    assert question == AgentQuestion(
        "Which database should the service use?",
        "Database",
        (
            QuestionOption("PostgreSQL", "relational, the team knows it"),
            QuestionOption("SQLite", "one file, no server"),
        ),
    )
    assert question.free_text_number == 3  # "3. Type something." follows the two options


@pytest.mark.parametrize(
    "tool_input",
    [None, "text", {}, {"questions": "x"}, {"questions": [1, {"header": "no question"}, {"question": "  "}]}],
)
def test_input_that_holds_no_question_gives_none(tool_input: Any) -> None:
    assert read_questions(tool_input) == ()


def test_odd_entries_are_skipped_and_long_text_is_cut_to_one_line() -> None:
    entry = {"question": "Pick\none " + "x" * 900, "options": [{"label": "A"}, "B", {"description": "no label"}]}
    (question,) = read_questions({"questions": [entry]})
    assert question.options == (QuestionOption("A"),)
    assert question.text.startswith("Pick one x") and len(question.text) == 500


@pytest.mark.parametrize(
    ("tool_name", "questions", "answerable"),
    [
        ("AskUserQuestion", [DATABASE], True),
        ("AskUserQuestion", [FEATURES], False),  # several choices: check boxes and a Submit row
        ("AskUserQuestion", [DATABASE, DATABASE], True),  # several questions: one answer each, then Submit
        ("AskUserQuestion", [DATABASE, FEATURES], False),
        ("AskUserQuestion", [{"question": "Why?", "options": []}], False),
        ("Bash", [DATABASE], False),
    ],
)
def test_only_single_choice_questions_can_be_answered_by_mail(
    tool_name: str, questions: list[dict[str, Any]], answerable: bool
) -> None:
    assert bool(mail_answerable_questions(tool_name, {"questions": questions})) is answerable


def test_a_reply_gives_one_answer_or_one_per_line() -> None:
    (one,) = read_questions({"questions": [DATABASE]})
    assert reply_answers("use  SQLite\nplease", (one,)) == ["use SQLite please"]
    assert reply_answers("2\n\n  Flask  \n", (one, one)) == ["2", "Flask"]
    assert reply_answers("2", (one, one)) is None


@pytest.mark.parametrize(
    ("answer", "label"),
    [("2", "SQLite"), ("sqlite!", "SQLite"), ("postgresql.", "PostgreSQL"), ("3", None), ("SQL", None)],
)
def test_an_answer_picks_an_option_by_number_or_label(answer: str, label: str | None) -> None:
    (question,) = read_questions({"questions": [DATABASE]})
    picked = picked_option(answer, question)
    assert (picked.label if picked else None) == label
