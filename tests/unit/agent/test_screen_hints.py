"""Reading Claude Code 2.1.197's permission dialog off the screen."""

from __future__ import annotations

import pytest

from taskping_tui.agent.screen_hints import cursor_at_prompt, permission_dialog_visible, question_dialog_options

DIALOG = """\
● Bash(touch made_by_tool.txt)
  ⎿  Waiting…
────────────────────────────────────────
 Bash command
   touch made_by_tool.txt
   Create a file
 Do you want to proceed?
 ❯ 1. Yes
   2. Yes, and always allow access to proj/ from this project
   3. No
 Esc to cancel · Tab to amend · ctrl+e to explain""".splitlines()

AFTER_NO = """\
❯ create
● Bash(touch x.txt)
  ⎿  Interrupted · What should Claude do instead?
────────────────────────────────────────
❯
────────────────────────────────────────
  ? for shortcuts · ← for agents""".splitlines()


def test_the_open_dialog_is_seen() -> None:
    assert permission_dialog_visible(DIALOG)


def test_the_prompt_after_a_denial_is_not_a_dialog() -> None:
    assert not permission_dialog_visible(AFTER_NO)


def test_a_user_typing_the_question_is_not_a_dialog() -> None:
    assert not permission_dialog_visible(["❯ Do you want to proceed? answer in one line"])


@pytest.mark.parametrize(
    ("line", "x", "expected"),
    [
        ("user@host:~/src$ ", 17, True),
        ("root@host:/# ", 13, True),
        (">>> ", 4, True),
        ("❯ ", 2, True),
        ("user@host:~/src$ ls -la", 23, False),
        ("compiling crate 3 of 9", 22, False),
        ("", 0, False),
    ],
)
def test_cursor_at_prompt(line: str, x: int, expected: bool) -> None:
    assert cursor_at_prompt(["", line], 1, x) is expected


def test_claude_332_dialog_with_a_wrapped_option_has_four_options() -> None:
    """Captured from 2.1.332: option 2 wraps onto a second line; "No" is option 4."""
    from taskping_tui.agent.screen_hints import permission_options

    lines = [
        " Bash command",
        "   touch denied_by_mail.txt",
        " Do you want to proceed?",
        " ❯ 1. Yes",
        "   2. Yes, and always allow access to",
        "      /tmp/pytest-of-root/pytest-75/test_no_by_mail/project from this project",
        "   3. Yes, and switch to auto mode · auto mode handles these prompts for you",
        "   4. No",
        "",
        " Esc to cancel · Tab to amend",
    ]
    options = permission_options(lines)
    assert sorted(options) == [1, 2, 3, 4]
    assert options[4] == "No"
    assert options[2].endswith("from this project")


# Claude Code 2.1.332 (2.1.197 draws the same dialog) asking one AskUserQuestion question.
QUESTION = """\
❯ set up the service
────────────────────────────────────────
 ☐ Database
Which database should the service use?
❯ 1. PostgreSQL
     relational, the team knows it
  2. SQLite
     one file, no server
  3. Type something.
────────────────────────────────────────
  4. Chat about this
Enter to select · ↑/↓ to navigate · Esc to cancel""".splitlines()


def test_the_question_dialogs_rows_are_read_past_descriptions_and_the_rule() -> None:
    assert question_dialog_options(QUESTION) == {
        1: "PostgreSQL",
        2: "SQLite",
        3: "Type something.",
        4: "Chat about this",
    }
    assert not permission_dialog_visible(QUESTION)  # not a permission dialog


def test_no_question_dialog_without_its_footer() -> None:
    assert question_dialog_options(QUESTION[:-1]) == {}
    assert question_dialog_options(DIALOG) == {}
    assert question_dialog_options(AFTER_NO) == {}
