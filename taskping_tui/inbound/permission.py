"""Reading a reply as an answer to Claude Code's permission dialog: yes / always / no.

A reply that is nothing but one of these words (in English or Chinese, with trailing punctuation) answers
the dialog the agent shows; `option_for` maps the answer to the number of the option the dialog offers now.
The processor uses `permission_answer` to decide whether a mail answers a pending permission, the
injector uses both to type the answer.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Literal

PermissionAnswer = Literal["yes", "always", "no"]

PERMISSION_WORDS: dict[str, PermissionAnswer] = {
    **dict.fromkeys(
        ["yes", "y", "1", "ok", "okay", "approve", "allow", "是", "是的", "好", "好的", "可以", "行", "同意", "允许"],
        "yes",
    ),
    **dict.fromkeys(["always", "2", "yes always", "always allow", "总是", "始终", "总是允许", "一直允许"], "always"),
    **dict.fromkeys(["no", "n", "3", "deny", "reject", "否", "不", "不行", "不要", "拒绝", "不可以"], "no"),
}
_TRAILING_PUNCTUATION = re.compile(r"[\s.!。！~～]+$")


def permission_answer(text: str) -> PermissionAnswer | None:
    """The permission answer a reply means, if it is nothing but one (e.g. "Yes!", "好的", "3")."""
    word = _TRAILING_PUNCTUATION.sub("", " ".join(text.split()).lower())
    return PERMISSION_WORDS.get(word)


def option_for(answer: PermissionAnswer, options: dict[int, str]) -> int | None:
    """The number of the dialog option that gives ``answer``; None when the dialog does not offer it."""
    for number, label in sorted(options.items()):
        lowered = label.lower()
        is_always = lowered.startswith("yes") and ("always" in lowered or "don't ask" in lowered)
        if answer == "yes" and lowered.startswith("yes") and not is_always:
            return number
        if answer == "always" and is_always:
            return number
        if answer == "no" and lowered.startswith("no"):
            return number
    return None


def dialog_key(tool_name: str | None, tool_input: Any) -> str:
    """Which dialog a tool call opens -- ``"<tool>:<fingerprint of its input>"``, "" without a tool.

    A reply to a permission or question mail carries the key of that mail's dialog, so an answer that
    comes after its dialog closed (answered at the keyboard, or another one is open now) is not typed."""
    if not tool_name:
        return ""
    called = json.dumps(tool_input, sort_keys=True, ensure_ascii=False, default=str)
    return f"{tool_name}:{hashlib.sha256(called.encode()).hexdigest()[:16]}"
