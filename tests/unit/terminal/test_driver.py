"""The Esc key reaches the pane at once, and every other key, split sequence and paste parses as before.

Each test runs a driver's real input thread (read, decode, Textual's parser, process_message) on a pipe
or a raw-mode pty standing in for the user's terminal, writes the bytes a legacy terminal sends, and
records when each message leaves the driver.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import queue
import select
import signal
import statistics
import struct
import subprocess
import sys
import termios
import threading
import time
import tty
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import pytest
import textual._xterm_parser
from textual import constants, events
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

from taskping_tui.terminal import driver as driver_module
from taskping_tui.terminal.driver import (
    LONE_ESCAPE_WINDOW_SECONDS,
    PasteTracker,
    PromptEscapeDriver,
    driver_class,
)
from tests.support import ROOT

PROMPT_ESC_BOUND = 0.060  # the brief's bound for one bare Esc; Textual's own floor is ESCDELAY (100 ms)
SOURCES = ["pipe", "pty"]


class FakeApp:
    """Stands in for the App: the driver stamps messages with it and reports a crashed input thread to it."""

    def __init__(self) -> None:
        self.panics: list[tuple[Any, ...]] = []

    def call_later(self, callback: Callable[..., Any], *args: Any) -> None:
        self.panics.append(args)


@dataclass
class Received:
    at: float
    message: Message


@dataclass
class InputHarness:
    """A driver whose input thread reads from `read_fd`; the test plays the terminal on `write_fd`."""

    driver: LinuxDriver
    app: FakeApp
    read_fd: int
    write_fd: int
    thread: threading.Thread
    stdin: TextIO
    inbox: queue.Queue[Received] = field(default_factory=queue.Queue)

    def write(self, data: bytes) -> float:
        """Send bytes as the terminal would; returns the time just before they were written."""
        started = time.monotonic()
        os.write(self.write_fd, data)
        return started

    def wait_until_read(self, timeout: float = 2.0) -> None:
        """Block until the input thread has read everything written so far (so the next write is a new read)."""
        give_up = time.monotonic() + timeout
        while self._unread_bytes():
            assert time.monotonic() < give_up, "the input thread never read its input"
            time.sleep(0.0005)

    def hang_up(self) -> None:
        """The terminal side goes away (stdin was a pipe that its writer closed)."""
        os.close(self.write_fd)
        self.write_fd = -1

    def next_message(self, timeout: float = 1.0) -> Received:
        return self.inbox.get(timeout=timeout)

    def messages_for(self, seconds: float) -> list[Received]:
        """Everything delivered during the next `seconds`."""
        received: list[Received] = []
        give_up = time.monotonic() + seconds
        while (left := give_up - time.monotonic()) > 0:
            try:
                received.append(self.inbox.get(timeout=left))
            except queue.Empty:
                break
        return received

    def _unread_bytes(self) -> int:
        raw = fcntl.ioctl(self.read_fd, termios.FIONREAD, struct.pack("i", 0))
        count: int = struct.unpack("i", raw)[0]
        return count


def keys(received: list[Received]) -> list[str]:
    return [r.message.key for r in received if isinstance(r.message, events.Key)]


def _open_terminal_stand_in(source: str) -> tuple[int, int]:
    """(read_fd, write_fd): a pipe, or a pty whose slave is in raw mode as Textual puts a terminal."""
    if source == "pipe":
        return os.pipe()
    master, slave = os.openpty()
    tty.setraw(slave)
    return slave, master


def _build_driver(driver_cls: type[LinuxDriver], app: FakeApp, inbox: queue.Queue[Received]) -> LinuxDriver:
    class Recording(driver_cls):  # type: ignore[valid-type,misc]
        def send_message(self, message: Message) -> None:
            inbox.put(Received(time.monotonic(), message))

    async def build() -> LinuxDriver:  # Driver.__init__ needs a running loop
        return Recording(app)  # type: ignore[arg-type]

    return asyncio.run(build())


@pytest.fixture
def start_input() -> Iterator[Callable[..., InputHarness]]:
    harnesses: list[InputHarness] = []
    saved_handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTSTP, signal.SIGCONT)}
    saved_stdin = sys.__stdin__

    def start(driver_cls: type[LinuxDriver] = PromptEscapeDriver, source: str = "pipe") -> InputHarness:
        read_fd, write_fd = _open_terminal_stand_in(source)
        stdin = open(read_fd, closefd=False)  # noqa: SIM115 - closed at teardown
        sys.__stdin__ = stdin  # the driver reads the fd behind sys.__stdin__
        app = FakeApp()
        inbox: queue.Queue[Received] = queue.Queue()
        driver = _build_driver(driver_cls, app, inbox)
        thread = threading.Thread(target=driver._run_input_thread, name="test-input", daemon=True)
        harness = InputHarness(driver, app, read_fd, write_fd, thread, stdin, inbox)
        harnesses.append(harness)
        thread.start()
        return harness

    yield start

    sys.__stdin__ = saved_stdin
    for sig, handler in saved_handlers.items():
        signal.signal(sig, handler)
    for harness in harnesses:
        harness.driver.exit_event.set()
        harness.thread.join(timeout=2.0)
        harness.stdin.close()
        os.close(harness.read_fd)
        if harness.write_fd != -1:
            os.close(harness.write_fd)
        assert not harness.thread.is_alive(), "the input thread did not stop when asked"
        assert harness.app.panics == [], "the input thread crashed"


def _esc_delays(harness: InputHarness, presses: int) -> list[float]:
    delays: list[float] = []
    for _ in range(presses):
        sent = harness.write(b"\x1b")
        received = harness.next_message()
        assert isinstance(received.message, events.Key) and received.message.key == "escape"
        delays.append(received.at - sent)
        time.sleep(0.03)
    return delays


@pytest.mark.parametrize("source", SOURCES)
def test_a_bare_esc_reaches_the_app_well_before_textuals_escdelay(
    start_input: Callable[..., InputHarness], source: str
) -> None:
    harness = start_input(source=source)
    delays = _esc_delays(harness, presses=5)
    # Every press beats Textual's 100 ms floor even on a loaded machine; typically each takes ~16 ms.
    assert max(delays) < constants.ESCAPE_DELAY, delays
    assert statistics.median(delays) < PROMPT_ESC_BOUND, delays
    assert keys(harness.messages_for(0.05)) == [], "one Esc press must be one Escape key"


def test_textuals_stock_driver_holds_a_bare_esc_for_escdelay(
    start_input: Callable[..., InputHarness],
) -> None:
    """The baseline the prompt driver removes: Textual waits at least ESCDELAY (then up to one more poll)."""
    harness = start_input(driver_cls=LinuxDriver)
    sent = harness.write(b"\x1b")
    received = harness.next_message()
    assert isinstance(received.message, events.Key) and received.message.key == "escape"
    assert received.at - sent >= constants.ESCAPE_DELAY


def test_esc_esc_is_two_prompt_escape_keys(start_input: Callable[..., InputHarness]) -> None:
    """Claude Code rewinds on Esc Esc: two presses, or both bytes in one read, give two Escape keys fast."""
    harness = start_input()
    assert len(_esc_delays(harness, presses=2)) == 2

    sent = harness.write(b"\x1b\x1b")
    received = harness.messages_for(0.1)
    assert keys(received) == ["escape", "escape"]
    assert received[-1].at - sent < constants.ESCAPE_DELAY


def test_text_then_esc_in_one_read_delivers_the_esc_promptly(
    start_input: Callable[..., InputHarness],
) -> None:
    harness = start_input()
    sent = harness.write(b"ls\x1b")
    received = harness.messages_for(0.1)
    assert keys(received) == ["l", "s", "escape"]
    assert received[-1].at - sent < constants.ESCAPE_DELAY


def _write_split(harness: InputHarness, first: bytes, rest: bytes, gap: float) -> float:
    """Write `first`, let the input thread read it alone, write `rest` after `gap`; returns the real gap."""
    sent = harness.write(first)
    harness.wait_until_read()
    time.sleep(max(0.0, gap - (time.monotonic() - sent)))
    harness.write(rest)
    return time.monotonic() - sent


def test_an_arrow_key_split_right_after_its_esc_is_still_one_up_key(
    start_input: Callable[..., InputHarness],
) -> None:
    harness = start_input()
    for _attempt in range(5):
        gap = _write_split(harness, b"\x1b", b"[A", gap=0.005)
        received = keys(harness.messages_for(0.15))
        if gap < LONE_ESCAPE_WINDOW_SECONDS:
            assert received == ["up"]
            return
        # The machine stalled the writer past the window: either reading is right then, so try again.
    pytest.fail("could not write the two halves within the lone-Esc window in 5 attempts")


def test_a_sequence_split_after_its_csi_keeps_textuals_full_delay(
    start_input: Callable[..., InputHarness],
) -> None:
    """Only a read ending on a lone ESC is hurried; `ESC [` then a pause longer than the window is still Up."""
    harness = start_input()
    for _attempt in range(5):
        gap = _write_split(harness, b"\x1b[", b"A", gap=3 * LONE_ESCAPE_WINDOW_SECONDS)
        received = keys(harness.messages_for(0.15))
        if gap < constants.ESCAPE_DELAY:
            assert received == ["up"]
            return
    pytest.fail("could not write the two halves within ESCDELAY in 5 attempts")


@pytest.mark.parametrize("source", SOURCES)
def test_esc_and_a_letter_in_one_read_is_alt_letter(start_input: Callable[..., InputHarness], source: str) -> None:
    """Textual still resolves ESC+letter itself (after its ESCDELAY); the lone-Esc window leaves it alone."""
    harness = start_input(source=source)
    harness.write(b"\x1ba")
    assert keys(harness.messages_for(constants.ESCAPE_DELAY + 0.2)) == ["alt+a"]


@pytest.mark.parametrize("source", SOURCES)
def test_a_bracketed_paste_is_one_paste_event(start_input: Callable[..., InputHarness], source: str) -> None:
    harness = start_input(source=source)
    harness.write(b"\x1b[200~git log --oneline\rexit\x1b[201~")
    received = harness.messages_for(0.15)
    assert [r.message.text for r in received if isinstance(r.message, events.Paste)] == ["git log --oneline\rexit"]
    assert keys(received) == []


def test_a_paste_whose_read_ends_on_the_end_markers_esc_is_not_cut_short(
    start_input: Callable[..., InputHarness],
) -> None:
    """Inside a paste a trailing ESC starts the end marker: it keeps Textual's delay, not the short window."""
    harness = start_input()
    for _attempt in range(5):
        gap = _write_split(harness, b"\x1b[200~hello world\x1b", b"[201~", gap=3 * LONE_ESCAPE_WINDOW_SECONDS)
        received = harness.messages_for(0.15)
        if gap < constants.ESCAPE_DELAY:
            assert [r.message.text for r in received if isinstance(r.message, events.Paste)] == ["hello world"]
            assert keys(received) == []
            return
        harness.write(b"\x1b[201~")  # end the stalled paste before trying again
        harness.messages_for(0.15)
    pytest.fail("could not write the two halves within ESCDELAY in 5 attempts")


def test_keys_typed_after_a_paste_are_keys_again(start_input: Callable[..., InputHarness]) -> None:
    harness = start_input()
    harness.write(b"\x1b[200~pasted\x1b[201~")
    assert [type(r.message) for r in harness.messages_for(0.1)] == [events.Paste]
    sent = harness.write(b"\x1b")
    received = harness.next_message()
    assert isinstance(received.message, events.Key) and received.message.key == "escape"
    assert received.at - sent < constants.ESCAPE_DELAY


def test_when_input_ends_a_pending_esc_is_delivered_and_the_input_thread_stops(
    start_input: Callable[..., InputHarness],
) -> None:
    harness = start_input()
    harness.write(b"\x1b")
    harness.hang_up()
    assert keys(harness.messages_for(0.1)) == ["escape"]
    harness.thread.join(timeout=1.0)
    assert not harness.thread.is_alive(), "the input thread must not spin on a closed input"


@pytest.mark.parametrize(
    ("reads", "inside"),
    [
        (["\x1b[200~abc"], True),
        (["\x1b[200~abc\x1b[201~"], False),
        (["\x1b[20", "0~abc"], True),
        (["\x1b[200~abc\x1b[2", "01~"], False),
        (["\x1b[200~a", "b", "c\x1b"], True),
        (["\x1b[200~a\x1b[201~x\x1b[200~b"], True),
        (["plain text\x1b"], False),
    ],
)
def test_paste_tracking_follows_markers_cut_across_reads(reads: list[str], inside: bool) -> None:
    tracker = PasteTracker()
    for text in reads:
        tracker.update(text)
    assert tracker.inside is inside


class _RenamedDeadlineParser(XTermParser):
    """A future Textual whose parser keeps its escape deadline somewhere else."""

    @property  # type: ignore[override]
    def _timeout_time(self) -> float | None:
        return None

    @_timeout_time.setter
    def _timeout_time(self, value: float | None) -> None:
        self._elsewhere = value


def test_the_installed_textual_supports_prompt_escape() -> None:
    """Fails when a Textual upgrade changes the parser internals the driver relies on."""
    assert driver_module._textual_parser_supports_early_escape()


def test_changed_textual_internals_fall_back_to_textuals_own_input_loop(
    start_input: Callable[..., InputHarness],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(textual._xterm_parser, "XTermParser", _RenamedDeadlineParser)
    with caplog.at_level(logging.WARNING, logger="taskping_tui.terminal.driver"):
        harness = start_input()
        sent = harness.write(b"\x1b")
        received = harness.next_message()
    assert isinstance(received.message, events.Key) and received.message.key == "escape"
    assert received.at - sent >= constants.ESCAPE_DELAY  # Textual's own behaviour, still working
    assert "falls back to Textual's" in caplog.text


def test_driver_class_is_the_prompt_escape_driver_on_linux_and_macos(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(constants, "DRIVER", None)
    for platform in ("linux", "darwin"):
        monkeypatch.setattr(sys, "platform", platform)
        chosen = driver_class()
        assert chosen is PromptEscapeDriver and issubclass(chosen, LinuxDriver)


def test_driver_class_leaves_the_choice_to_textual_elsewhere_or_when_overridden(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(constants, "DRIVER", None)
    monkeypatch.setattr(sys, "platform", "win32")
    assert driver_class() is None

    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(constants, "DRIVER", "textual.drivers.web_driver:WebDriver")
    assert driver_class() is None


KEY_REPORTING_APP = """
import os, sys, time
from textual import events
from textual.app import App
from taskping_tui.terminal.driver import driver_class

REPORT = int(sys.argv[2])

class KeyReporter(App[None]):
    def on_mount(self) -> None:
        os.write(REPORT, b"ready 0\\n")

    def on_key(self, event: events.Key) -> None:
        os.write(REPORT, b"%s %.6f\\n" % (event.key.encode(), time.monotonic()))
        if event.key == "q":
            self.exit()

KeyReporter(driver_class=driver_class() if sys.argv[1] == "prompt" else None).run()
"""


def _esc_delays_in_a_real_app(script: Path, which: str, presses: int) -> list[float]:
    """Run a Textual app in a pty as a user's terminal would, press Esc, return press-to-handler delays."""
    master, slave = os.openpty()
    report_read, report_write = os.pipe()
    child = subprocess.Popen(
        [sys.executable, str(script), which, str(report_write)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        pass_fds=(report_write,),
        start_new_session=True,
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k != "TEXTUAL_DRIVER"},
            "TERM": "xterm-256color",
        },
    )
    os.close(slave)
    os.close(report_write)
    reports = b""
    screen_output = b""

    def next_report() -> tuple[str, float]:
        nonlocal reports, screen_output
        give_up = time.monotonic() + 20.0
        while b"\n" not in reports:
            assert time.monotonic() < give_up, screen_output[-2000:]
            ready, _, _ = select.select([report_read, master], [], [], 0.05)
            if master in ready:  # keep the app's screen output flowing
                try:
                    screen_output += os.read(master, 65536)
                except OSError:  # EIO: the app exited
                    raise AssertionError(screen_output[-2000:]) from None
            if report_read in ready:
                reports += os.read(report_read, 4096)
        line, reports = reports.split(b"\n", 1)
        key, at = line.decode().split()
        return key, float(at)

    try:
        assert next_report()[0] == "ready"
        delays: list[float] = []
        for press in range(presses):
            time.sleep(0.05 + 0.03 * (press % 3))
            sent = time.monotonic()
            os.write(master, b"\x1b")
            key, at = next_report()
            assert key == "escape"
            delays.append(at - sent)
        os.write(master, b"q")
        assert next_report()[0] == "q"
        _drain_until_exit(master, child)
        return delays
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=5)
        os.close(master)
        os.close(report_read)


def _drain_until_exit(master: int, child: subprocess.Popen[bytes]) -> None:
    """Read the app's output so it can restore the terminal and exit; EIO means it has gone."""
    while child.poll() is None:
        if select.select([master], [], [], 0.05)[0]:
            try:
                os.read(master, 65536)
            except OSError:
                break
    child.wait(timeout=5)


@pytest.mark.slow
def test_a_real_textual_app_gets_esc_promptly_with_driver_class(tmp_path: Path) -> None:
    """End to end: `App(driver_class=driver_class())` in a pty; Textual's default driver for contrast."""
    script = tmp_path / "key_reporter.py"
    script.write_text(KEY_REPORTING_APP)
    prompt = _esc_delays_in_a_real_app(script, "prompt", presses=5)
    stock = _esc_delays_in_a_real_app(script, "stock", presses=2)
    assert statistics.median(prompt) < PROMPT_ESC_BOUND, prompt
    assert min(stock) >= constants.ESCAPE_DELAY, stock
