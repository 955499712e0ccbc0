"""Screen content for byte streams recorded from real programs at 80x24 (tests/data/streams/)."""

from __future__ import annotations

import pytest

from taskping_tui.terminal.screen import Cell, TerminalScreen
from tests.support import STREAMS_DIR

STREAMS = STREAMS_DIR
FOX = ": the quick brown fox jumps over the lazy dog"


def load(name: str) -> bytes:
    return (STREAMS / f"{name}.bin").read_bytes()


def screen_after(data: bytes, chunk: int = 0) -> TerminalScreen:
    screen = TerminalScreen(80, 24)
    if chunk:
        for i in range(0, len(data), chunk):
            screen.feed(data[i : i + chunk])
    else:
        screen.feed(data)
    return screen


def rows(screen: TerminalScreen) -> list[str]:
    return [row.rstrip() for row in screen.display]


@pytest.mark.parametrize("chunk", [0, 1, 7])
def test_vim_edit_shows_the_edited_buffer_and_ruler(chunk: int) -> None:
    screen = screen_after(load("vim_edit"), chunk)
    text = rows(screen)
    assert text[0] == "line 01" + FOX
    assert text[1] == "line 02" + FOX
    assert text[2] == "typed by the test"  # `dd` removed line 03, `O` opened this one
    assert text[3] == "line 04" + FOX
    assert text[22] == "line 23" + FOX
    assert text[23] == " " * 62 + "3,17          Top"
    assert screen.in_alternate_screen
    assert (screen.cursor.x, screen.cursor.y) == (16, 2)
    assert screen.history_len() == 0


@pytest.mark.parametrize("chunk", [0, 3])
def test_less_search_highlights_the_match_and_shows_end(chunk: int) -> None:
    screen = screen_after(load("less_file"), chunk)
    text = rows(screen)
    assert text[0] == "line 50" + FOX
    assert text[10] == "line 60" + FOX
    assert text[11:23] == ["~"] * 12
    assert text[23] == "(END)"
    match = screen.buffer[0][:7]
    assert all(cell.reverse for cell in match), "less marks the search match in reverse video"
    assert not screen.buffer[0][7].reverse
    assert screen.buffer[23][0] == Cell("(", reverse=True)


def test_alternate_screen_enter_and_leave_restores_the_shell_rows() -> None:
    data = load("alt_screen")
    leave = data.index(b"\x1b[?1049l")
    screen = TerminalScreen(80, 24)
    screen.feed(data[:leave])
    assert screen.in_alternate_screen
    assert rows(screen)[0] == "line 01" + FOX
    assert "before alt" not in "\n".join(rows(screen))
    screen.feed(data[leave:])
    assert not screen.in_alternate_screen
    assert rows(screen)[:3] == ["before alt", "after alt", ""]
    assert screen.history_len() == 0, "the alternate screen never feeds the scrollback"


def test_claude_like_inline_redraw_with_cha_moves() -> None:
    screen = screen_after(load("claude_like"))
    text = rows(screen)
    assert text[:5] == [
        "✻ Welcome to Claude-like!",
        "",
        "● Done. Edited app.py (+3 added, -1 removed)",
        "  ⎿  tests pass",
        "",
    ]
    assert not any("Thinking" in row for row in text), "spinner frames were erased"
    assert screen.buffer[0][0] == Cell("✻", fg="d78787")  # 256-colour 174
    assert screen.buffer[0][13] == Cell("C", bold=True)
    assert screen.buffer[2][0] == Cell("●", fg="87d787")
    assert screen.buffer[2][30] == Cell("d", fg="green")
    assert screen.buffer[2][40] == Cell("v", fg="red")  # "removed"
    assert screen.buffer[3][5] == Cell("t", dim=True)
    assert not screen.cursor.hidden and not screen.bracketed_paste


def test_claude_like_mid_frame_box_is_drawn_with_cha_column() -> None:
    data = load("claude_like")
    cut = data.index(b"\x1b[2K\x1b[1A")  # just before the first redraw
    screen = screen_after(data[:cut])
    text = rows(screen)
    assert text[2] == "· Thinking… (0s · esc to interrupt)"
    assert text[3] == "╭" + "─" * 40 + "╮"
    assert text[4] == "│ > draft" + " " * 32 + "│"
    assert screen.buffer[4][41] == Cell("│", fg="888888")
    assert screen.cursor.hidden and screen.bracketed_paste
