"""Scrollback memory when every word has its own truecolour (lolcat, gradients), and what it shows."""

from __future__ import annotations

import gc
import random
import tracemalloc

import pytest
from textual.theme import BUILTIN_THEMES

from taskping_tui.terminal.palette import palette_for
from taskping_tui.terminal.screen import Cell, HistoryRow, TerminalScreen
from taskping_tui.terminal.view import CellStyles, render_row

WORDS = ["def", "class", "return", "import", "async", "await", "yield", "lambda", "self", "None"]


def random_truecolor_lines(count: int, columns: int, seed: int = 7, extra: str = "") -> bytes:
    """``count`` lines exactly ``columns`` wide of coloured words, as bench/memory --random-truecolor
    prints them: 256-colour, grey backgrounds, bold/italic/underline, and a new random 24-bit
    colour for every fourth word."""
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        out, used = [], 0
        while used < columns:
            word = (rng.choice(WORDS) + rng.choice(("", extra)))[: columns - used]
            kind = rng.random()
            if kind < 0.25:
                style = f"38;2;{rng.randrange(256)};{rng.randrange(256)};{rng.randrange(256)}"
            elif kind < 0.6:
                style = f"38;5;{rng.randint(16, 231)}"
            elif kind < 0.8:
                style = f"{rng.randint(30, 37)};48;5;{rng.randint(232, 255)}"
            else:
                style = f"{rng.choice((1, 3, 4))};{rng.randint(90, 97)}"
            out.append(f"\x1b[{style}m{word}\x1b[0m")
            used += len(word)
            if used < columns:
                out.append(" ")
                used += 1
        lines.append("".join(out) + "\r\n")
    return "".join(lines).encode()


def feed_in_reads(screen: TerminalScreen, data: bytes) -> None:
    for i in range(0, len(data), 65536):
        screen.feed(data[i : i + 65536])


def rows_as_text(rows: object) -> list[str]:
    return ["".join(cell.data for cell in row) for row in rows]  # type: ignore[attr-defined]


def test_ten_thousand_rows_of_random_truecolor_scrollback_fit_in_20_mb() -> None:
    data = random_truecolor_lines(10_040, 80)
    gc.collect()
    tracemalloc.start()
    try:
        screen = TerminalScreen(80, 40, scrollback=10_000)
        feed_in_reads(screen, data)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert screen.history_len() == 10_000
    assert all(len(row) == 80 for row in screen.history)
    colours = {cell.fg for row in list(screen.history)[-200:] for cell in row}
    assert len(colours) > 500, "truecolor words really have colours of their own"
    # With one Cell object per character of each truecolor word this took about 50 MB.
    assert held < 20_000_000, f"{held / 1e6:.1f} MB for the screen and its scrollback"


def test_scrollback_shows_exactly_what_was_printed_in_random_truecolor() -> None:
    data = random_truecolor_lines(3000, 40, seed=3, extra="中e\u0301")
    compact = TerminalScreen(40, 6, scrollback=4000)
    feed_in_reads(compact, data)
    plain = TerminalScreen(40, 6, scrollback=4000)
    plain._compacting_history = lambda: False  # type: ignore[method-assign]  # rows kept as lists
    feed_in_reads(plain, data)
    assert sum(isinstance(row, HistoryRow) for row in compact.history) > 1000
    assert not any(isinstance(row, HistoryRow) for row in plain.history)
    assert compact.history_len() == plain.history_len() > 3000
    assert [list(row) for row in compact.history] == [list(row) for row in plain.history]
    assert rows_as_text(compact.history) == rows_as_text(plain.history)
    assert any("中" in text and "e\u0301" in text for text in rows_as_text(compact.history))


def test_a_compact_history_row_reads_like_a_list_of_cells() -> None:
    cells = [Cell("a", fg="ff0000"), Cell("中", fg="00ff00", bold=True), Cell("", fg="00ff00", bold=True)]
    cells += [Cell("e\u0301"), Cell("x", bg="blue")]
    row = HistoryRow(cells)
    assert len(row) == 5
    assert list(row) == cells
    assert [row[i] for i in range(5)] == cells
    assert row[-1] == Cell("x", bg="blue")
    assert row[1:3] == cells[1:3]
    assert row == cells
    assert row[0].fg == "ff0000" and row[1].bold and row[2].data == ""
    with pytest.raises(IndexError):
        row[5]


def test_a_held_compact_history_row_never_changes() -> None:
    screen = TerminalScreen(30, 5, scrollback=50)
    feed_in_reads(screen, random_truecolor_lines(3000, 30))
    held = screen.history[0]
    assert isinstance(held, HistoryRow)
    held_cells = list(held)
    feed_in_reads(screen, random_truecolor_lines(3000, 30, seed=8))
    assert list(held) == held_cells
    assert held is not screen.history[0]
    assert screen.history_len() == 50


def test_growing_the_screen_pulls_compact_rows_back_with_their_colours() -> None:
    screen = TerminalScreen(40, 5, scrollback=1000)
    feed_in_reads(screen, random_truecolor_lines(3000, 40))
    expected = [list(row) for row in list(screen.history)[-3:]] + [list(row) for row in screen.buffer]
    screen.resize(lines=8)
    assert [list(row) for row in screen.buffer] == expected
    assert all(type(row) is list and len(row) == 40 for row in screen.buffer)
    screen.feed(b"\x1b[1;1Hnew")
    assert screen.row_text(0).startswith("new")


def test_the_pane_paints_a_compact_scrollback_row_like_the_row_it_was() -> None:
    styles = CellStyles(palette_for(BUILTIN_THEMES["textual-dark"]))
    data = random_truecolor_lines(3000, 40, extra="中e\u0301")
    compact = TerminalScreen(40, 6, scrollback=4000)
    feed_in_reads(compact, data)
    plain = TerminalScreen(40, 6, scrollback=4000)
    plain._compacting_history = lambda: False  # type: ignore[method-assign]  # rows kept as lists
    feed_in_reads(plain, data)
    pairs = [(row, plain.history[i]) for i, row in enumerate(compact.history) if isinstance(row, HistoryRow)]
    assert len(pairs) > 1000
    for row, original in pairs[-300:]:
        painted = render_row(row, 40, styles)
        assert list(painted) == list(render_row(original, 40, styles))
        assert painted.text == "".join(cell.data for cell in original)
