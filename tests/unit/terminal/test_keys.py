"""Key, paste and mouse encoding: what a child program receives for each key the user presses."""

from __future__ import annotations

import pytest

from taskping_tui.terminal.keys import (
    MOUSE_ANY_EVENT,
    MOUSE_BUTTON_EVENT,
    MOUSE_NORMAL,
    MOUSE_X10,
    MouseAction,
    MouseReport,
    encode_focus,
    encode_key,
    encode_mouse,
    encode_paste,
    parse_key,
)

# (event.key, event.character, expected bytes). Characters are given as Textual delivers them from a
# legacy terminal; the kitty-protocol form (no character for ctrl keys) is covered further down.
KEY_TABLE: list[tuple[str, str | None, bytes]] = [
    # printable text, UTF-8
    ("a", "a", b"a"),
    ("A", "A", b"A"),
    ("shift+a", "A", b"A"),
    ("space", " ", b" "),
    ("exclamation_mark", "!", b"!"),
    ("é", "é", "é".encode()),
    ("euro_sign", "€", "€".encode()),
    ("中", "中", "中".encode()),
    # control keys
    ("enter", "\r", b"\r"),
    ("shift+enter", None, b"\x1b\r"),
    ("alt+enter", None, b"\x1b\r"),
    ("tab", "\t", b"\t"),
    ("shift+tab", None, b"\x1b[Z"),
    ("backspace", "\x7f", b"\x7f"),
    ("backspace", "\x08", b"\x7f"),
    ("ctrl+backspace", None, b"\x08"),
    ("alt+backspace", None, b"\x1b\x7f"),
    ("escape", "\x1b", b"\x1b"),
    ("alt+escape", None, b"\x1b\x1b"),
    # ctrl + letters
    ("ctrl+a", "\x01", b"\x01"),
    ("ctrl+b", "\x02", b"\x02"),
    ("ctrl+c", "\x03", b"\x03"),
    ("ctrl+d", "\x04", b"\x04"),
    ("ctrl+g", "\x07", b"\x07"),
    ("ctrl+j", "\n", b"\n"),
    ("ctrl+o", "\x0f", b"\x0f"),
    ("ctrl+q", "\x11", b"\x11"),
    ("ctrl+r", "\x12", b"\x12"),
    ("ctrl+s", "\x13", b"\x13"),
    ("ctrl+t", "\x14", b"\x14"),
    ("ctrl+v", "\x16", b"\x16"),
    ("ctrl+z", "\x1a", b"\x1a"),
    ("ctrl+shift+a", None, b"\x01"),
    # ctrl + symbols
    ("ctrl+@", "\x00", b"\x00"),
    ("ctrl+at", None, b"\x00"),
    ("ctrl+space", None, b"\x00"),
    ("ctrl+2", None, b"\x00"),
    ("ctrl+left_square_bracket", None, b"\x1b"),
    ("ctrl+backslash", "\x1c", b"\x1c"),
    ("ctrl+right_square_bracket", "\x1d", b"\x1d"),
    ("ctrl+circumflex_accent", "\x1e", b"\x1e"),
    ("ctrl+underscore", "\x1f", b"\x1f"),
    ("ctrl+minus", None, b"\x1f"),
    ("ctrl+slash", None, b"\x1f"),
    ("ctrl+question_mark", None, b"\x7f"),
    ("ctrl+1", None, b"1"),
    # alt + letters: ESC prefix
    ("alt+a", "a", b"\x1ba"),
    ("alt+shift+a", "A", b"\x1bA"),
    ("alt+b", None, b"\x1bb"),
    ("alt+f", "f", b"\x1bf"),
    ("alt+full_stop", ".", b"\x1b."),
    ("ctrl+alt+a", None, b"\x1b\x01"),
    ("alt+ctrl+c", None, b"\x1b\x03"),
    # cursor keys, normal mode
    ("up", None, b"\x1b[A"),
    ("down", None, b"\x1b[B"),
    ("right", None, b"\x1b[C"),
    ("left", None, b"\x1b[D"),
    ("home", None, b"\x1b[H"),
    ("end", None, b"\x1b[F"),
    # cursor keys with modifiers: CSI 1 ; m X
    ("shift+up", None, b"\x1b[1;2A"),
    ("alt+down", None, b"\x1b[1;3B"),
    ("shift+alt+right", None, b"\x1b[1;4C"),
    ("ctrl+left", None, b"\x1b[1;5D"),
    ("ctrl+shift+home", None, b"\x1b[1;6H"),
    ("ctrl+alt+end", None, b"\x1b[1;7F"),
    ("ctrl+shift+alt+up", None, b"\x1b[1;8A"),
    # editing keys: CSI n ~ / CSI n ; m ~
    ("insert", None, b"\x1b[2~"),
    ("delete", None, b"\x1b[3~"),
    ("pageup", None, b"\x1b[5~"),
    ("pagedown", None, b"\x1b[6~"),
    ("shift+delete", None, b"\x1b[3;2~"),
    ("ctrl+pageup", None, b"\x1b[5;5~"),
    ("alt+pagedown", None, b"\x1b[6;3~"),
    # function keys
    ("f1", None, b"\x1bOP"),
    ("f2", None, b"\x1bOQ"),
    ("f3", None, b"\x1bOR"),
    ("f4", None, b"\x1bOS"),
    ("f5", None, b"\x1b[15~"),
    ("f6", None, b"\x1b[17~"),
    ("f7", None, b"\x1b[18~"),
    ("f8", None, b"\x1b[19~"),
    ("f9", None, b"\x1b[20~"),
    ("f10", None, b"\x1b[21~"),
    ("f11", None, b"\x1b[23~"),
    ("f12", None, b"\x1b[24~"),
    ("shift+f1", None, b"\x1b[1;2P"),
    ("ctrl+f4", None, b"\x1b[1;5S"),
    ("ctrl+f5", None, b"\x1b[15;5~"),
    ("alt+f12", None, b"\x1b[24;3~"),
    ("f13", None, b"\x1b[1;2P"),  # Textual's name for shift+F1 from legacy terminals
    ("f17", None, b"\x1b[15;2~"),
    ("ctrl+f13", None, b"\x1b[1;6P"),
]


@pytest.mark.parametrize(("key", "character", "expected"), KEY_TABLE)
def test_key_encoding_table(key: str, character: str | None, expected: bytes) -> None:
    assert encode_key(key, character) == expected


# DECCKM (?1h): unmodified cursor keys switch to SS3, modified ones stay CSI 1 ; m.
APP_CURSOR_TABLE: list[tuple[str, bytes]] = [
    ("up", b"\x1bOA"),
    ("down", b"\x1bOB"),
    ("right", b"\x1bOC"),
    ("left", b"\x1bOD"),
    ("home", b"\x1bOH"),
    ("end", b"\x1bOF"),
    ("ctrl+up", b"\x1b[1;5A"),
    ("pageup", b"\x1b[5~"),
    ("f1", b"\x1bOP"),
]


@pytest.mark.parametrize(("key", "expected"), APP_CURSOR_TABLE)
def test_application_cursor_mode(key: str, expected: bytes) -> None:
    assert encode_key(key, None, app_cursor_keys=True) == expected


# Under the kitty keyboard protocol Textual gives no character for ctrl/alt keys.
KITTY_TABLE: list[tuple[str, bytes]] = [
    ("ctrl+c", b"\x03"),
    ("ctrl+underscore", b"\x1f"),
    ("ctrl+left_square_bracket", b"\x1b"),
    ("alt+x", b"\x1bx"),
    ("shift+space", b" "),
]


@pytest.mark.parametrize(("key", "expected"), KITTY_TABLE)
def test_kitty_protocol_keys_without_character(key: str, expected: bytes) -> None:
    assert encode_key(key, None) == expected


@pytest.mark.parametrize("key", ["ignore", "ctrl+unknown_thing", "super+nothing_here"])
def test_keys_without_terminal_encoding_send_nothing(key: str) -> None:
    assert encode_key(key, None) is None


def test_parse_key_collects_modifiers_in_any_order() -> None:
    assert parse_key("shift+ctrl+up").modifiers == parse_key("ctrl+shift+up").modifiers == 5
    assert parse_key("ctrl+shift+up").base == "up"
    assert parse_key("shift").base == "shift"


PASTE_TABLE: list[tuple[str, bool, bytes]] = [
    ("hello", False, b"hello"),
    ("hello", True, b"\x1b[200~hello\x1b[201~"),
    ("a\nb\r\nc", True, b"\x1b[200~a\rb\rc\x1b[201~"),
    ("a\nb", False, b"a\rb"),
    ("x\x1b[201~; rm -rf /\n", True, b"\x1b[200~x; rm -rf /\r\x1b[201~"),
    ("x\x1b[20\x1b[201~1~y", True, b"\x1b[200~xy\x1b[201~"),
    ("日本", True, "\x1b[200~日本\x1b[201~".encode()),
]


@pytest.mark.parametrize(("text", "bracketed", "expected"), PASTE_TABLE)
def test_paste_encoding(text: str, bracketed: bool, expected: bytes) -> None:
    assert encode_paste(text, bracketed=bracketed) == expected


P, R, M = MouseAction.PRESS, MouseAction.RELEASE, MouseAction.MOVE
WU, WD = MouseAction.WHEEL_UP, MouseAction.WHEEL_DOWN

# (report, tracking mode, sgr, expected)
MOUSE_TABLE: list[tuple[MouseReport, int, bool, bytes | None]] = [
    (MouseReport(P, 0, 0, button=1), 0, True, None),
    (MouseReport(P, 0, 0, button=1), MOUSE_NORMAL, True, b"\x1b[<0;1;1M"),
    (MouseReport(R, 4, 2, button=1), MOUSE_NORMAL, True, b"\x1b[<0;5;3m"),
    (MouseReport(P, 9, 9, button=2), MOUSE_NORMAL, True, b"\x1b[<1;10;10M"),
    (MouseReport(P, 9, 9, button=3), MOUSE_NORMAL, True, b"\x1b[<2;10;10M"),
    (MouseReport(P, 0, 0, button=1, shift=True), MOUSE_NORMAL, True, b"\x1b[<4;1;1M"),
    (MouseReport(P, 0, 0, button=1, meta=True), MOUSE_NORMAL, True, b"\x1b[<8;1;1M"),
    (MouseReport(P, 0, 0, button=1, ctrl=True), MOUSE_NORMAL, True, b"\x1b[<16;1;1M"),
    (MouseReport(P, 0, 0, button=1, shift=True, ctrl=True), MOUSE_NORMAL, True, b"\x1b[<20;1;1M"),
    (MouseReport(WU, 2, 3), MOUSE_NORMAL, True, b"\x1b[<64;3;4M"),
    (MouseReport(WD, 2, 3), MOUSE_NORMAL, True, b"\x1b[<65;3;4M"),
    (MouseReport(WD, 2, 3, ctrl=True), MOUSE_NORMAL, True, b"\x1b[<81;3;4M"),
    # motion: none in 1000, drag only in 1002, everything in 1003
    (MouseReport(M, 1, 1, button=1), MOUSE_NORMAL, True, None),
    (MouseReport(M, 1, 1, button=1), MOUSE_BUTTON_EVENT, True, b"\x1b[<32;2;2M"),
    (MouseReport(M, 1, 1), MOUSE_BUTTON_EVENT, True, None),
    (MouseReport(M, 1, 1), MOUSE_ANY_EVENT, True, b"\x1b[<35;2;2M"),
    (MouseReport(M, 1, 1, button=3), MOUSE_ANY_EVENT, True, b"\x1b[<34;2;2M"),
    # X10: presses only, no modifiers
    (MouseReport(P, 0, 0, button=1, ctrl=True), MOUSE_X10, True, b"\x1b[<0;1;1M"),
    (MouseReport(R, 0, 0, button=1), MOUSE_X10, True, None),
    (MouseReport(WU, 0, 0), MOUSE_X10, True, None),
    # legacy encoding when the child did not ask for SGR
    (MouseReport(P, 0, 0, button=1), MOUSE_NORMAL, False, b"\x1b[M !!"),
    (MouseReport(R, 0, 0, button=1), MOUSE_NORMAL, False, b"\x1b[M#!!"),
    (MouseReport(WU, 1, 0), MOUSE_NORMAL, False, b'\x1b[M`"!'),
    (MouseReport(P, 300, 0, button=1), MOUSE_NORMAL, False, None),
    (MouseReport(P, 300, 0, button=1), MOUSE_NORMAL, True, b"\x1b[<0;301;1M"),
]


@pytest.mark.parametrize(("report", "tracking", "sgr", "expected"), MOUSE_TABLE)
def test_mouse_encoding(report: MouseReport, tracking: int, sgr: bool, expected: bytes | None) -> None:
    assert encode_mouse(report, tracking=tracking, sgr=sgr) == expected


def test_focus_reports() -> None:
    assert encode_focus(True) == b"\x1b[I"
    assert encode_focus(False) == b"\x1b[O"
