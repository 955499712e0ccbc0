"""The regex-tokenising parser: read boundaries, hostile input, consumed strings."""

from __future__ import annotations

import pytest

from taskping_tui.terminal.parser import MAX_PENDING, parse_params
from taskping_tui.terminal.screen import Cell, TerminalScreen

MIXED = (
    "plain \x1b[1;38;5;208mbold orange\x1b[0m \x1b[38:2::10:20:30mtc\x1b[m\r\n"
    "\x1b]0;title ✳\x07wide 中文 e\u0301 \u2764\ufe0f\x1b[5G|\x1b[2;30H\x1b[K"
    "\x1bP$qm\x1b\\\x1b[?2026h\x1b[?2026l\x1b[>4;1m\x1b(0lq\x1b(B\x1b[3;1Hend\x1b[6n"
).encode()


def screen_state(screen: TerminalScreen) -> tuple[object, ...]:
    return (
        [screen.row_cells(y) for y in range(screen.lines)],
        screen.cursor.x,
        screen.cursor.y,
        screen.title,
    )


def fed(chunks: list[bytes]) -> tuple[tuple[object, ...], list[bytes]]:
    screen = TerminalScreen(40, 4)
    replies: list[bytes] = []
    screen.on_reply = replies.append
    for chunk in chunks:
        screen.feed(chunk)
    return screen_state(screen), replies


def test_every_single_split_point_gives_the_same_screen() -> None:
    whole = fed([MIXED])
    for cut in range(1, len(MIXED)):
        assert fed([MIXED[:cut], MIXED[cut:]]) == whole, f"split at byte {cut}"


def test_byte_by_byte_feed_gives_the_same_screen() -> None:
    assert fed([bytes([b]) for b in MIXED]) == fed([MIXED])


def test_whole_feed_renders_expected_text() -> None:
    (rows, x, y, title), replies = fed([MIXED])
    assert "".join(c.data for c in rows[0]).rstrip() == "plain bold orange tc"
    assert "".join(c.data for c in rows[1]).startswith("wide|中文 e\u0301 \u2764\ufe0f")
    assert "".join(c.data for c in rows[2]).rstrip() == "end"
    assert rows[0][6] == Cell("b", fg="ff8700", bold=True)
    assert rows[0][18] == Cell("t", fg="0a141e")
    assert title == "title ✳"
    assert replies == [b"\x1b[3;4R"]


def test_split_utf8_character_is_not_replaced() -> None:
    screen = TerminalScreen(10, 1)
    data = "✳".encode()
    screen.feed(data[:1])
    screen.feed(data[1:2])
    screen.feed(data[2:])
    assert screen.row_cells(0)[0].data == "✳"


def test_invalid_utf8_becomes_replacement_character() -> None:
    screen = TerminalScreen(10, 1)
    screen.feed(b"a\xffb")
    assert "".join(c.data for c in screen.row_cells(0)).rstrip() == "a\ufffdb"


def test_overlong_unterminated_osc_is_discarded_up_to_its_terminator() -> None:
    screen = TerminalScreen(10, 1)
    screen.feed(b"a\x1b]52;c;")
    for _ in range(MAX_PENDING // 4096 + 4):
        screen.feed(b"A" * 4096)
    screen.feed(b"\x07b")
    assert "".join(c.data for c in screen.row_cells(0)).rstrip() == "ab"


def test_overlong_dcs_split_at_its_string_terminator() -> None:
    screen = TerminalScreen(10, 1)
    screen.feed(b"x\x1bPq" + b"#" * (MAX_PENDING + 10) + b"\x1b")
    screen.feed(b"\\y")
    assert "".join(c.data for c in screen.row_cells(0)).rstrip() == "xy"


def test_esc_inside_osc_aborts_it_and_starts_a_new_sequence() -> None:
    screen = TerminalScreen(10, 1)
    screen.feed(b"\x1b]0;unterminated\x1b[31mr")
    assert screen.row_cells(0)[0] == Cell("r", fg="red")


def test_stray_esc_c1_and_del_are_ignored() -> None:
    screen = TerminalScreen(10, 1)
    screen.feed("a\x1b\x01b\x7fc\u0085d\u009be".encode())
    assert "".join(c.data for c in screen.row_cells(0)).rstrip() == "abcde"


@pytest.mark.parametrize(
    "sequence",
    [b"\x1b[999999999999@", b"\x1b[99999999999L", b"\x1b[4294967296X", b"\x1b[9" * 50 + b"b", b"\x1b[1;99999999r"],
)
def test_huge_counts_are_bounded(sequence: bytes) -> None:
    screen = TerminalScreen(10, 3)
    screen.feed(b"abc" + sequence)
    assert all(len(screen.row_cells(y)) == 10 for y in range(3))
    assert len(screen.buffer) == 3


def test_parse_params_defaults_and_caps() -> None:
    assert parse_params("12;;3:4") == (12, 0, 3)
    assert parse_params("") == (0,)
    assert parse_params("99999999999999") == (65535,)
    assert parse_params("1;x") == (1, 0)
