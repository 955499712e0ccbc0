"""Encode Textual key, paste and mouse events as the bytes an xterm would send to a child.

Pure functions, no Textual import: the view passes `event.key` / `event.character` (and mouse fields) in.

Textual key names are `+`-joined modifiers followed by a base name, e.g. `ctrl+shift+up`, `alt+a`,
`ctrl+left_square_bracket`, `f5`. Depending on the user's terminal Textual receives keys either as
legacy bytes or through the kitty keyboard protocol, so the same key may arrive with or without
`event.character` (ctrl+a has no character under kitty); the encoding below is derived from the key
name and only falls back to the character for printable text.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import Enum

ESC = "\x1b"
CSI = "\x1b["
SS3 = "\x1bO"

BRACKETED_PASTE_START = "\x1b[200~"
BRACKETED_PASTE_END = "\x1b[201~"

_MODIFIER_BITS: dict[str, int] = {"shift": 1, "alt": 2, "ctrl": 4, "meta": 8, "super": 8, "hyper": 8}

# Cursor keys: final byte; sent as SS3 x in application cursor mode (DECCKM), CSI x otherwise.
_CURSOR_FINALS: dict[str, str] = {
    "up": "A",
    "down": "B",
    "right": "C",
    "left": "D",
    "home": "H",
    "end": "F",
}

# Editing keys and F5..F12: CSI n ~ (CSI n ; m ~ with modifiers).
_TILDE_CODES: dict[str, int] = {
    "insert": 2,
    "delete": 3,
    "pageup": 5,
    "pagedown": 6,
    "f5": 15,
    "f6": 17,
    "f7": 18,
    "f8": 19,
    "f9": 20,
    "f10": 21,
    "f11": 23,
    "f12": 24,
}

# F1..F4: SS3 P..S, CSI 1 ; m P..S with modifiers.
_PF_FINALS: dict[str, str] = {"f1": "P", "f2": "Q", "f3": "R", "f4": "S"}

# Textual's names for printable characters that are not alphanumeric (see textual.keys).
_NAMED_CHARACTERS: dict[str, str] = {
    "space": " ",
    "slash": "/",
    "backslash": "\\",
    "at": "@",
    "minus": "-",
    "plus": "+",
    "underscore": "_",
}

# Ctrl + a non-letter, as xterm/VT220 send it (ctrl+2 and ctrl+space are NUL, ctrl+3 is ESC, ...).
_CTRL_SYMBOLS: dict[str, str] = {
    "@": "\x00",
    " ": "\x00",
    "2": "\x00",
    "[": "\x1b",
    "3": "\x1b",
    "\\": "\x1c",
    "4": "\x1c",
    "]": "\x1d",
    "5": "\x1d",
    "^": "\x1e",
    "~": "\x1e",
    "6": "\x1e",
    "_": "\x1f",
    "-": "\x1f",
    "/": "\x1f",
    "7": "\x1f",
    "?": "\x7f",
    "8": "\x7f",
}


@dataclass(frozen=True, slots=True)
class ParsedKey:
    """A Textual key name split into its modifier bits and base name."""

    base: str
    modifiers: int  # xterm modifier bits: shift 1, alt 2, ctrl 4, meta 8

    @property
    def shift(self) -> bool:
        return bool(self.modifiers & 1)

    @property
    def alt(self) -> bool:
        return bool(self.modifiers & 2)

    @property
    def ctrl(self) -> bool:
        return bool(self.modifiers & 4)

    @property
    def xterm_parameter(self) -> int:
        """The `m` in `CSI 1 ; m A`: 1 + modifier bits."""
        return 1 + self.modifiers


def parse_key(key: str) -> ParsedKey:
    """Split `ctrl+shift+up` into modifiers and `up`; unknown prefixes are kept in the base name."""
    parts = key.split("+")
    modifiers = 0
    index = 0
    while index < len(parts) - 1 and parts[index] in _MODIFIER_BITS:
        modifiers |= _MODIFIER_BITS[parts[index]]
        index += 1
    return ParsedKey(base="+".join(parts[index:]), modifiers=modifiers)


def character_for_key_name(name: str) -> str | None:
    """The character a Textual base key name stands for (`left_square_bracket` → `[`), if any."""
    if len(name) == 1:
        return name
    if name in _NAMED_CHARACTERS:
        return _NAMED_CHARACTERS[name]
    try:
        return unicodedata.lookup(name.replace("_", " ").upper())
    except KeyError:
        return None


def _control_character(char: str) -> str | None:
    """The C0 control code Ctrl+char produces, or None when Ctrl does nothing to it."""
    lower = char.lower()
    if len(lower) == 1 and "a" <= lower <= "z":
        return chr(ord(lower) - ord("a") + 1)
    return _CTRL_SYMBOLS.get(char)


def _is_printable_text(character: str | None) -> bool:
    return bool(character) and all(ch.isprintable() for ch in character)  # type: ignore[union-attr]


def _encode_special(parsed: ParsedKey, app_cursor: bool) -> str | None:
    """Keys with a fixed (possibly modified) escape sequence; None if the base is not one of them."""
    base, param = parsed.base, parsed.xterm_parameter
    if base in _CURSOR_FINALS:
        final = _CURSOR_FINALS[base]
        if parsed.modifiers:
            return f"{CSI}1;{param}{final}"
        return f"{SS3 if app_cursor else CSI}{final}"
    if base in _TILDE_CODES:
        code = _TILDE_CODES[base]
        return f"{CSI}{code};{param}~" if parsed.modifiers else f"{CSI}{code}~"
    if base in _PF_FINALS:
        final = _PF_FINALS[base]
        return f"{CSI}1;{param}{final}" if parsed.modifiers else f"{SS3}{final}"
    if base.startswith("f") and base[1:].isdigit() and 13 <= int(base[1:]) <= 24:
        # Textual names shift+F1..F12 as F13..F24 (xterm sends them with the shift modifier).
        shifted = ParsedKey(base=f"f{int(base[1:]) - 12}", modifiers=parsed.modifiers | 1)
        return _encode_special(shifted, app_cursor)
    return None


def _encode_control_key(parsed: ParsedKey) -> str | None:
    """Enter, Tab, Backspace, Escape and their modified forms."""
    base, alt_prefix = parsed.base, ESC if parsed.alt else ""
    if base in ("enter", "return"):
        # Shift+Enter gets ESC CR (Meta+Enter): Claude Code and readline-style editors read it as
        # "new line" instead of "submit", which is what a user pressing Shift+Enter wants.
        return ESC + "\r" if (parsed.shift or parsed.alt) else "\r"
    if base == "tab":
        if parsed.shift:
            return f"{alt_prefix}{CSI}Z"
        return alt_prefix + "\t"
    if base == "backspace":
        return alt_prefix + ("\x08" if parsed.ctrl else "\x7f")
    if base == "escape":
        return alt_prefix + ESC
    return None


def encode_key(key: str, character: str | None, *, app_cursor_keys: bool = False) -> bytes | None:
    """Bytes for a Textual key event, or None if the key has no terminal encoding.

    Args:
        key: `event.key`, e.g. `ctrl+c`, `shift+tab`, `alt+x`, `f5`, `a`.
        character: `event.character` (may be None for non-printing keys or under the kitty protocol).
        app_cursor_keys: DECCKM (`?1h`) set by the child: unmodified cursor keys use SS3.
    """
    parsed = parse_key(key)

    special = _encode_special(parsed, app_cursor_keys)
    if special is not None:
        return special.encode()

    control_key = _encode_control_key(parsed)
    if control_key is not None:
        return control_key.encode()

    char = character if _is_printable_text(character) else character_for_key_name(parsed.base)
    if char is None:
        if character and not parsed.ctrl and not parsed.alt:
            return character.encode("utf-8", "surrogateescape")  # a raw control char Textual passed through
        return None

    alt_prefix = ESC if parsed.alt else ""
    if parsed.ctrl:
        control = _control_character(char)
        if control is None:
            return (alt_prefix + char).encode()
        return (alt_prefix + control).encode()
    if parsed.shift and len(char) == 1 and char.isalpha() and char.islower():
        char = char.upper()
    return (alt_prefix + char).encode()


def encode_paste(text: str, *, bracketed: bool) -> bytes:
    """Bytes for pasted text: newlines as CR like a real terminal, wrapped when the child set ?2004.

    An ESC[201~ inside the text would end the bracket early and let the rest run as typed keys,
    so it is removed (repeatedly, in case removal forms a new one).
    """
    text = text.replace("\r\n", "\r").replace("\n", "\r")
    if not bracketed:
        return text.encode("utf-8", "replace")
    while BRACKETED_PASTE_END in text:
        text = text.replace(BRACKETED_PASTE_END, "")
    return (BRACKETED_PASTE_START + text + BRACKETED_PASTE_END).encode("utf-8", "replace")


class MouseAction(Enum):
    PRESS = "press"
    RELEASE = "release"
    MOVE = "move"
    WHEEL_UP = "wheel_up"
    WHEEL_DOWN = "wheel_down"


# DEC private mode numbers the child can use to ask for mouse reports.
MOUSE_X10 = 9
MOUSE_NORMAL = 1000
MOUSE_BUTTON_EVENT = 1002
MOUSE_ANY_EVENT = 1003


@dataclass(frozen=True, slots=True)
class MouseReport:
    """One mouse event in cell coordinates of the pane (0-based)."""

    action: MouseAction
    x: int
    y: int
    button: int = 0  # 0 none, 1 left, 2 middle, 3 right (Textual's numbering)
    shift: bool = False
    meta: bool = False
    ctrl: bool = False


def _mouse_wanted(report: MouseReport, tracking: int) -> bool:
    action = report.action
    if tracking == MOUSE_X10:
        return action is MouseAction.PRESS and report.button in (1, 2, 3)
    if tracking not in (MOUSE_NORMAL, MOUSE_BUTTON_EVENT, MOUSE_ANY_EVENT):
        return False
    if action is MouseAction.MOVE:
        if tracking == MOUSE_ANY_EVENT:
            return True
        return tracking == MOUSE_BUTTON_EVENT and report.button in (1, 2, 3)
    if action in (MouseAction.PRESS, MouseAction.RELEASE):
        return report.button in (1, 2, 3)
    return True  # wheel


def _mouse_button_code(report: MouseReport, tracking: int, sgr: bool) -> int:
    action = report.action
    if action is MouseAction.WHEEL_UP:
        code = 64
    elif action is MouseAction.WHEEL_DOWN:
        code = 65
    elif action is MouseAction.RELEASE and not sgr:
        code = 3  # legacy encoding cannot say which button was released
    elif report.button in (1, 2, 3):
        code = report.button - 1
    else:
        code = 3  # motion with no button held
    if action is MouseAction.MOVE:
        code += 32
    if tracking != MOUSE_X10:
        code += (4 if report.shift else 0) + (8 if report.meta else 0) + (16 if report.ctrl else 0)
    return code


def encode_mouse(report: MouseReport, *, tracking: int, sgr: bool) -> bytes | None:
    """Bytes for a mouse event under the child's tracking mode (0 = off), or None if not reported.

    SGR (?1006) gives `CSI < b ; x ; y M/m`; without it the legacy `CSI M b x y` bytes are used,
    which cannot address columns/rows past 223 (those events are dropped, as xterm does).
    """
    if tracking == 0 or not _mouse_wanted(report, tracking):
        return None
    code = _mouse_button_code(report, tracking, sgr)
    col, row = report.x + 1, report.y + 1
    if col < 1 or row < 1:
        return None
    if sgr:
        final = "m" if report.action is MouseAction.RELEASE else "M"
        return f"{CSI}<{code};{col};{row}{final}".encode()
    if col + 32 > 255 or row + 32 > 255:
        return None
    return b"\x1b[M" + bytes((32 + code, 32 + col, 32 + row))


def encode_focus(focused: bool) -> bytes:
    """Focus in/out report for a child that set ?1004."""
    return b"\x1b[I" if focused else b"\x1b[O"
