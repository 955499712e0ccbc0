"""TerminalSession: one child on a PTY, the screen it draws on, and the scheduling between them.

By default the child's output is parsed in the app's emulator process (see
:mod:`taskping_tui.terminal.emulator`; one for all sessions) and :attr:`TerminalSession.screen`
is the :class:`ScreenMirror` it keeps up to date, so a flood is parsed on one core while the app
paints on the other. Where that process cannot start (or when a test hands in a screen of its own),
output is parsed here, on the loop:

Output is queued as it is read and parsed in slices of at most 16 KiB per event-loop turn, so a child
flooding its terminal never keeps the loop (and with it the user's keystrokes) waiting for more than
one slice. While the unparsed backlog is large the session stops reading from the PTY; the kernel's
buffer then fills and the child's writes block, which is the backpressure a real terminal gives.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from taskping_tui.terminal.cells import Cell
from taskping_tui.terminal.mirror import EmulatorLink, EmulatorUnavailable, ScreenMirror
from taskping_tui.terminal.process import ChildProcess, ExitStatus
from taskping_tui.terminal.protocol import HistoryRows, ScreenUpdate

if TYPE_CHECKING:  # imported when first needed: with the emulator process the app never parses
    from taskping_tui.terminal.screen import TerminalScreen

logger = logging.getLogger(__name__)

SLICE_BYTES = 16 * 1024
PAUSE_READING_AT = 16 * 1024
RESUME_READING_AT = 4 * 1024
DEFAULT_SCROLLBACK = 10_000

ScreenFactory = Callable[[int, int, int], "TerminalScreen"]  # (columns, lines, scrollback)


class ScreenCursorView(Protocol):
    x: int
    y: int
    hidden: bool


class ScreenView(Protocol):
    """What the pane and the agent layer read of a screen: a TerminalScreen or its mirror."""

    lines: int
    columns: int
    dirty: set[int]

    @property
    def buffer(self) -> Sequence[Sequence[Cell]]: ...

    @property
    def cursor(self) -> ScreenCursorView: ...

    @property
    def display(self) -> list[str]: ...

    @property
    def in_alternate_screen(self) -> bool: ...

    @property
    def synchronized_output(self) -> bool: ...

    @property
    def bracketed_paste(self) -> bool: ...

    @property
    def app_cursor_keys(self) -> bool: ...

    @property
    def mouse_tracking(self) -> int: ...

    @property
    def mouse_sgr(self) -> bool: ...

    @property
    def focus_reporting(self) -> bool: ...

    def history_len(self) -> int: ...

    def history_row(self, index: int) -> Sequence[Cell] | None: ...

    def feed(self, data: bytes) -> None: ...

    def resize(self, lines: int, columns: int) -> None: ...


def default_screen_factory(columns: int, lines: int, scrollback: int) -> TerminalScreen:
    from taskping_tui.terminal.screen import TerminalScreen  # noqa: PLC0415 - pyte only when parsing here

    return TerminalScreen(columns, lines, scrollback=scrollback)


def _noop(*_args: object) -> None:
    return None


def _no_fetch(first: int, count: int) -> None:
    """A mirror with no emulator behind it has no scrollback to fetch."""


class TerminalSession:
    """A child process, its TerminalScreen and the byte pipeline between them.

    Callbacks (all optional, run on the loop):
      on_screen_changed() — after each parsed slice (the view schedules a paint);
      on_title(str), on_bell() — forwarded from the screen;
      on_exit(ExitStatus) — once, after the child ended and all its output was parsed.
    """

    def __init__(
        self,
        rows: int,
        cols: int,
        *,
        scrollback: int = DEFAULT_SCROLLBACK,
        screen_factory: ScreenFactory | None = None,
        emulator_process: bool | None = None,
        on_screen_changed: Callable[[], None] = _noop,
        on_title: Callable[[str], None] = _noop,
        on_bell: Callable[[], None] = _noop,
        on_exit: Callable[[ExitStatus], None] = _noop,
    ) -> None:
        self._rows, self._cols = max(1, rows), max(1, cols)
        self._scrollback = scrollback
        self._screen_factory: ScreenFactory = screen_factory or default_screen_factory
        # A screen handed in can only be fed here; otherwise parse in the emulator process.
        self._use_emulator = screen_factory is None if emulator_process is None else emulator_process
        self._link: EmulatorLink | None = None
        self._caught_up = True
        self._parsed_before = 0
        self.on_screen_changed = on_screen_changed
        self.on_title = on_title
        self.on_bell = on_bell
        self.on_exit = on_exit
        self._screen: ScreenView = self._blank_screen()
        self._process: ChildProcess | None = None
        self._backlog: deque[bytes] = deque()
        self._backlog_bytes = 0
        self._parse_handle: asyncio.Handle | None = None
        self._pending_exit: ExitStatus | None = None
        self.exit_status: ExitStatus | None = None
        self.bytes_parsed = 0

    # ----------------------------------------------------------------- state
    @property
    def screen(self) -> ScreenView:
        return self._screen

    @property
    def emulator_pid(self) -> int | None:
        """The emulator process's pid while it parses for this session."""
        return self._link.pid if self._link is not None else None

    @property
    def parsed_elsewhere(self) -> bool:
        """Whether the emulator process parses the child's output (the screen is its mirror)."""
        return self._link is not None

    @property
    def process(self) -> ChildProcess | None:
        return self._process

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.running

    @property
    def backlog(self) -> int:
        """Bytes read from the child and not parsed yet."""
        return self._backlog_bytes

    @property
    def caught_up(self) -> bool:
        """Everything the child wrote so far is parsed: a flood has paused or ended."""
        if self._link is not None:
            return self._caught_up
        process = self._process
        return not self._backlog and (process is None or process.drained)

    @property
    def output_paused(self) -> bool:
        """The child has stopped writing for now, as the emulator process saw it (its PTY stayed
        quiet after a flood): the last frame of a flood is due. Only the emulator process knows."""
        return self._link is not None and self._caught_up

    @property
    def size(self) -> tuple[int, int]:
        """(rows, cols) of both the screen and the PTY."""
        return self._rows, self._cols

    # ----------------------------------------------------------------- lifecycle
    def start(
        self,
        argv: Sequence[str],
        env: Mapping[str, str | None] | None = None,
        cwd: str | os.PathLike[str] | None = None,
    ) -> int:
        """Start `argv` on a fresh screen; returns the pid. Raises CommandNotFoundError."""
        if self.running:
            raise RuntimeError("the session's child is still running")
        self._discard_backlog()
        self.close()
        self._screen = self._blank_screen()
        self.exit_status = None
        self._pending_exit = None
        process = ChildProcess(
            argv,
            on_data=self._on_data,
            on_exit=self._on_process_exit,
            rows=self._rows,
            cols=self._cols,
            env=env,
            cwd=cwd,
            read_output=not self._use_emulator,
        )
        pid = process.start()
        self._process = process
        if self._use_emulator:
            self._start_emulator(process)
        return pid

    def close(self) -> None:
        """Close this session's channel of the emulator process (the last one ends the process);
        the screen stays as it was last shown."""
        link = self._link
        if link is not None:
            self._link = None
            link.close()

    async def stop(self, grace: float = 1.0) -> ExitStatus | None:
        """SIGHUP the child's session, SIGKILL what is left after `grace`, reap."""
        if self._process is None:
            return None
        return await self._process.terminate(grace)

    def write(self, data: bytes) -> None:
        """Send bytes to the child's input (keys, pastes, injected commands)."""
        if self._process is not None:
            self._process.write(data)
            if self._link is not None:
                self._link.hurry()

    def resize(self, rows: int, cols: int) -> None:
        """Resize screen and PTY together so that they always agree."""
        rows, cols = max(1, rows), max(1, cols)
        if (rows, cols) == (self._rows, self._cols):
            return
        self._rows, self._cols = rows, cols
        self._screen.resize(rows, cols)
        if self._link is not None:
            self._link.resize(rows, cols)
        if self._process is not None:
            self._process.resize(rows, cols)
        self.on_screen_changed()

    # ----------------------------------------------------------------- screen
    def _blank_screen(self) -> ScreenView:
        """A fresh screen before the child starts: an empty mirror when the emulator will parse."""
        if self._use_emulator:
            return ScreenMirror(self._cols, self._rows, feed=self._feed_without_emulator, fetch=_no_fetch)
        return self._new_screen()

    def _feed_without_emulator(self, data: bytes) -> None:
        """Text of ours while no emulator runs (the command was not found): parse it here."""
        screen = self._new_screen()
        self._screen = screen
        screen.feed(data)

    def _new_screen(self) -> TerminalScreen:
        screen = self._screen_factory(self._cols, self._rows, self._scrollback)
        screen.on_reply = self.write
        screen.on_bell = self._forward_bell
        screen.on_title = self._forward_title
        return screen

    def _forward_bell(self) -> None:
        self.on_bell()

    def _forward_title(self, title: str) -> None:
        self.on_title(title)

    # ----------------------------------------------------------------- the emulator process
    def _start_emulator(self, process: ChildProcess) -> None:
        link = EmulatorLink(
            on_update=self._on_update,
            on_reply=self.write,
            on_history=self._on_history,
            on_lost=self._on_emulator_lost,
        )
        try:
            link.start(process.fd, self._cols, self._rows, self._scrollback)
        except EmulatorUnavailable as error:
            logger.warning("parsing in the app: the emulator process did not start (%s)", error)
            self._screen = self._new_screen()
            process.take_output()
            return
        self._link = link
        self._caught_up = False
        self._parsed_before = self.bytes_parsed
        self._screen = ScreenMirror(self._cols, self._rows, feed=link.feed, fetch=link.fetch_history)

    def _on_update(self, update: ScreenUpdate) -> None:
        screen = self._screen
        if not isinstance(screen, ScreenMirror):
            return
        screen.apply(update)
        self.bytes_parsed = self._parsed_before + update.bytes_parsed
        self._caught_up = update.caught_up
        for title in update.titles:
            self.on_title(title)
        if update.bells:  # bells rung between two updates ring once
            self.on_bell()
        self.on_screen_changed()
        if update.drained and self._pending_exit is not None:
            self._report_exit(self._pending_exit)

    def _on_history(self, rows: HistoryRows) -> None:
        screen = self._screen
        if isinstance(screen, ScreenMirror) and screen.add_history(rows):
            self.on_screen_changed()

    def _on_emulator_lost(self, reason: str) -> None:
        """Parse here from now on: what the pane showed is gone, the child goes on."""
        self._link = None
        self._screen = self._new_screen()
        self._screen.feed(f"\x1b[0m[{reason}: the earlier output is lost]\r\n".encode())
        process = self._process
        if process is not None:
            process.take_output()
        self.on_screen_changed()
        if self._pending_exit is not None:
            self._report_exit(self._pending_exit)

    # ----------------------------------------------------------------- pipeline
    def _on_data(self, data: bytes) -> None:
        self._backlog.append(data)
        self._backlog_bytes += len(data)
        process = self._process
        if process is not None and self._backlog_bytes >= PAUSE_READING_AT:
            process.pause_reading()
        self._schedule_parse()

    def _schedule_parse(self) -> None:
        if self._parse_handle is None:
            self._parse_handle = asyncio.get_running_loop().call_soon(self._parse_slice)

    def _take_slice(self) -> bytes:
        parts: list[bytes] = []
        budget = SLICE_BYTES
        while self._backlog and budget > 0:
            chunk = self._backlog[0]
            if len(chunk) <= budget:
                parts.append(self._backlog.popleft())
                budget -= len(chunk)
            else:
                parts.append(chunk[:budget])
                self._backlog[0] = chunk[budget:]
                budget = 0
        data = b"".join(parts)
        self._backlog_bytes -= len(data)
        return data

    def _parse_slice(self) -> None:
        self._parse_handle = None
        data = self._take_slice()
        if data:
            self._screen.feed(data)
            self.bytes_parsed += len(data)
            self.on_screen_changed()
        process = self._process
        if process is not None and process.reading_paused and self._backlog_bytes < RESUME_READING_AT:
            process.resume_reading()
        if self._backlog:
            self._schedule_parse()  # yield to the loop before the next slice
        elif self._pending_exit is not None:
            self._report_exit(self._pending_exit)

    def _discard_backlog(self) -> None:
        if self._parse_handle is not None:
            self._parse_handle.cancel()
            self._parse_handle = None
        self._backlog.clear()
        self._backlog_bytes = 0

    def _on_process_exit(self, status: ExitStatus) -> None:
        if self._link is not None:
            self._pending_exit = status  # report once the emulator has parsed the last output
            self._link.drain()
        elif self._backlog:
            self._pending_exit = status  # report after the last output is on screen
        else:
            self._report_exit(status)

    def _report_exit(self, status: ExitStatus) -> None:
        self._pending_exit = None
        self.exit_status = status
        self.on_exit(status)
