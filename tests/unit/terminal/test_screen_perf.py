"""The throughput work keeps behaviour: inline fast paths, slicing, row reuse and cache budgets."""

from __future__ import annotations

import gc
import random
import tracemalloc

import pytest

from taskping_tui.terminal.parser import SLICE
from taskping_tui.terminal.screen import Cell, TerminalScreen

SGRS = ["0", "", "1", "2", "22", "31", "1;32", "38;5;208", "48;5;17", "38;2;10;20;30", "7", "27", "44", "39;49"]


def snapshot(screen: TerminalScreen) -> tuple[object, ...]:
    return (
        [list(row) for row in screen.buffer],
        [list(row) for row in screen.history],
        screen.history_pushed,
        (screen.cursor.x, screen.cursor.y),
        screen.cursor.attrs,
        set(screen.dirty),
    )


def apply_random_operations(seed: int, fed: TerminalScreen, called: TerminalScreen) -> None:
    """The same random operation as bytes into ``fed`` and as a method call on ``called``."""
    rng = random.Random(seed)
    for _ in range(600):
        roll = rng.random()
        if roll < 0.3:
            text = "".join(rng.choice("abc xyz-_.") for _ in range(rng.randint(1, 40)))
            fed.feed(text.encode())
            called.draw(text)
        elif roll < 0.5:
            params = rng.choice(SGRS)
            fed.feed(f"\x1b[{params}m".encode())
            called.sgr(params)
        elif roll < 0.65:
            fed.feed(b"\r\n")
            called.carriage_return_linefeed()
        elif roll < 0.75:
            row = rng.choice((0, 1, 11, 12, 13, rng.randint(0, 30)))
            column = rng.choice((0, 1, 49, 50, 51, rng.randint(0, 60)))
            fed.feed(f"\x1b[{row};{column}H*".encode())
            called.cursor_position(row, column)
            called.draw("*")
        elif roll < 0.82:
            column = rng.choice((0, 1, 49, 50, 51, rng.randint(0, 60)))
            fed.feed(f"\x1b[{column}G+".encode())
            called.cursor_to_column(column)
            called.draw("+")
        elif roll < 0.88:
            how = rng.choice((0, 1, 2))
            fed.feed(f"\x1b[{how}K".encode())
            called.erase_in_line(how)
        elif roll < 0.93:
            top, bottom = rng.randint(1, 12), rng.randint(1, 12)
            fed.feed(f"\x1b[{top};{bottom}r".encode())
            called.set_margins(top, bottom)
        elif roll < 0.97:
            on = rng.random() < 0.5
            fed.feed(b"\x1b[?6h" if on else b"\x1b[?6l")
            if on:
                called.set_mode(6, private=True)
            else:
                called.reset_mode(6, private=True)
        else:
            fed.feed(b"\x1b[?1049h" if not fed.in_alternate_screen else b"\x1b[?1049l")
            if called.in_alternate_screen:
                called.reset_mode(1049, private=True)
            else:
                called.set_mode(1049, private=True)


@pytest.mark.parametrize("seed", range(6))
def test_parser_fast_paths_do_what_the_screen_methods_do(seed: int) -> None:
    fed = TerminalScreen(50, 12, scrollback=20)  # sizes match the edge values used above
    called = TerminalScreen(50, 12, scrollback=20)
    apply_random_operations(seed, fed, called)
    assert snapshot(fed) == snapshot(called)


def test_scrolling_through_a_region_marks_exactly_the_region_dirty() -> None:
    screen = TerminalScreen(20, 10)
    screen.feed(b"\x1b[3;6r\x1b[6;1H")
    screen.dirty.clear()
    screen.feed(b"one\r\ntwo\r\nthree")
    assert screen.dirty == {2, 3, 4, 5}
    assert [screen.row_text(y).rstrip() for y in range(2, 6)] == ["", "one", "two", "three"]
    assert screen.history_len() == 0, "a region below the top row never feeds the scrollback"


def long_mixed_stream() -> bytes:
    rng = random.Random(11)
    pieces = [b"\x1b]0;" + b"t" * 70_000 + b"\x07", b"x" * 50_000, b"\x1bP" + b"q" * 40_000 + b"\x1b\\"]
    for i in range(4000):
        pieces.append(f"\x1b[3{i % 8}mline {i} {'中' * rng.randint(0, 3)}e\u0301\x1b[0m\r\n".encode())
    return b"".join(pieces)


def test_one_huge_feed_equals_the_same_bytes_in_small_reads() -> None:
    data = long_mixed_stream()
    assert len(data) > 4 * SLICE
    whole = TerminalScreen(60, 20, scrollback=3000)
    whole.feed(data)
    chunked = TerminalScreen(60, 20, scrollback=3000)
    for i in range(0, len(data), 997):
        chunked.feed(data[i : i + 997])
    assert snapshot(whole) == snapshot(chunked)
    assert whole.row_text(whole.cursor.y - 1).startswith("line 3999 ")


def test_one_huge_feed_does_not_hold_the_whole_input_split_in_memory() -> None:
    line = "".join(f"\x1b[3{i % 8}m{i:03d}" for i in range(20)) + "\r\n"
    data = (line * 20_000).encode()  # 4 MB, ~800,000 sequences and runs
    screen = TerminalScreen(120, 40, scrollback=100)
    gc.collect()
    tracemalloc.start()
    try:
        screen.feed(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 24_000_000, f"peak {peak / 1e6:.1f} MB while applying a 4 MB read"


def coloured_lines(count: int, seed: int = 3) -> bytes:
    rng = random.Random(seed)
    words = [
        "def",
        "class",
        "return",
        "import",
        "from",
        "self",
        "None",
        "True",
        "False",
        "async",
        "await",
        "lambda",
        "yield",
        "with",
    ]
    lines = []
    for _ in range(count):
        out, used = [], 0
        while used < 118:
            word = (rng.choice(words) + str(rng.randint(0, 99)))[: 119 - used]
            out.append(f"\x1b[38;5;{rng.randint(16, 231)}m{word}\x1b[0m ")
            used += len(word) + 1
        lines.append("".join(out) + "\r\n")
    return "".join(lines).encode()


def test_ten_thousand_rows_of_coloured_scrollback_fit_in_16_mb() -> None:
    data = coloured_lines(10_040)
    gc.collect()
    tracemalloc.start()
    try:
        screen = TerminalScreen(120, 40, scrollback=10_000)
        for i in range(0, len(data), 65536):
            screen.feed(data[i : i + 65536])
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert screen.history_len() == 10_000
    assert all(len(row) == 120 for row in screen.history)
    assert screen.history[-1][0].fg not in ("default", "")  # really coloured
    assert held < 16_000_000, f"{held / 1e6:.1f} MB for the screen and its scrollback"


def test_many_styles_and_words_keep_the_caches_bounded() -> None:
    rng = random.Random(5)
    pieces = []
    for i in range(8_000):
        r, g, b = rng.randrange(256), rng.randrange(256), rng.randrange(256)
        pieces.append(f"\x1b[38;2;{r};{g};{b}m{chr(0x4E00 + rng.randrange(3000))}w{rng.randrange(10**6)}")
        if i % 10 == 9:
            pieces.append("\r\n")
    data = "".join(pieces).encode()
    screen = TerminalScreen(80, 24, scrollback=0)
    gc.collect()
    tracemalloc.start()
    try:
        for i in range(0, len(data), 65536):
            screen.feed(data[i : i + 65536])
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert held < 8_000_000, f"{held / 1e6:.1f} MB of caches for 8,000 distinct styles"
    assert screen.buffer[screen.cursor.y - 1][0].fg != "default"


def test_rows_leaving_a_full_scrollback_are_reused_for_new_lines() -> None:
    screen = TerminalScreen(30, 5, scrollback=8)
    screen.feed(b"".join(b"fill %d\r\n" % i for i in range(20)))
    rows_before = {id(row) for row in screen.history} | {id(row) for row in screen.buffer}
    screen.feed(b"".join(b"more %d\r\n" % i for i in range(50)))
    rows_after = {id(row) for row in screen.history} | {id(row) for row in screen.buffer}
    assert rows_after == rows_before
    assert screen.row_text(3).rstrip() == "more 49"
    assert screen.row_text(4).strip() == ""
    assert ["".join(c.data for c in row).rstrip() for row in screen.history][-2:] == ["more 44", "more 45"]


def test_a_row_someone_still_holds_is_never_overwritten() -> None:
    screen = TerminalScreen(30, 5, scrollback=3)
    screen.feed(b"".join(b"line %d\r\n" % i for i in range(10)))
    held = screen.history[0]
    held_text = "".join(cell.data for cell in held)
    held_buffer_row = screen.buffer[0]
    buffer_text = "".join(cell.data for cell in held_buffer_row)
    screen.feed(b"".join(b"\x1b[1mnew %d\r\n" % i for i in range(20)))
    assert "".join(cell.data for cell in held) == held_text
    assert "".join(cell.data for cell in held_buffer_row) == buffer_text
    assert screen.row_text(3).rstrip() == "new 19"
    assert screen.buffer[3][0] == Cell("n", bold=True)


def test_alternate_screen_scrolling_reuses_rows_and_keeps_content_right() -> None:
    screen = TerminalScreen(20, 4, scrollback=10)
    screen.feed(b"\x1b[?1049h" + b"".join(b"alt %d\r\n" % i for i in range(30)) + b"last")
    assert [screen.row_text(y).rstrip() for y in range(4)] == ["alt 27", "alt 28", "alt 29", "last"]
    assert screen.history_len() == 0


BLOCK_SGRS = ["0", "", "1", "2", "22", "31", "01;34", "38;5;208", "48;5;17", "38;2;10;20;30", "7", "27", "44", "49"]


def block_stream(seed: int, columns: int) -> bytes:
    """Mostly plain coloured lines (some wider than the screen, some with a background colour at the
    line feed), now and then a line no block takes (tab, wide character, cursor move, no CR)."""
    rng = random.Random(seed)
    out: list[str] = []
    for _ in range(900):
        roll = rng.random()
        if roll < 0.01:
            out.append(rng.choice(["a\tb", "界 wide", "\x1b[2;3Hmoved", "bare lf\n", "\x1b[Kcleared"]))
        if roll > 0.99:
            width = columns + rng.randint(1, 5)
        else:
            width = rng.choice((0, 1, columns - 1, columns, rng.randint(0, columns), rng.randint(0, columns)))
        line = ""
        while len(line) < width:
            line += f"\x1b[{rng.choice(BLOCK_SGRS)}m" if rng.random() < 0.3 else rng.choice("ab cd-_.")
        out.append(line + "\r" * rng.randint(1, 2) + "\n")
    return "".join(out).encode()


@pytest.mark.parametrize(
    ("seed", "columns", "lines", "scrollback"),
    [(1, 40, 6, 100), (2, 40, 6, 0), (3, 30, 10, 15), (4, 80, 24, 10_000), (5, 300, 5, 50)],
)
def test_lines_skipping_the_screen_end_exactly_as_if_drawn_one_by_one(
    seed: int, columns: int, lines: int, scrollback: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = block_stream(seed, columns)
    skipped: list[int] = []
    scroll_in_lines = TerminalScreen.scroll_in_lines

    def counting(screen: TerminalScreen, block: str) -> int:
        applied = scroll_in_lines(screen, block)
        skipped.append(applied)
        return applied

    monkeypatch.setattr(TerminalScreen, "scroll_in_lines", counting)
    at_once = TerminalScreen(columns, lines, scrollback=scrollback)
    at_once.feed(data)
    assert sum(skipped) > len(data) // 3, "many lines skipped the screen"
    byte_by_byte = TerminalScreen(columns, lines, scrollback=scrollback)
    for i in range(len(data)):
        byte_by_byte.feed(data[i : i + 1])
    assert snapshot(at_once) == snapshot(byte_by_byte)


def test_a_block_under_a_scroll_region_or_on_the_alternate_screen_is_drawn_as_usual() -> None:
    lines = b"".join(b"\x1b[32mline %d\x1b[0m\r\n" % i for i in range(400))
    for setup in (b"\x1b[2;6r\x1b[6;1H", b"\x1b[?1049h\x1b[8;1H"):
        at_once = TerminalScreen(30, 8, scrollback=50)
        at_once.feed(setup + lines)
        byte_by_byte = TerminalScreen(30, 8, scrollback=50)
        for byte in setup + lines:
            byte_by_byte.feed(bytes([byte]))
        assert snapshot(at_once) == snapshot(byte_by_byte)


@pytest.mark.parametrize("string", [b"\x1b]0;title\r\n", b"\x1bPq#0\r\n", b"\x1b]2;two\r\nlines\r\n"])
def test_plain_looking_lines_inside_an_unfinished_string_sequence_belong_to_it(string: bytes) -> None:
    """An OSC or DCS whose payload holds line feeds, then a long block of plain lines (which ends the
    string at its first ESC): the string is applied in its place, as it is when fed byte by byte."""
    data = b"x\r\n" * 10 + string + b"".join(b"\x1b[32mline %d\x1b[0m\r\n" % i for i in range(400)) + b"tail"
    titles: dict[str, list[str]] = {"at once": [], "byte by byte": []}
    at_once = TerminalScreen(30, 8, scrollback=50)
    at_once.on_title = titles["at once"].append
    at_once.feed(data)
    byte_by_byte = TerminalScreen(30, 8, scrollback=50)
    byte_by_byte.on_title = titles["byte by byte"].append
    for byte in data:
        byte_by_byte.feed(bytes([byte]))
    assert snapshot(at_once) == snapshot(byte_by_byte)
    assert titles["at once"] == titles["byte by byte"]
    assert at_once.row_text(6).rstrip() == "line 399"
