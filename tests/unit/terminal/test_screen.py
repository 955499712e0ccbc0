"""TerminalScreen behaviour: what a user of the pane would see or what the child would get back."""

from __future__ import annotations

import pyte
import pytest

from taskping_tui.terminal.screen import BLANK, COLOR_NAMES, Cell, TerminalScreen


def make(columns: int = 20, lines: int = 5, scrollback: int = 100) -> tuple[TerminalScreen, list[bytes]]:
    screen = TerminalScreen(columns, lines, scrollback=scrollback)
    replies: list[bytes] = []
    screen.on_reply = replies.append
    return screen, replies


def text(screen: TerminalScreen) -> list[str]:
    return [row.rstrip() for row in screen.display]


def test_is_a_pyte_screen_with_exact_width_rows() -> None:
    screen, _ = make(12, 3)
    assert isinstance(screen, pyte.Screen)
    screen.feed(b"abc")
    assert len(screen.row_cells(0)) == 12
    assert screen.row_cells(0)[:3] == [Cell("a"), Cell("b"), Cell("c")]
    assert screen.buffer[0][1] == Cell("b")


# ---------------------------------------------------------------- alternate screen
@pytest.mark.parametrize("mode", [1049, 1047, 47])
def test_alternate_screen_is_blank_and_main_content_returns(mode: int) -> None:
    screen, _ = make()
    screen.feed(b"main text")
    screen.feed(f"\x1b[?{mode}h".encode())
    assert screen.in_alternate_screen
    assert text(screen) == [""] * 5
    screen.feed(b"\x1b[Halt text")
    screen.feed(f"\x1b[?{mode}l".encode())
    assert not screen.in_alternate_screen
    assert text(screen)[0] == "main text"


def test_1049_saves_and_restores_the_cursor() -> None:
    screen, _ = make()
    screen.feed(b"\x1b[3;7H\x1b[?1049h\x1b[5;1Hx\x1b[?1049l")
    assert (screen.cursor.x, screen.cursor.y) == (6, 2)


def test_alternate_screen_scrolling_never_reaches_scrollback() -> None:
    screen, _ = make(10, 3)
    screen.feed(b"\x1b[?1049h" + b"line\r\n" * 10 + b"\x1b[?1049l")
    assert screen.history_len() == 0


def test_reentering_alternate_screen_starts_clean() -> None:
    screen, _ = make()
    screen.feed(b"\x1b[?1049hold\x1b[?1049l\x1b[?1049h")
    assert text(screen) == [""] * 5


# ---------------------------------------------------------------- query answers
def test_cursor_position_report_is_one_based() -> None:
    screen, replies = make()
    screen.feed(b"\x1b[4;9H\x1b[6n")
    assert replies == [b"\x1b[4;9R"]


def test_status_report_and_device_attributes() -> None:
    screen, replies = make()
    screen.feed(b"\x1b[5n\x1b[c\x1b[0c\x1b[>c\x1b[>0c")
    assert replies[0] == b"\x1b[0n"
    assert replies[1] == replies[2] == b"\x1b[?62;22c"
    assert replies[3] == replies[4]
    assert replies[3].startswith(b"\x1b[>") and replies[3].endswith(b"c")


def test_xtversion_names_the_app() -> None:
    screen, replies = make()
    screen.feed(b"\x1b[>q")
    assert len(replies) == 1
    assert replies[0].startswith(b"\x1bP>|taskping-tui(") and replies[0].endswith(b")\x1b\\")


def test_decrqm_reports_synchronized_output_state() -> None:
    screen, replies = make()
    screen.feed(b"\x1b[?2026$p\x1b[?2026h\x1b[?2026$p\x1b[?4242$p")
    assert replies == [b"\x1b[?2026;2$y", b"\x1b[?2026;1$y", b"\x1b[?4242;0$y"]
    assert screen.synchronized_output


def test_no_answer_to_sequences_we_only_consume() -> None:
    screen, replies = make()
    screen.feed(b"\x1b[?u\x1b[?996n\x1b[>4;2m\x1b[=1;1u\x1b[<u\x1b[>1u")
    assert replies == []
    assert text(screen) == [""] * 5


# ---------------------------------------------------------------- text and widths
def test_zwj_and_variation_selector_attach_and_keep_the_rest_of_the_run() -> None:
    screen, _ = make(30, 2)
    screen.feed("a\u2764\ufe0fb \U0001f468\u200d\U0001f469 end".encode())
    row = screen.row_cells(0)
    assert row[0].data == "a"
    assert row[1].data == "\u2764\ufe0f"
    assert row[2].data == "b"
    assert row[4].data == "\U0001f468\u200d"
    assert row[5].data == ""
    assert row[6].data == "\U0001f469"
    assert text(screen)[0].endswith(" end")


def test_combining_mark_joins_previous_cell() -> None:
    screen, _ = make()
    screen.feed("e\u0301x".encode())
    assert screen.row_cells(0)[:2] == [Cell("e\u0301"), Cell("x")]


def test_wide_characters_take_two_cells_and_wrap_whole() -> None:
    screen, _ = make(5, 3)
    screen.feed("ab中文".encode())
    assert [c.data for c in screen.row_cells(0)] == ["a", "b", "中", "", " "]
    assert [c.data for c in screen.row_cells(1)][:2] == ["文", ""]


def test_overwriting_half_a_wide_char_blanks_the_other_half() -> None:
    screen, _ = make(6, 2)
    screen.feed("中文\x1b[1;2Hx".encode())
    assert [c.data for c in screen.row_cells(0)][:4] == [" ", "x", "文", ""]


def test_autowrap_and_pending_wrap() -> None:
    screen, _ = make(5, 3)
    screen.feed(b"12345")
    assert screen.cursor.x == 5 and screen.cursor.y == 0
    screen.feed(b"6")
    assert text(screen)[:2] == ["12345", "6"]
    screen.feed(b"\x1b[?7l\x1b[3;1Habcdefg")
    assert text(screen)[2] == "abcdg"


def test_dec_special_graphics_draw_lines() -> None:
    screen, _ = make()
    screen.feed(b"\x1b(0lqqk\x1b(B q")
    assert text(screen)[0] == "┌──┐ q"


def test_insert_mode_shifts_text_right() -> None:
    screen, _ = make(10, 1)
    screen.feed(b"abcdef\x1b[1;3H\x1b[4hXY\x1b[4l")
    assert text(screen)[0] == "abXYcdef"


# ---------------------------------------------------------------- consumed sequences
def test_string_sequences_and_private_csi_are_not_printed() -> None:
    screen, _ = make(40, 2)
    screen.feed(
        b"A\x1bP+q544e\x1b\\B\x1b_Gkitty\x1b\\C\x1b^pm\x1b\\D\x1bXsos\x1b\\E"
        b"\x1b]8;;http://x.test\x07F\x1b]8;;\x1b\\G\x1b]52;c;aGk=\x07H"
    )
    assert text(screen)[0] == "ABCDEFGH"


def test_xtmodkeys_does_not_turn_on_underline() -> None:
    screen, _ = make()
    screen.feed(b"\x1b[>4;2mx")
    assert screen.row_cells(0)[0] == Cell("x")


# ---------------------------------------------------------------- SGR
@pytest.mark.parametrize(
    ("sgr", "expected"),
    [
        ("1", Cell("x", bold=True)),
        ("2", Cell("x", dim=True)),
        ("1;2;22", Cell("x")),
        ("3", Cell("x", italics=True)),
        ("3;23", Cell("x")),
        ("4", Cell("x", underscore=True)),
        ("4:3", Cell("x", underscore=True)),
        ("4;4:0", Cell("x")),
        ("21", Cell("x", underscore=True)),
        ("4;24", Cell("x")),
        ("9", Cell("x", strikethrough=True)),
        ("9;29", Cell("x")),
        ("7", Cell("x", reverse=True)),
        ("7;27", Cell("x")),
        ("5", Cell("x", blink=True)),
        ("31;42", Cell("x", fg="red", bg="green")),
        ("93;104", Cell("x", fg="brightbrown", bg="brightblue")),
        ("38;5;1", Cell("x", fg="red")),
        ("38;5;9;48;5;15", Cell("x", fg="brightred", bg="brightwhite")),
        ("38;5;208", Cell("x", fg="ff8700")),
        ("48;5;232", Cell("x", bg="080808")),
        ("38;2;1;2;3", Cell("x", fg="010203")),
        ("38:2::255:128:0", Cell("x", fg="ff8000")),
        ("38:2:255:128:0", Cell("x", fg="ff8000")),
        ("48:5:4", Cell("x", bg="blue")),
        ("58;2;9;9;9;1", Cell("x", bold=True)),
        ("58:5:3;1", Cell("x", bold=True)),
        ("1;31;0", Cell("x")),
        ("01;34", Cell("x", fg="blue", bold=True)),
    ],
)
def test_sgr_attributes(sgr: str, expected: Cell) -> None:
    screen, _ = make()
    screen.feed(f"\x1b[{sgr}mx".encode())
    assert screen.row_cells(0)[0] == expected


def test_256_colour_low_indices_follow_named_theme_colours() -> None:
    screen, _ = make(20, 1)
    screen.feed("".join(f"\x1b[38;5;{i}mx" for i in range(16)).encode())
    assert [c.fg for c in screen.row_cells(0)[:16]] == list(COLOR_NAMES)


def test_erase_uses_current_background() -> None:
    screen, _ = make(6, 1)
    screen.feed(b"abcdef\x1b[1;3H\x1b[44m\x1b[K")
    row = screen.row_cells(0)
    assert row[1] == Cell("b")
    assert row[2] == Cell(" ", bg="blue")


# ---------------------------------------------------------------- modes and callbacks
def test_tracked_modes() -> None:
    screen, _ = make()
    assert not screen.cursor.hidden
    screen.feed(b"\x1b[?25l\x1b[?2004h\x1b[?1h\x1b[?1002h\x1b[?1006h\x1b[?1004h")
    assert screen.cursor.hidden and screen.bracketed_paste and screen.app_cursor_keys
    assert screen.mouse_tracking == 1002 and screen.mouse_sgr and screen.focus_reporting
    screen.feed(b"\x1b[?1000h")
    assert screen.mouse_tracking == 1000
    screen.feed(b"\x1b[?1000l\x1b[?25h\x1b[?2004l\x1b[?1l\x1b[?1006l\x1b[?1004l")
    assert not screen.cursor.hidden and not screen.bracketed_paste and not screen.app_cursor_keys
    assert screen.mouse_tracking == 0 and not screen.mouse_sgr and not screen.focus_reporting


def test_title_bell_callbacks() -> None:
    screen, _ = make()
    titles: list[str] = []
    bells: list[bool] = []
    screen.on_title = titles.append
    screen.on_bell = lambda: bells.append(True)
    screen.feed("\x1b]0;✳ Claude Code\x07\x07\x1b]2;busy\x1b\\".encode())
    assert titles == ["✳ Claude Code", "busy"]
    assert screen.title == "busy"
    assert bells == [True]


# ---------------------------------------------------------------- scrollback
def test_rows_scrolled_off_the_top_go_to_history_oldest_first() -> None:
    screen, _ = make(10, 3, scrollback=4)
    screen.feed(b"\r\n".join(f"row{i}".encode() for i in range(8)))
    assert text(screen) == ["row5", "row6", "row7"]
    assert screen.history_len() == 4
    assert ["".join(c.data for c in row).rstrip() for row in screen.history] == ["row1", "row2", "row3", "row4"]


def test_history_pushed_keeps_counting_when_scrollback_is_full() -> None:
    screen, _ = make(10, 2, scrollback=3)
    screen.feed(b"\r\n" * 10)
    assert screen.history_len() == 3
    assert screen.history_pushed == 9  # the first line feed only moved down


def test_scroll_region_at_top_feeds_history_but_lower_region_does_not() -> None:
    screen, _ = make(10, 5)
    screen.feed(b"\x1b[1;4r\x1b[4;1Hone\n\x1b[5;1Hstatus")
    assert screen.history_len() == 1
    assert text(screen)[4] == "status"
    screen.feed(b"\x1b[2;4r\x1b[4;1H\n\n")
    assert screen.history_len() == 1


def test_ed2_pushes_the_screen_to_history_and_ed3_clears_it() -> None:
    screen, _ = make(10, 4)
    screen.feed(b"a\r\nb\r\n\x1b[2J")
    assert text(screen) == [""] * 4
    assert ["".join(c.data for c in row).rstrip() for row in screen.history] == ["a", "b"]
    screen.feed(b"\x1b[3J")
    assert screen.history_len() == 0


# ---------------------------------------------------------------- dirty rows
def test_dirty_marks_changed_rows_only() -> None:
    screen, _ = make()
    screen.dirty.clear()
    screen.feed(b"\x1b[3;1Hx")
    assert screen.dirty == {2}
    screen.dirty.clear()
    screen.feed(b"\x1b[1;1H")
    assert screen.dirty == set()


# ---------------------------------------------------------------- resize
def test_shrinking_pushes_rows_above_cursor_to_history_and_growing_pulls_them_back() -> None:
    screen, _ = make(10, 5)
    screen.feed(b"r0\r\nr1\r\nr2\r\nr3")
    screen.resize(2, 10)
    assert text(screen) == ["r2", "r3"]
    assert (screen.cursor.x, screen.cursor.y) == (2, 1)
    assert screen.history_len() == 2
    screen.resize(5, 10)
    assert text(screen)[:4] == ["r0", "r1", "r2", "r3"]
    assert screen.cursor.y == 3 and screen.history_len() == 0


def test_shrinking_drops_blank_rows_below_the_cursor_first() -> None:
    screen, _ = make(10, 6)
    screen.feed(b"top\r\nprompt")
    screen.resize(3, 10)
    assert text(screen) == ["top", "prompt", ""]
    assert screen.history_len() == 0


def test_resize_columns_keeps_cursor_in_range_and_marks_all_dirty() -> None:
    screen, _ = make(20, 3)
    screen.feed("abc中\x1b[1;20H".encode())
    screen.dirty.clear()
    screen.resize(3, 4)
    assert screen.columns == 4 and len(screen.row_cells(0)) == 4
    assert screen.cursor.x == 3
    assert [c.data for c in screen.row_cells(0)] == ["a", "b", "c", " "]
    assert screen.dirty == {0, 1, 2}
    screen.resize(3, 8)
    assert len(screen.row_cells(2)) == 8


# ---------------------------------------------------------------- editing sequences
def test_line_and_character_editing() -> None:
    screen, _ = make(10, 4)
    screen.feed(b"abcdef\r\nline2\r\nline3\x1b[1;2H\x1b[2P")
    assert text(screen)[0] == "adef"
    screen.feed(b"\x1b[2@")
    assert text(screen)[0] == "a  def"
    screen.feed(b"\x1b[3X")
    assert text(screen)[0] == "a   ef"
    screen.feed(b"\x1b[2;1H\x1b[L")
    assert text(screen)[:4] == ["a   ef", "", "line2", "line3"]
    screen.feed(b"\x1b[M\x1b[M")
    assert text(screen)[:3] == ["a   ef", "line3", ""]


def test_reverse_index_scrolls_down_at_top() -> None:
    screen, _ = make(10, 3)
    screen.feed(b"a\r\nb\x1b[H\x1bM")
    assert text(screen) == ["", "a", "b"]


def test_save_restore_cursor_keeps_attributes() -> None:
    screen, _ = make()
    screen.feed(b"\x1b[31m\x1b[2;3H\x1b7\x1b[0m\x1b[H\x1b8x")
    assert screen.row_cells(1)[2] == Cell("x", fg="red")


def test_rep_repeats_the_previous_character() -> None:
    screen, _ = make()
    screen.feed(b"-\x1b[4b")
    assert text(screen)[0] == "-----"


def test_full_reset_clears_screen_but_keeps_callbacks() -> None:
    screen, replies = make()
    screen.feed(b"\x1b[31mtext\x1b[?1049h\x1bc\x1b[6n")
    assert text(screen) == [""] * 5 and not screen.in_alternate_screen
    assert replies == [b"\x1b[1;1R"]
    assert screen.cursor.attrs == BLANK
