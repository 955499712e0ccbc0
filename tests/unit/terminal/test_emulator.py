"""The emulator process and the pane's mirror of it: rows travel intact, the pane survives it."""

from __future__ import annotations

import os
import pickle
import selectors
import signal
import sys
import time
from pathlib import Path

import pytest
from textual.theme import BUILTIN_THEMES

from taskping_tui.terminal.emulator import ScreenChannel
from taskping_tui.terminal.mirror import HISTORY_PAGE, ScreenMirror
from taskping_tui.terminal.palette import palette_for
from taskping_tui.terminal.protocol import (
    Ack,
    Feed,
    HistoryRows,
    HistoryState,
    MessageBuffer,
    Open,
    ScreenModes,
    ScreenUpdate,
    StyleIds,
    encode,
    pack_row,
)
from taskping_tui.terminal.screen import HistoryRow, TerminalScreen
from taskping_tui.terminal.session import TerminalSession
from taskping_tui.terminal.view import CellStyles, render_row
from tests.support.terminal_pane_fixtures import wait_until

MIXED = "\x1b[1;31mred\x1b[0m plain \x1b[38;2;1;2;3;48;5;200m界e\u0301x\x1b[7m rev \x1b[0m\r\n\x1b[4mnext\x1b[0m"


def test_packed_rows_arrive_with_the_same_cells_and_draw_the_same() -> None:
    screen = TerminalScreen(20, 3)
    screen.feed(MIXED.encode())
    ids = StyleIds()
    packed = {y: pack_row(screen.buffer[y], ids) for y in range(screen.lines)}
    (arrived,) = MessageBuffer().add(encode((packed, ids.new)))
    rows, styles = arrived
    styles_for = CellStyles(palette_for(BUILTIN_THEMES["textual-dark"]))
    for y, row in rows.items():
        row.styles = styles
        assert list(row) == screen.buffer[y]
        assert [row[x] for x in range(20)] == screen.buffer[y]
        for cursor_x in (None, 0, 3, 13, 19):
            assert render_row(row, 20, styles_for, cursor_x) == render_row(screen.buffer[y], 20, styles_for, cursor_x)


def test_a_message_cut_anywhere_is_read_whole_once_the_rest_arrives() -> None:
    data = encode("first") + encode(list(range(1000))) + encode("last")
    for cut in (1, 3, 5, len(data) // 2, len(data) - 1):
        buffer = MessageBuffer()
        assert buffer.add(data[:cut]) + buffer.add(data[cut:]) == ["first", list(range(1000)), "last"]


class Planted:
    """Unpickling this would run a command."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("touch /tmp/taskping-should-not-exist",))


def test_a_message_naming_anything_but_the_protocol_is_refused_not_run() -> None:
    with pytest.raises(pickle.UnpicklingError, match="not a message of the emulator protocol"):
        MessageBuffer().add(encode((1, Planted())))
    assert not Path("/tmp/taskping-should-not-exist").exists()


def update(rows: dict[int, str], history: HistoryState, columns: int = 10) -> ScreenUpdate:
    screen = TerminalScreen(columns, 3)
    ids = StyleIds()
    screen.feed("\r\n".join(rows.values()).encode())
    packed = {y: pack_row(screen.buffer[n], ids) for n, y in enumerate(rows)}
    return ScreenUpdate(
        rows=packed,
        moves={},
        new_styles=ids.new,
        styles_reset=True,
        cursor=(2, 1, False),
        modes=ScreenModes(bracketed_paste=True),
        history=history,
        bytes_parsed=10,
        caught_up=True,
    )


def test_the_mirror_shows_what_the_update_sent_and_fetches_the_scrollback_a_page_at_a_time() -> None:
    asked: list[tuple[int, int]] = []
    mirror = ScreenMirror(10, 3, feed=lambda data: None, fetch=lambda first, count: asked.append((first, count)))
    mirror.dirty.clear()
    mirror.apply(update({1: "hello"}, HistoryState(length=300, pushed=1000, epoch=0)))
    assert mirror.display[1] == "hello     " and mirror.dirty == {1}
    assert (mirror.cursor.x, mirror.cursor.y, mirror.bracketed_paste) == (2, 1, True)
    # Row 0 of the scrollback is row 700 of all ever pushed: its page is asked for once.
    assert mirror.history_row(0) is None and mirror.history_row(1) is None
    assert asked == [(512, HISTORY_PAGE)]
    row = HistoryRow(TerminalScreen(10, 1).buffer[0])
    assert mirror.add_history(HistoryRows(request=1, epoch=0, first=700, rows=[row]))
    assert mirror.history_row(0) == row


def test_a_scrollback_page_read_before_its_last_rows_were_pushed_is_asked_for_again() -> None:
    asked: list[tuple[int, int]] = []
    mirror = ScreenMirror(10, 3, feed=lambda data: None, fetch=lambda first, count: asked.append((first, count)))
    mirror.apply(update({0: "a"}, HistoryState(length=2, pushed=2, epoch=0)))
    assert mirror.history_row(1) is None
    row = HistoryRow(TerminalScreen(10, 1).buffer[0])
    assert mirror.add_history(HistoryRows(request=1, epoch=0, first=0, rows=[row, row]))
    mirror.apply(update({0: "a"}, HistoryState(length=3, pushed=3, epoch=0)))  # one more row scrolled off
    assert mirror.history_row(1) == row
    assert mirror.history_row(2) is None  # not in the page as it was read: asked for again
    assert asked == [(0, HISTORY_PAGE), (0, HISTORY_PAGE)]


def test_the_mirror_drops_scrollback_rows_once_the_scrollback_changed_under_them() -> None:
    mirror = ScreenMirror(10, 3, feed=lambda data: None, fetch=lambda first, count: None)
    mirror.apply(update({0: "a"}, HistoryState(length=5, pushed=5, epoch=0)))
    row = HistoryRow(TerminalScreen(10, 1).buffer[0])
    assert mirror.add_history(HistoryRows(request=1, epoch=0, first=0, rows=[row]))
    mirror.apply(update({0: "b"}, HistoryState(length=5, pushed=5, epoch=1)))  # cleared (ESC [3J) and refilled
    assert mirror.history_row(0) is None
    assert not mirror.add_history(HistoryRows(request=1, epoch=0, first=0, rows=[row]))  # an answer from before


def screen_text(session: TerminalSession) -> str:
    return "\n".join(session.screen.display)


async def test_a_pane_whose_emulator_process_dies_goes_on_showing_the_child() -> None:
    session = TerminalSession(10, 60)
    session.start(["cat"])
    await wait_until(lambda: session.parsed_elsewhere and session.screen.cursor is not None, what="the emulator")
    pid = session.emulator_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    await wait_until(lambda: not session.parsed_elsewhere, what="the pane to notice")
    assert "the emulator process ended" in screen_text(session)
    session.write(b"typed after\r")
    await wait_until(lambda: "typed after" in screen_text(session), what="the echo, parsed in the app")
    await session.stop(0.5)


async def test_sessions_share_one_emulator_process_which_ends_with_the_last_of_them() -> None:
    first, second = TerminalSession(10, 40), TerminalSession(10, 40)
    first.start(["sh", "-c", "echo first pane; sleep 5"])
    second.start(["cat"])
    await wait_until(lambda: "first pane" in screen_text(first), what="the first pane's output")
    pid = first.emulator_pid
    assert pid is not None and second.emulator_pid == pid
    await first.stop(0.5)
    first.close()
    second.write(b"still typed\r")  # the other pane's channel goes on
    await wait_until(lambda: "still typed" in screen_text(second), what="the second pane's echo")
    assert "first pane" not in screen_text(second)
    await second.stop(0.5)
    second.close()
    await wait_until(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid), what="the emulator to end")


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return True


async def test_the_emulator_process_gets_none_of_the_apps_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKPING_TEST_SECRET", "hunter2")
    session = TerminalSession(10, 40)
    session.start(["sh", "-c", "sleep 5"])
    pid = session.emulator_pid
    assert pid is not None
    environ = Path(f"/proc/{pid}/environ").read_bytes()
    assert b"hunter2" not in environ and b"TASKPING_TEST_SECRET" not in environ
    await session.stop(0.5)
    session.close()


def test_rows_that_only_scrolled_travel_as_moves_and_the_mirror_shows_the_same_screen() -> None:
    sent: list[object] = []
    channel = ScreenChannel(
        1, lambda _channel, message: sent.append(message), selectors.DefaultSelector(), -1, Open(20, 5, 100, False)
    )
    mirror = ScreenMirror(20, 5, feed=lambda data: None, fetch=lambda first, count: None)

    def exchange(text: str) -> ScreenUpdate:
        channel.handle(Feed(text.encode()))
        time.sleep(channel.wait() or 0.0)  # updates come at most every CAUGHT_UP_GAP
        channel.send_update_when_due()
        update = sent.pop()
        assert isinstance(update, ScreenUpdate)
        mirror.apply(update)
        channel.handle(Ack())
        return update

    exchange("\x1b[32mone\x1b[0m\r\ntwo\r\nthree\r\nfour\r\nfive")
    scrolled = exchange("\r\nsix")
    assert scrolled.moves == {0: 1, 1: 2, 2: 3, 3: 4}  # four rows the app already has, moved up
    assert list(scrolled.rows) == [4]  # only the new bottom row travels
    assert [line.rstrip() for line in mirror.display] == ["two", "three", "four", "five", "six"]
    redrawn = exchange("\x1b[1;1Htwo")  # the same cells drawn again: nothing to send
    assert not redrawn.rows and not redrawn.moves


def test_after_a_flood_the_app_is_told_the_child_paused_even_when_the_last_update_came_too_soon() -> None:
    read_end, write_end = os.pipe()  # stands in for the PTY master: the emulator only reads it
    sent: list[object] = []
    channel = ScreenChannel(
        1,
        lambda _channel, message: sent.append(message),
        selectors.DefaultSelector(),
        read_end,
        Open(80, 24, 100, True),
    )
    try:
        os.write(write_end, b"x" * 40_000)
        channel._on_output()  # everything read and parsed; the pipe is empty now
        channel.send_update_when_due()
        (flooding,) = sent
        assert isinstance(flooding, ScreenUpdate) and not flooding.caught_up  # not quiet long enough yet
        wait = channel.wait()
        assert wait is not None  # a second update is due, though nothing on the screen changed
        time.sleep(wait)
        channel.send_update_when_due()
        paused = sent[-1]
        assert isinstance(paused, ScreenUpdate) and paused.caught_up and not paused.rows
        assert channel.wait() is None  # and then nothing more until the child writes again
    finally:
        channel.close()
        os.close(write_end)


async def test_hostile_output_reaches_the_pane_through_the_emulator_without_breaking_it() -> None:
    titles: list[str] = []
    session = TerminalSession(10, 60, on_title=titles.append)
    script = (
        "import os, time\n"
        "os.write(1, b'\\x1b]0;' + b'\\x80cos\\nsystem\\n(S\\'id\\'\\ntR.' * 2000 + b'\\x07')\n"  # pickle opcodes
        "os.write(1, b'\\x1b]0;' + b'A' * 300_000 + b'\\x07')\n"  # a title too long to keep
        "os.write(1, bytes(range(256)) * 64)\n"  # every byte value, C0 and C1 included
        "time.sleep(0.2)\n"
        "os.write(1, b'\\x1b[0m\\x1b[2J\\x1b[Hstill here\\r\\n')\n"
        "time.sleep(5)\n"
    )
    session.start([sys.executable, "-c", script])
    await wait_until(lambda: "still here" in screen_text(session), 10.0, what="the output after the junk")
    assert session.parsed_elsewhere  # the emulator process took it all and is still the one parsing
    assert len(titles) == 1 and "system" in titles[0]  # the opcodes arrived as text; the 300 KB title was dropped
    await session.stop(0.5)
    session.close()
