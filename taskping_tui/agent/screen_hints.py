"""Facts read off the agent's screen where Claude Code gives no hook (checked against 2.1.197).

Answering a permission dialog with "No" (or Esc) fires no hook and leaves the title at ``✳``: only the
screen shows that the dialog is gone. The caller passes the pane's visible lines.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

_DIALOG_QUESTION = re.compile(r"Do you want to (?:proceed|make this edit|create|allow|run|fetch|use)\b")
_FIRST_OPTION = re.compile(r"^\s*(?:❯\s*)?1\.\s+Yes\b")


def permission_dialog_visible(lines: Sequence[str]) -> bool:
    """True while Claude Code's permission dialog (question plus a numbered "1. Yes" option) is on screen."""
    has_question = any(_DIALOG_QUESTION.search(line) for line in lines)
    return has_question and any(_FIRST_OPTION.match(line) for line in lines)


# Shell, REPL and agent prompts end with one of these, usually followed by one space.
_PROMPT_END = re.compile(r"[$#%>❯›»:]\s?$")


def cursor_at_prompt(lines: Sequence[str], cursor_y: int, cursor_x: int) -> bool:
    """True when the cursor sits right after a prompt with nothing typed behind it (agents without hooks)."""
    if not 0 <= cursor_y < len(lines):
        return False
    line = lines[cursor_y]
    before, after = line[:cursor_x], line[cursor_x:]
    return bool(before.strip()) and not after.strip() and bool(_PROMPT_END.search(before))


class CellLike(Protocol):
    data: str
    dim: bool


_RULE = re.compile(r"^\s*─{10,}\s*$")
_OPTION = re.compile(r"^\s*(?:❯\s*)?(\d)\.\s+(\S.*?)\s*$")


def claude_prompt_text(lines: Sequence[str], rows: Sequence[Sequence[CellLike]]) -> str | None:
    """What the user has typed in Claude Code's input box (dim placeholder text excluded).

    The box is a `❯` line right below a horizontal rule (2.1.197). None when no input box is drawn, e.g.
    while a permission dialog replaces it.
    """
    for y in range(len(lines) - 1, 0, -1):
        if lines[y].startswith("❯") and _RULE.match(lines[y - 1]):
            typed = "".join(cell.data for cell in rows[y][1:] if not cell.dim)
            return typed.strip()
    return None


def permission_options(lines: Sequence[str]) -> dict[int, str]:
    """The numbered options of the permission dialog on screen: {1: "Yes", 2: "Yes, and always…", 3: "No"}.

    2.1.332 has four (3 is "Yes, and switch to auto mode", 4 is "No") and may wrap an option's text.
    """
    for start, line in enumerate(lines):
        if _DIALOG_QUESTION.search(line):
            options: dict[int, str] = {}
            text_column = 0
            for option_line in lines[start + 1 :]:
                match = _OPTION.match(option_line)
                if match:
                    options[int(match.group(1))] = match.group(2)
                    text_column = match.start(2)
                elif options and _is_continuation(option_line, text_column):
                    # 2.1.332 wraps a long option ("… always allow access to\n   /long/path from this project").
                    last = max(options)
                    options[last] = f"{options[last]} {option_line.strip()}"
                elif options and option_line.strip():
                    break
            return options
    return {}


def _is_continuation(line: str, text_column: int) -> bool:
    stripped = line.lstrip()
    return bool(stripped) and len(line) - len(stripped) >= text_column > 0


_QUESTION_FOOTER = re.compile(r"Enter to select\b.*\bEsc to cancel")


def question_dialog_options(lines: Sequence[str]) -> dict[int, str]:
    """The numbered rows of Claude Code's AskUserQuestion dialog on screen (2.1.197 and 2.1.332 alike):
    {1: "PostgreSQL", 2: "SQLite", 3: "Type something.", 4: "Chat about this"}; {} when none is drawn.

    Read upwards from the "Enter to select · … · Esc to cancel" footer to the question's text, over the
    options' indented descriptions and the rule above the last row.
    """
    footer = next((y for y in range(len(lines) - 1, -1, -1) if _QUESTION_FOOTER.search(lines[y])), None)
    if footer is None:
        return {}
    options: dict[int, str] = {}
    for line in reversed(lines[:footer]):
        match = _OPTION.match(line)
        if match:
            options.setdefault(int(match.group(1)), match.group(2))
        elif not (not line.strip() or _RULE.match(line) or line.startswith("   ")):
            break  # the question (or anything else that is not part of the option list)
    return dict(sorted(options.items()))
