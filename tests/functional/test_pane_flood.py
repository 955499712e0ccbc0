"""The pane while a real child floods it: frames are skipped, but never the last one or a key's echo."""

from __future__ import annotations

import sys

from taskping_tui.terminal.screen import TerminalScreen
from taskping_tui.terminal.view import TerminalView
from tests.functional.test_pane import PaneApp, painted_text, pane_of
from tests.support.terminal_pane_fixtures import wait_until

# Writes numbered, coloured lines as fast as the pane takes them, then a last line, then waits.
FLOOD_THEN_WAIT = (
    "import os, sys\n"
    "lines = ''.join(f'\\x1b[3{n % 8}mline {n:7d} ' + 'x' * 60 + '\\x1b[0m\\r\\n' for n in range(60000))\n"
    "os.write(1, lines.encode() + b'flood-done\\r\\n')\n"
    "sys.stdin.read(1)\n"
)

# Floods every row but the last from a thread, and echoes each key on the last row.
FLOOD_AND_ECHO = (
    "import os, threading, tty\n"
    "tty.setraw(0)\n"
    "cols, rows = os.get_terminal_size(1)\n"
    "lock = threading.Lock()\n"
    "def flood():\n"
    "    i = 0\n"
    "    while True:\n"
    "        frame = ''.join(f'\\x1b[{r};1H\\x1b[3{(i + r) % 8}mframe {i:7d} row {r:3d}\\x1b[0m'\n"
    "                        for r in range(1, rows - 1))\n"
    "        with lock:\n"
    "            os.write(1, ('\\x1b7' + frame + '\\x1b8').encode())\n"
    "        i += 1\n"
    "with lock:\n"
    "    os.write(1, f'\\x1b[{rows};1Hready'.encode())\n"
    "threading.Thread(target=flood, daemon=True).start()\n"
    "while True:\n"
    "    data = os.read(0, 64)\n"
    "    if b'q' in data:\n"
    "        break\n"
    "    with lock:\n"
    "        os.write(1, f'\\x1b[{rows};1H\\x1b[2K> {data.decode()}'.encode())\n"
)


async def test_the_last_frame_of_a_flood_is_painted() -> None:
    app = PaneApp([sys.executable, "-c", FLOOD_THEN_WAIT])
    async with app.run_test(size=(100, 30)) as pilot:
        pane = pane_of(pilot)
        await wait_until(lambda: "flood-done" in painted_text(pane), 30.0, what="the flood's last line painted")
        painted = painted_text(pane).rstrip("\n").splitlines()
        assert painted[-2:] == ["line   59999 " + "x" * 60, "flood-done"]
        assert pane.terminal_screen.history_len() == 1000  # the pane's scrollback is full, not skipped
        pane.write(b"q")


async def test_a_key_typed_while_the_pane_floods_is_echoed_on_screen() -> None:
    app = PaneApp([sys.executable, "-c", FLOOD_AND_ECHO])
    async with app.run_test(size=(100, 30)) as pilot:
        pane = pane_of(pilot)
        await wait_until(lambda: "frame" in painted_text(pane), 10.0, what="the flood to start")
        for key in "abc":
            await pilot.press(key)
            await wait_until(
                lambda key=key: f"> {key}" in painted_text(pane).splitlines()[-1],
                5.0,  # type: ignore[misc]
                what=f"the echo of {key!r}",
            )
        await pilot.press("q")


class FakeSession:
    """What TerminalView's frame pacing reads from its session."""

    def __init__(self) -> None:
        self.bytes_parsed = 0
        self.caught_up = False
        self.output_paused = False
        self.screen = TerminalScreen(80, 24)


def paced_view() -> tuple[TerminalView, FakeSession]:
    view = TerminalView()
    session = FakeSession()
    view._session = session  # type: ignore[assignment]
    return view, session


def test_frames_are_held_while_the_child_floods_and_no_key_was_typed() -> None:
    view, session = paced_view()
    view._last_paint = 100.0
    session.bytes_parsed = 1_000_000
    assert view._hold_for_flood(100.02) > 0
    assert view._hold_for_flood(100.0 + 1.0) == 0  # a frame is never held longer than FLOOD_FRAME_INTERVAL


def test_the_echo_of_a_key_typed_during_a_flood_is_not_held_back() -> None:
    view, session = paced_view()
    view._last_paint = 100.0
    session.bytes_parsed = 1_000_000
    view.last_key_time = 100.0
    screen = session.screen
    screen.dirty.clear()
    screen.dirty.update(range(10, 20))  # the flood redraws rows away from the cursor (row 0): still paced
    assert view._hold_for_flood(100.02) > 0
    screen.dirty.add(screen.cursor.y)  # the cursor's row changed: the echo may be there
    assert view._hold_for_flood(100.02) == 0
    view._last_paint = 100.45
    assert view._hold_for_flood(100.5) > 0  # long after the key the flood is paced again


def test_a_trickle_of_output_is_never_held() -> None:
    view, session = paced_view()
    view._last_paint = 100.0
    session.bytes_parsed = 2_000  # a prompt redraw, not a flood
    assert view._hold_for_flood(100.02) == 0


def test_the_frame_after_a_flood_goes_quiet_is_not_held() -> None:
    view, session = paced_view()
    view._last_paint = 100.0
    session.bytes_parsed = 1_000_000
    view._quiet_mark = session.bytes_parsed  # caught up with the child, nothing parsed since
    assert view._hold_for_flood(100.02) == 0
    session.bytes_parsed += 4096  # the child went on writing after all
    assert view._hold_for_flood(100.02) > 0


def test_the_frame_after_the_emulator_saw_the_flood_pause_is_not_held() -> None:
    view, session = paced_view()
    view._last_paint = 100.0
    session.bytes_parsed = 1_000_000
    assert view._hold_for_flood(100.02) > 0
    session.output_paused = True  # the emulator process saw the PTY stay quiet after the flood
    assert view._hold_for_flood(100.02) == 0
