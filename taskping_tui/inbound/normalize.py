"""Invisible characters out of a command, and the one folded form that danger matching reads.

Pure. Two steps, both applied to every command that reaches the agent:

* :func:`strip_invisible` removes the characters that draw nothing but change what a program reads:
  Unicode format characters (category Cf: zero-width space / joiner / non-joiner, word joiner, soft
  hyphen, bidi embeddings, overrides and isolates, the BOM, tag characters …) and the look-alike
  blanks of other categories (Hangul fillers, the combining grapheme joiner, variation selectors).
  ``r<ZWSP>m -rf`` looks like ``rm -rf`` to a person but not to a regular expression; with the
  characters gone, what is checked is what a person sees, and it is also what is typed. The removed
  characters are reported so the panel can say so.
* :func:`matching_view` folds the result for danger matching only: NFKC (full-width ``ｒｍ`` → ``rm``,
  ideographic and no-break spaces → space), shell line continuations joined, and runs of blanks
  collapsed to one space. This text is never typed: NFKC would change the user's CJK punctuation.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Final

# Invisible, but not in category Cf: Hangul fillers (Lo), the combining grapheme joiner and the
# variation selectors (Mn), the Mongolian free variation selectors (Mn).
_INVISIBLE_OTHERS: Final = frozenset(
    "\u115f\u1160\u3164\uffa0\u034f\u180b\u180c\u180d\u180f"
    + "".join(chr(c) for c in range(0xFE00, 0xFE10))
    + "".join(chr(c) for c in range(0xE0100, 0xE01F0))
)
_BLANK_RUN: Final = re.compile(r"[^\S\n]+")
_LINE_CONTINUATION: Final = re.compile(r"\\[^\S\n]*\n")


def is_invisible(ch: str) -> bool:
    """True for a character that is dropped from commands (see the module docstring)."""
    return unicodedata.category(ch) == "Cf" or ch in _INVISIBLE_OTHERS


@dataclass(frozen=True)
class StrippedCommand:
    text: str
    removed: tuple[tuple[str, int], ...] = ()  # (character, count), in order of first appearance

    @property
    def removed_count(self) -> int:
        return sum(count for _ch, count in self.removed)

    def describe_removed(self) -> str:
        """``"U+200B ZERO WIDTH SPACE ×2, U+00AD SOFT HYPHEN"``; "" when nothing was removed."""
        return ", ".join(
            f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed character')}" + (f" ×{count}" if count > 1 else "")
            for ch, count in self.removed
        )


def _is_emoji(ch: str) -> bool:
    """Pictographs that join into one emoji (👩‍💻): symbols in the emoji blocks."""
    code = ord(ch)
    return (
        0x1F000 <= code <= 0x1FAFF
        or 0x2600 <= code <= 0x27BF
        or (0x2190 <= code <= 0x2BFF and unicodedata.category(ch) == "So")
    )


# Joiners and variation selectors are kept only inside an emoji sequence, where they draw the emoji
# and cannot hide a letter of a command word.
_EMOJI_JOINER: Final = "\u200d"
_EMOJI_SELECTORS: Final = frozenset("\ufe0e\ufe0f")


def strip_invisible(text: str) -> StrippedCommand:
    """``text`` without invisible characters, and which ones were removed."""
    kept: list[str] = []
    removed: Counter[str] = Counter()
    for index, ch in enumerate(text):
        if not is_invisible(ch):
            kept.append(ch)
            continue
        after_emoji = bool(kept) and _is_emoji(kept[-1])
        if ch in _EMOJI_SELECTORS and after_emoji:
            kept.append(ch)
        elif (
            ch == _EMOJI_JOINER
            and (after_emoji or (kept and kept[-1] in _EMOJI_SELECTORS))
            and (index + 1 < len(text) and _is_emoji(text[index + 1]))
        ):
            kept.append(ch)
        else:
            removed[ch] += 1
    if not removed:
        return StrippedCommand(text)
    return StrippedCommand("".join(kept), tuple(removed.items()))


def matching_view(text: str) -> str:
    """The folded form danger patterns are matched against (never typed)."""
    folded = unicodedata.normalize("NFKC", strip_invisible(text).text)
    # NFKC can produce new invisible characters from compatibility forms; drop those too.
    folded = strip_invisible(folded).text
    folded = _LINE_CONTINUATION.sub(" ", folded)
    return _BLANK_RUN.sub(" ", folded)
