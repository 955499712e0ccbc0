"""Reading a reply as a permission answer, and finding the option of the dialog shown now that gives it."""

from __future__ import annotations

import pytest

from taskping_tui.inbound.permission import dialog_key, option_for, permission_answer
from tests.support.questions import DATABASE, FRAMEWORK

DIALOG = {1: "Yes", 2: "Yes, and always allow access to project/ from this project", 3: "No"}
DIALOG_NO_ALWAYS = {1: "Yes", 2: "No, and tell Claude what to do differently (esc)"}


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("yes", "yes"),
        ("Yes!", "yes"),
        ("1", "yes"),
        ("是", "yes"),
        ("好的", "yes"),
        ("可以。", "yes"),
        ("always", "always"),
        ("2", "always"),
        ("no", "no"),
        ("3", "no"),
        ("否", "no"),
        ("不", "no"),
        ("yes please run the tests", None),
        ("no idea, explain", None),
        ("", None),
    ],
)
def test_permission_answers_in_english_and_chinese(text: str, answer: str | None) -> None:
    assert permission_answer(text) == answer


def test_answers_map_to_the_option_shown_now() -> None:
    assert option_for("yes", DIALOG) == 1
    assert option_for("always", DIALOG) == 2
    assert option_for("no", DIALOG) == 3
    assert option_for("no", DIALOG_NO_ALWAYS) == 2
    assert option_for("always", DIALOG_NO_ALWAYS) is None


def test_a_dialog_key_names_the_tool_call_not_how_its_json_was_ordered() -> None:
    asked = dialog_key("AskUserQuestion", {"questions": [DATABASE]})
    assert asked.startswith("AskUserQuestion:")
    assert asked == dialog_key("AskUserQuestion", {"questions": [dict(reversed(list(DATABASE.items())))]})
    assert asked != dialog_key("AskUserQuestion", {"questions": [FRAMEWORK]})
    assert dialog_key("Bash", {"command": "ls"}) != dialog_key("Bash", {"command": "rm -rf build"})
    assert dialog_key("", {"command": "ls"}) == ""
