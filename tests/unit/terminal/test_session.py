"""TerminalSession: child output reaches the screen in bounded slices, replies reach the child."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence

from taskping_tui.terminal.process import READ_CHUNK, ExitStatus
from taskping_tui.terminal.screen import Cell, TerminalScreen
from taskping_tui.terminal.session import (
    PAUSE_READING_AT,
    SLICE_BYTES,
    TerminalSession,
)
from tests.support.terminal_pane_fixtures import wait_until


def screen_text(session: TerminalSession) -> str:
    screen = session.screen
    return "\n".join(screen.row_text(y) for y in range(screen.lines))


class RecordingScreen(TerminalScreen):
    """A TerminalScreen that records each feed() size and can be made slow."""

    feeds: list[int]
    delay = 0.0

    def feed(self, data: bytes) -> None:
        self.feeds.append(len(data))
        if self.delay:
            time.sleep(self.delay)
        super().feed(data)


def recording_factory(delay: float = 0.0):  # type: ignore[no-untyped-def]
    screens: list[RecordingScreen] = []

    def make(columns: int, lines: int, scrollback: int) -> TerminalScreen:
        screen = RecordingScreen(columns, lines, scrollback)
        screen.feeds = []
        screen.delay = delay
        screens.append(screen)
        return screen

    return make, screens


async def test_flood_is_parsed_in_slices_with_loop_turns_in_between() -> None:
    factory, screens = recording_factory()
    events: list[str] = []
    session = TerminalSession(24, 80, screen_factory=factory, on_screen_changed=lambda: events.append("slice"))

    async def ticker() -> None:
        while True:
            events.append("tick")
            await asyncio.sleep(0)

    exits: list[ExitStatus] = []
    session.on_exit = exits.append
    session.start(["sh", "-c", "head -c 400000 /dev/zero | tr '\\0' x"])
    tick_task = asyncio.create_task(ticker())
    try:
        await wait_until(lambda: bool(exits), what="child exit")
    finally:
        tick_task.cancel()
    feeds = screens[-1].feeds
    assert sum(feeds) == session.bytes_parsed == 400000  # every byte parsed exactly once
    assert max(feeds) <= SLICE_BYTES
    # Between two consecutive slices the loop ran other work (the ticker stands in for key handling).
    slices_in_a_row = max(len(run) for run in "".join("s" if e == "slice" else "." for e in events).split("."))
    assert slices_in_a_row == 1


async def test_a_child_faster_than_the_parser_is_held_back_and_nothing_is_lost() -> None:
    factory, screens = recording_factory(delay=0.004)  # ~4 MB/s: slower than the child writes
    exits: list[ExitStatus] = []
    session = TerminalSession(24, 80, screen_factory=factory, on_exit=exits.append)
    session.start(["sh", "-c", "seq 1 60000"])
    expected = sum(len(f"{n}\r\n") for n in range(1, 60001))
    largest_backlog = 0
    while not exits:
        largest_backlog = max(largest_backlog, session.backlog)
        await asyncio.sleep(0.002)
    # The child waits on the full PTY instead of its output piling up here, ahead of any key's echo.
    assert largest_backlog <= PAUSE_READING_AT + READ_CHUNK <= 32 * 1024
    assert session.bytes_parsed == expected
    assert screens[-1].row_text(22).rstrip() == "60000"


async def test_cursor_position_and_device_attribute_queries_are_answered_to_the_child() -> None:
    script = (
        "stty raw -echo; printf 'abc\\033[6n'; IFS= read -r -d R pos; "
        "printf '\\033[c'; IFS= read -r -d c da; "
        'printf \'\\r\\npos=%s da=%s\\r\\n\' "${pos#*[}" "${da#*[}"; sleep 0.05'
    )
    session = TerminalSession(24, 80)
    session.start(["bash", "--norc", "--noprofile", "-c", script])
    await wait_until(lambda: "pos=" in screen_text(session), what="query answers")
    assert "pos=1;4 da=?62;22" in screen_text(session)
    await session.stop(0.5)


async def test_title_and_bell_are_forwarded() -> None:
    titles: list[str] = []
    bells: list[bool] = []
    session = TerminalSession(24, 80, on_title=titles.append, on_bell=lambda: bells.append(True))
    session.start(["sh", "-c", "printf '\\033]0;✳ Claude Code\\007'; printf '\\a'; sleep 0.05"])
    await wait_until(lambda: bool(titles) and bool(bells), what="title and bell")
    assert titles == ["✳ Claude Code"]
    await session.stop(0.5)


async def test_exit_is_reported_after_the_last_output_is_on_screen() -> None:
    seen_at_exit: list[str] = []
    statuses: list[ExitStatus] = []

    def on_exit(status: ExitStatus) -> None:
        statuses.append(status)
        seen_at_exit.append(screen_text(session))

    session = TerminalSession(24, 80, on_exit=on_exit)
    session.start(["sh", "-c", "seq 1 5000; exit 7"])
    await wait_until(lambda: bool(statuses), what="exit")
    assert statuses == [ExitStatus(code=7, signal=None)]
    assert "5000" in seen_at_exit[0]
    assert session.exit_status == statuses[0]
    assert not session.running


async def test_resize_keeps_screen_and_pty_the_same_size() -> None:
    session = TerminalSession(24, 80)
    session.start(["sh", "-c", "read x; stty size; sleep 1"])
    session.resize(33, 111)
    assert (session.screen.lines, session.screen.columns) == (33, 111)
    session.write(b"\r")
    await wait_until(lambda: "33 111" in screen_text(session), what="stty size")
    await session.stop(0.5)


async def test_restart_gets_a_fresh_screen() -> None:
    statuses: list[ExitStatus] = []
    session = TerminalSession(10, 40, on_exit=statuses.append)
    session.start(["sh", "-c", "echo first run"])
    await wait_until(lambda: bool(statuses), what="first exit")
    assert "first run" in screen_text(session)
    session.start(["sh", "-c", "echo second run"])
    await wait_until(lambda: len(statuses) == 2, what="second exit")
    assert "second run" in screen_text(session)
    assert "first run" not in screen_text(session)


async def test_caught_up_only_once_everything_the_child_wrote_is_parsed() -> None:
    exits: list[ExitStatus] = []
    seen_behind = False
    session: TerminalSession

    def on_changed() -> None:
        nonlocal seen_behind
        seen_behind = seen_behind or not session.caught_up

    session = TerminalSession(24, 80, on_screen_changed=on_changed, on_exit=exits.append)
    # A burst far larger than the kernel's PTY buffer, then silence until told to go.
    session.start(
        [
            sys.executable,
            "-c",
            "import os, sys\nos.write(1, b'x' * 2_000_000 + b'\\r\\nburst-done\\r\\n')\nsys.stdin.read(1)\n",
        ]
    )
    await wait_until(lambda: "burst-done" in screen_text(session), 20.0, what="the end of the burst")
    assert seen_behind  # mid-burst the session knew the child had written more than it had parsed
    await wait_until(lambda: session.caught_up, 5.0, what="caught up after the burst")
    session.write(b"q\n")
    await wait_until(lambda: bool(exits), 5.0, what="the child's exit")
    assert session.caught_up


async def history(session: TerminalSession) -> list[Sequence[Cell]]:
    """Every scrollback row, oldest first, as the pane gets them (fetched from the emulator process)."""
    screen = session.screen
    rows: list[Sequence[Cell]] = []
    for index in range(screen.history_len()):
        await wait_until(lambda i=index: screen.history_row(i) is not None, 10.0, what=f"scrollback row {index}")
        row = screen.history_row(index)
        assert row is not None
        rows.append(row)
    return rows


def row_texts(rows: list[Sequence[Cell]]) -> list[str]:
    return ["".join(cell.data for cell in row).rstrip() for row in rows]


async def test_scrollback_holds_exactly_the_last_lines_of_a_long_flood() -> None:
    exits: list[ExitStatus] = []
    session = TerminalSession(24, 80, scrollback=10_000, on_exit=exits.append)
    session.start(["seq", "1", "30000"])
    await wait_until(lambda: bool(exits), 30.0, what="seq to end")
    assert session.parsed_elsewhere
    screen = session.screen
    assert screen.history_len() == 10_000
    shown = [text.rstrip() for text in screen.display]
    lines = row_texts(await history(session)) + [text for text in shown if text]
    assert lines == [str(n) for n in range(30_001 - len(lines), 30_001)]


async def test_scrollback_of_a_flood_with_a_new_colour_every_line_keeps_text_and_colours() -> None:
    # A new truecolour on every line makes the style caches churn: rows go to history compacted.
    script = (
        "import sys\n"
        "out = sys.stdout\n"
        "for n in range(1, 15001):\n"
        "    out.write(f'\\x1b[38;2;{n % 256};{n // 256 % 256};7mline {n}\\x1b[0m\\n')\n"
    )
    exits: list[ExitStatus] = []
    session = TerminalSession(24, 80, scrollback=10_000, on_exit=exits.append)
    session.start([sys.executable, "-c", script])
    await wait_until(lambda: bool(exits), 30.0, what="the flood to end")
    assert session.parsed_elsewhere
    rows = await history(session)
    assert len(rows) == 10_000
    texts = row_texts(rows)
    first = int(texts[0].split()[1])
    assert texts == [f"line {n}" for n in range(first, first + 10_000)]
    for row, n in ((rows[0], first), (rows[-1], first + 9_999)):
        assert row[0].fg == f"{n % 256:02x}{n // 256 % 256:02x}07"
        assert row[len(f"line {n}")].fg == "default"
