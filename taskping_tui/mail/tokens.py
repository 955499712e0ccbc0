"""Session tokens: the short code in ``[TaskPing #TOKEN]`` that ties a reply to an agent session.

A token is 8 characters of Crockford base32 (digits and upper-case letters without I, L, O and U),
so 8 characters carry exactly 40 bits from :mod:`secrets`. Tokens are read by people on phones and typed
back by hand, so reading is forgiving: case does not matter, full-width forms are folded, and the look-alike
letters that are not in the alphabet map to the digit they resemble (O → 0, I / L → 1). With that folding no
two tokens can be confused by a reader, which is what "unambiguous" has to mean at 40 bits: an alphabet that
dropped 0/O/1/I/L entirely has only 31 symbols and 8 of them would give 39.6 bits.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from typing import Final

TOKEN_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TOKEN_LENGTH: Final = 8
TOKEN_BITS: Final = 40  # 8 symbols x log2(32)

SUBJECT_TAG_FORMAT: Final = "[TaskPing #{token}]"

# Letters a person may type for a digit they read (Crockford's decoding rules).
_LOOKALIKES: Final = str.maketrans({"O": "0", "I": "1", "L": "1"})
# Separators a person may add while copying a token by hand: spaces, hyphens, dots, underscores.
_TOKEN_SEPARATORS: Final = re.compile(r"[\s\-._\u2010-\u2015\u2212]+")
_VALID_TOKEN: Final = re.compile(f"[{TOKEN_ALPHABET}]{{{TOKEN_LENGTH}}}")
# Chinese input methods type 【 】 for [ ]; NFKC leaves those alone, so they are folded here.
_CJK_BRACKETS: Final = str.maketrans({"【": "[", "】": "]", "〔": "[", "〕": "]"})
# The code may carry the separators normalize_token folds away (``#ABCD-EFGH``, ``#ABCD EFGH``).
_SUBJECT_TAG: Final = re.compile(
    r"\[\s*taskping\s*#\s*([0-9a-z](?:[\s\-._\u2010-\u2015\u2212]*[0-9a-z]){" + str(TOKEN_LENGTH - 1) + r"})\s*\]",
    re.IGNORECASE,
)


def new_token() -> str:
    """Return a fresh random token (40 bits from ``secrets``)."""
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


def subject_tag(token: str) -> str:
    """The subject tag for ``token``, e.g. ``[TaskPing #7K3QZ9MX]``."""
    return SUBJECT_TAG_FORMAT.format(token=token)


def normalize_token(text: str) -> str | None:
    """Fold a token as a person typed it into canonical form, or ``None`` when it cannot be a token.

    Accepts any case, full-width characters, separators between characters and the look-alike letters
    O, I and L. ``"7k3q-z9mx"`` and ``"７Ｋ３Ｑ Ｚ９ＭＸ"`` both give ``"7K3QZ9MX"``.
    """
    folded = unicodedata.normalize("NFKC", text)
    folded = _TOKEN_SEPARATORS.sub("", folded).upper().translate(_LOOKALIKES)
    if _VALID_TOKEN.fullmatch(folded):
        return folded
    return None


def is_valid_token(text: str) -> bool:
    """True when ``text`` is already a canonical token."""
    return _VALID_TOKEN.fullmatch(text) is not None


def find_tokens_in_subject(subject: str) -> tuple[str, ...]:
    """Every distinct canonical token of the ``[TaskPing #TOKEN]`` tags in ``subject``, in order.

    Tolerates what replying clients and people do to the tag: ``Re:`` / ``回复：`` prefixes, any case,
    spaces inside the brackets, full-width brackets, ``＃`` and letters (``［TaskPing ＃ABC…］``) and the 【 】 brackets
    of Chinese input methods. A tag whose code is not a valid token is skipped; the same token twice
    (``Re: [TaskPing #X] … [TaskPing #X]``) counts once.
    """
    if not subject:
        return ()
    folded = unicodedata.normalize("NFKC", subject).translate(_CJK_BRACKETS)
    found = (normalize_token(match.group(1)) for match in _SUBJECT_TAG.finditer(folded))
    return tuple(dict.fromkeys(token for token in found if token is not None))


def find_token_in_subject(subject: str) -> str | None:
    """The first token :func:`find_tokens_in_subject` finds in ``subject``, if any."""
    tokens = find_tokens_in_subject(subject)
    return tokens[0] if tokens else None
