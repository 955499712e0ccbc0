"""The app's side of the emulator process: the link to it and the screen it keeps up to date.

:class:`EmulatorHost` starts ``python -m taskping_tui.terminal.emulator`` on a socketpair, one
for the whole app, serviced by the asyncio loop without threads; each pane's :class:`EmulatorLink`
is a channel of it, opened by handing over the pane's PTY master. :class:`ScreenMirror`
holds what the pane shows — rows, cursor, modes — exactly as the emulator's screen had them when
it sent its last update, and fetches scrollback rows when the pane scrolls back to them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

import taskping_tui
from taskping_tui.terminal.cells import BLANK, Cell
from taskping_tui.terminal.protocol import (
    Ack,
    Close,
    Drain,
    EmulatorFailed,
    Feed,
    HistoryRequest,
    HistoryRows,
    HistoryState,
    MessageBuffer,
    Open,
    PackedRow,
    Reply,
    Resize,
    ScreenModes,
    ScreenUpdate,
    StyleKey,
    encode,
)

logger = logging.getLogger(__name__)

HISTORY_PAGE = 256  # scrollback rows asked for at a time
HISTORY_KEPT = 4096  # scrollback rows cached before the cache starts over
# While the child floods, the next update is asked for this long after the last one arrived
# (sooner when a key goes to the child): the pane paints a flood at 10 frames a second anyway.
FLOOD_ACK_DELAY = 1 / 20
KEY_WINDOW = 0.05  # after a key, updates are asked for at once (the echo should not wait)


class EmulatorUnavailable(Exception):
    """The emulator process could not be started."""


class MirrorCursor:
    __slots__ = ("hidden", "x", "y")

    def __init__(self) -> None:
        self.x = 0
        self.y = 0
        self.hidden = False


class ScreenMirror:
    """The pane's copy of the emulator's screen: what TerminalScreen offers readers, read-only.

    ``dirty`` holds the rows an update replaced, for the pane to repaint and clear. ``feed``
    passes text of the app's own to the emulator, which parses it as the child's output.
    """

    def __init__(
        self, columns: int, lines: int, feed: Callable[[bytes], None], fetch: Callable[[int, int], None]
    ) -> None:
        self.columns = max(1, columns)
        self.lines = max(1, lines)
        self.buffer: list[Sequence[Cell]] = [[BLANK] * self.columns for _ in range(self.lines)]
        self.cursor = MirrorCursor()
        self.dirty: set[int] = set(range(self.lines))
        self.modes = ScreenModes()
        self.history_state = HistoryState()
        self._feed = feed
        self._fetch = fetch
        self._styles: list[StyleKey] = []  # the emulator's style table, by id
        self._history: dict[int, Sequence[Cell]] = {}  # absolute index -> row
        self._asked: set[int] = set()  # first rows of pages asked for

    # ------------------------------------------------------------ what readers see
    @property
    def in_alternate_screen(self) -> bool:
        return self.modes.in_alternate_screen

    @property
    def synchronized_output(self) -> bool:
        return self.modes.synchronized_output

    @property
    def bracketed_paste(self) -> bool:
        return self.modes.bracketed_paste

    @property
    def app_cursor_keys(self) -> bool:
        return self.modes.app_cursor_keys

    @property
    def mouse_tracking(self) -> int:
        return self.modes.mouse_tracking

    @property
    def mouse_sgr(self) -> bool:
        return self.modes.mouse_sgr

    @property
    def focus_reporting(self) -> bool:
        return self.modes.focus_reporting

    @property
    def display(self) -> list[str]:
        return [self.row_text(y) for y in range(self.lines)]

    def row_text(self, y: int) -> str:
        row = self.buffer[y]
        if isinstance(row, PackedRow):
            return row.text if isinstance(row.text, str) else "".join(row.text)
        return "".join(cell.data for cell in row)

    def history_len(self) -> int:
        return self.history_state.length

    def history_row(self, index: int) -> Sequence[Cell] | None:
        """Scrollback row ``index`` (0 = the oldest kept), or None while it is being fetched."""
        state = self.history_state
        if not 0 <= index < state.length:
            return None
        absolute = state.pushed - state.length + index
        row = self._history.get(absolute)
        if row is None:
            page = absolute - absolute % HISTORY_PAGE
            if page not in self._asked:
                self._asked.add(page)
                self._fetch(page, HISTORY_PAGE)
        return row

    def feed(self, data: bytes) -> None:
        self._feed(data)

    # ------------------------------------------------------------ what the emulator sends
    def resize(self, lines: int, columns: int) -> None:
        """Take the new size at once (the emulator's rows at that size follow in its next update)."""
        lines, columns = max(1, lines), max(1, columns)
        if columns != self.columns:
            self.buffer = [_fit(row, columns) for row in self.buffer]
            self.columns = columns
        if lines < self.lines:
            del self.buffer[lines:]
        else:
            self.buffer.extend([BLANK] * columns for _ in range(lines - self.lines))
        self.lines = lines
        self.cursor.x = min(self.cursor.x, columns - 1)
        self.cursor.y = min(self.cursor.y, lines - 1)
        self.dirty.update(range(lines))

    def apply(self, update: ScreenUpdate) -> None:
        if update.styles_reset:
            self._styles = []  # rows already here keep the table they were sent with
        styles = self._styles
        styles.extend(update.new_styles)
        buffer = self.buffer
        lines, columns = self.lines, self.columns
        if update.moves:
            previous = list(buffer)
            for y, source in update.moves.items():
                if y < lines and source < lines:
                    buffer[y] = previous[source]
            self.dirty.update(y for y in update.moves if y < lines)
        for y, row in update.rows.items():
            row.styles = styles
            if y < lines:
                buffer[y] = row if len(row) == columns else _fit(list(row), columns)
        self.dirty.update(y for y in update.rows if y < lines)
        x, y, hidden = update.cursor
        cursor = self.cursor
        cursor.x, cursor.y, cursor.hidden = min(x, columns), min(y, lines - 1), hidden
        self.modes = update.modes
        if update.history.epoch != self.history_state.epoch:
            self._forget_history()
        self.history_state = update.history

    def add_history(self, rows: HistoryRows) -> bool:
        """Keep fetched scrollback rows; False when they are stale (the scrollback changed since)."""
        if rows.epoch != self.history_state.epoch:
            self._asked.discard(rows.first - rows.first % HISTORY_PAGE)
            return False
        if len(self._history) + len(rows.rows) > HISTORY_KEPT:
            self._forget_history()
        for offset, row in enumerate(rows.rows):
            self._history[rows.first + offset] = row
        if len(rows.rows) < HISTORY_PAGE:
            # A page cut short (its newest rows were pushed after it was read): ask again for the rest.
            self._asked.discard(rows.first - rows.first % HISTORY_PAGE)
        return True

    def _forget_history(self) -> None:
        self._history.clear()
        self._asked.clear()


def _fit(row: Sequence[Cell], columns: int) -> list[Cell]:
    cells = list(row)
    return cells[:columns] if len(cells) >= columns else cells + [BLANK] * (columns - len(cells))


def _package_root() -> str:
    return str(Path(taskping_tui.__file__).resolve().parent.parent)


class EmulatorHost:
    """The app's one emulator process and the socket to it, serviced by the running asyncio loop.

    Every pane's screen is a channel of it (:class:`EmulatorLink`); the process starts with the
    first channel and ends when the last one closes (or with the app: it ends when its socket does).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        argv = [sys.executable, "-P", "-m", "taskping_tui.terminal.emulator", str(theirs.fileno())]
        # Only what the interpreter needs to find us: the agent's secrets stay out of this process too.
        env = {"PYTHONPATH": _package_root(), "PATH": os.defpath}
        try:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                argv,
                pass_fds=[theirs.fileno()],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd="/",
            )
        except OSError as error:
            ours.close()
            raise EmulatorUnavailable(str(error)) from error
        finally:
            theirs.close()
        ours.setblocking(False)
        self._sock: socket.socket | None = ours
        self._incoming = MessageBuffer()
        self._outgoing: deque[tuple[memoryview, tuple[int, ...]]] = deque()
        self._writing = False
        self._links: dict[int, EmulatorLink] = {}
        self._next_channel = 0
        loop.add_reader(ours.fileno(), self._on_readable)

    @property
    def alive(self) -> bool:
        return self._sock is not None

    def attach(self, link: EmulatorLink) -> int:
        self._next_channel += 1
        self._links[self._next_channel] = link
        return self._next_channel

    def detach(self, channel: int) -> None:
        if self._links.pop(channel, None) is not None:
            self.send(channel, Close())
        if not self._links:
            self.close()

    def send(self, channel: int, message: object, fds: tuple[int, ...] = ()) -> None:
        sock = self._sock
        if sock is None:
            return
        data = memoryview(encode((channel, message)))
        if not self._outgoing:
            try:
                sent = socket.send_fds(sock, [data], list(fds)) if fds else sock.send(data)
            except BlockingIOError:
                sent = 0
            except OSError as error:
                self._lose(f"the emulator process is gone ({error})")
                return
            if sent:
                fds = ()  # they went with the first byte
            data = data[sent:]
        if data:
            self._outgoing.append((data, fds))
            if not self._writing:
                self.loop.add_writer(sock.fileno(), self._on_writable)
                self._writing = True

    def _on_writable(self) -> None:
        sock = self._sock
        while sock is not None and self._outgoing:
            data, fds = self._outgoing[0]
            try:
                sent = socket.send_fds(sock, [data], list(fds)) if fds else sock.send(data)
            except BlockingIOError:
                return
            except OSError as error:
                self._lose(f"the emulator process is gone ({error})")
                return
            if sent < len(data):
                self._outgoing[0] = (data[sent:], ())
                return
            self._outgoing.popleft()
        self._stop_writing()

    def _stop_writing(self) -> None:
        if self._writing and self._sock is not None:
            self.loop.remove_writer(self._sock.fileno())
        self._writing = False

    def _on_readable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        try:
            data = sock.recv(1 << 20)
        except BlockingIOError:
            return
        except OSError as error:  # ECONNRESET: it died with messages of ours unread
            logger.debug("reading from the emulator process: %s", error)
            data = b""
        if not data:
            self._lose("the emulator process ended")
            return
        try:
            messages = self._incoming.add(data)
        except Exception as error:  # pylint: disable=broad-except
            self._lose(f"the emulator process sent garbage ({error})")
            return
        for channel, message in messages:
            if self._sock is None:
                return
            if isinstance(message, EmulatorFailed):
                logger.error("the emulator process failed:\n%s", message.text)
                self._lose("the emulator process failed")
                return
            link = self._links.get(channel)
            if link is not None:
                link.dispatch(message)

    def _lose(self, reason: str) -> None:
        if self._sock is None:
            return
        links = list(self._links.values())
        self._links.clear()
        self.close()
        logger.error("%s", reason)
        for link in links:
            link.lost(reason)

    def close(self) -> None:
        """Close the socket; the process ends when it sees that."""
        sock = self._sock
        if sock is None:
            return
        self._stop_writing()
        self.loop.remove_reader(sock.fileno())
        sock.close()
        self._sock = None
        self._outgoing.clear()
        self.loop.call_later(0.2, _reap, self.process)


_host: EmulatorHost | None = None


def emulator_host() -> EmulatorHost:
    """The running loop's emulator process, started when there is none; raises EmulatorUnavailable."""
    global _host  # noqa: PLW0603 - one emulator process per app
    loop = asyncio.get_running_loop()
    if _host is None or not _host.alive or _host.loop is not loop:
        _host = EmulatorHost(loop)
    return _host


class EmulatorLink:
    """One pane's channel of the emulator process.

    Callbacks: ``on_update(ScreenUpdate)`` (the link acknowledges it once the callback returned),
    ``on_reply(bytes)``, ``on_history(HistoryRows)``, ``on_lost(str)`` once if the process fails
    or ends before :meth:`close`.
    """

    def __init__(
        self,
        *,
        on_update: Callable[[ScreenUpdate], None],
        on_reply: Callable[[bytes], None],
        on_history: Callable[[HistoryRows], None],
        on_lost: Callable[[str], None],
    ) -> None:
        self._on_update = on_update
        self._on_reply = on_reply
        self._on_history = on_history
        self._on_lost = on_lost
        self._host: EmulatorHost | None = None
        self._channel = 0
        self._next_request = 0
        self._ack_handle: asyncio.TimerHandle | None = None
        self._key_until = 0.0

    @property
    def alive(self) -> bool:
        return self._host is not None

    @property
    def pid(self) -> int | None:
        return self._host.process.pid if self._host is not None else None

    def start(self, pty_fd: int, columns: int, lines: int, scrollback: int) -> None:
        """Open a channel on ``pty_fd`` (-1: a screen with no child); raises EmulatorUnavailable."""
        host = emulator_host()
        self._host = host
        self._channel = host.attach(self)
        fds = (pty_fd,) if pty_fd >= 0 else ()
        host.send(self._channel, Open(columns, lines, scrollback, has_pty=pty_fd >= 0), fds)

    # ------------------------------------------------------------ to the emulator
    def resize(self, lines: int, columns: int) -> None:
        self._send(Resize(lines, columns))

    def feed(self, data: bytes) -> None:
        self._send(Feed(data))

    def fetch_history(self, first: int, count: int) -> None:
        self._next_request += 1
        self._send(HistoryRequest(self._next_request, first, count))

    def drain(self) -> None:
        self._send(Drain())

    def hurry(self) -> None:
        """A key went to the child: ask for updates at once for a while, so its echo shows soon."""
        if self._host is None:
            return
        self._key_until = self._host.loop.time() + KEY_WINDOW
        if self._ack_handle is not None:
            self._ack_handle.cancel()
            self._send_ack()
        else:
            self._send(Ack(key=True))  # a spare credit: the emulator only notes the key's time

    def _keys_recent(self) -> bool:
        return self._host is not None and self._host.loop.time() < self._key_until

    def _send_ack(self) -> None:
        self._ack_handle = None
        self._send(Ack(key=self._keys_recent()))

    def _send(self, message: object) -> None:
        if self._host is not None:
            self._host.send(self._channel, message)

    # ------------------------------------------------------------ from the emulator
    def dispatch(self, message: object) -> None:
        if isinstance(message, ScreenUpdate):
            try:
                self._on_update(message)
            finally:
                if message.caught_up or self._host is None or self._keys_recent():
                    self._send_ack()
                else:
                    self._ack_handle = self._host.loop.call_later(FLOOD_ACK_DELAY, self._send_ack)
        elif isinstance(message, Reply):
            self._on_reply(message.data)
        elif isinstance(message, HistoryRows):
            self._on_history(message)

    def lost(self, reason: str) -> None:
        """The emulator process failed or ended: this channel is gone with it."""
        self._forget()
        self._on_lost(reason)

    # ------------------------------------------------------------ ending
    def close(self) -> None:
        """Close the channel (the last one ends the emulator process)."""
        host = self._host
        self._forget()
        if host is not None:
            host.detach(self._channel)

    def _forget(self) -> None:
        if self._ack_handle is not None:
            self._ack_handle.cancel()
            self._ack_handle = None
        self._host = None


def _reap(process: subprocess.Popen[bytes]) -> None:
    """Wait for a closed emulator's exit; kill it if it is still there a little later."""
    if process.poll() is None:
        process.kill()
        try:
            process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            logger.warning("emulator process %d did not end", process.pid)
