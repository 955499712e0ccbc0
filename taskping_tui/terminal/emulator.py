"""The emulator process: the panes' PTY output parsed on the other core.

Parsing is most of what a flood costs, and the app's event loop has frames to compose and keys
to deliver meanwhile; Python runs one thread at a time, so the parsing runs in a process of its
own, one for the whole app. :func:`main` (``python -m taskping_tui.terminal.emulator``) serves
one channel per pane: it reads the PTY master handed over with the channel's Open, feeds a
:class:`TerminalScreen` and sends the app what changed. While the child keeps writing, a
channel sends a :class:`ScreenUpdate` only once the app acknowledged the last one, and at most
every :data:`UPDATE_INTERVAL` (:data:`KEY_UPDATE_INTERVAL` just after a key); once the child
pauses it sends at once, acknowledged or not, so the last screenful never waits. The scrollback
stays here; the app asks for the rows it shows (:class:`HistoryRequest`). What the two ends say
is in :mod:`taskping_tui.terminal.protocol`.
"""

from __future__ import annotations

import logging
import os
import selectors
import socket
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from itertools import islice

from taskping_tui.terminal.cells import Cell, HistoryRow
from taskping_tui.terminal.protocol import (
    MAX_STYLE_IDS,
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
    StyleIds,
    encode,
    pack_row,
)
from taskping_tui.terminal.ptyio import read_available
from taskping_tui.terminal.screen import TerminalScreen

logger = logging.getLogger(__name__)

UPDATE_INTERVAL = 1 / 60  # between updates while the child keeps writing
KEY_UPDATE_INTERVAL = 0.004  # the same just after a key went to the child (its echo is due)
KEY_WINDOW = 0.05  # how long after a key updates come at KEY_UPDATE_INTERVAL
CAUGHT_UP_GAP = 0.002  # between updates sent without waiting for the app, when output pauses
# A flood (this much parsed since the last update) has paused only once the PTY stayed empty this long:
# a flood's writer is often a moment behind the emulator's reads, which is no reason to paint at once.
FLOOD_BYTES = 16 * 1024
FLOOD_QUIET = 0.004
ALL_CHANNELS = -1  # the channel of a message about the whole process
READ_BUDGET = 64 * 1024  # bytes read from the PTY (a few KiB per read) before they are parsed


def modes_of(screen: TerminalScreen) -> ScreenModes:
    return ScreenModes(
        screen.in_alternate_screen,
        screen.synchronized_output,
        screen.bracketed_paste,
        screen.app_cursor_keys,
        screen.mouse_tracking,
        screen.mouse_sgr,
        screen.focus_reporting,
    )


# ---------------------------------------------------------------------- the process
Send = Callable[[int, object], None]  # (channel, message)


class ScreenChannel:
    """One pane's screen in the emulator process: its PTY → its screen → its updates."""

    def __init__(
        self,
        channel: int,
        send: Send,
        selector: selectors.BaseSelector,
        pty_fd: int,
        opened: Open,
    ) -> None:
        self._channel = channel
        self._send_to_app = send
        self._selector = selector
        self._pty_fd = pty_fd
        self._screen = screen = TerminalScreen(opened.columns, opened.lines, scrollback=opened.scrollback)
        screen.on_reply = self._send_reply
        screen.on_bell = self._count_bell
        screen.on_title = self._note_title
        self._acked = True
        self._changed = True  # the first update tells the app the screen's initial state
        self._more = False
        self._last_sent = 0.0
        self._bytes_parsed = 0
        self._titles: list[str] = []
        self._bells = 0
        self.drain_asked = False
        self._key_until = 0.0
        self._unsent_bytes = 0
        self._last_output = 0.0
        self._told_caught_up = False
        # Each row as the app last got it: a row redrawn with the same cells is not sent again; and
        # the id() of the screen's row list it was copied from: a row that only moved (a scroll) is
        # sent as a move. Ids, not references: the screen reuses a row list nobody else refers to.
        self._sent_rows: list[list[Cell] | None] = []
        self._sent_ids: list[int] = []
        self._forget_sent_rows()
        self._style_ids = StyleIds()
        self._styles_reset = False
        if pty_fd >= 0:
            os.set_blocking(pty_fd, False)
            selector.register(pty_fd, selectors.EVENT_READ, self._on_output)

    def close(self) -> None:
        self._close_pty()

    @property
    def pty_fd(self) -> int:
        return self._pty_fd

    @property
    def maybe_more(self) -> bool:
        """The last read stopped at its budget: the child may have written more since."""
        return self._more

    def note_pty_empty(self) -> None:
        """A poll found nothing waiting on the PTY: the child has paused (for now)."""
        self._more = False

    # ------------------------------------------------------------ input
    def handle(self, message: object) -> None:
        screen = self._screen
        if isinstance(message, Ack):
            self._acked = True
            if message.key:
                self._key_until = time.monotonic() + KEY_WINDOW
        elif isinstance(message, Resize):
            screen.resize(message.lines, message.columns)
            self._forget_sent_rows()
            self._changed = True
        elif isinstance(message, Feed):
            screen.feed(message.data)
            self._changed = True
        elif isinstance(message, HistoryRequest):
            self._send_history(message)
        elif isinstance(message, Drain):
            self.drain_asked = True

    def _on_output(self) -> None:
        self._read_output(READ_BUDGET)

    def _read_output(self, budget: int) -> bool:
        """Read and parse up to ``budget`` bytes; False once the PTY reported its end."""
        output = read_available(self._pty_fd, budget)
        if output.data:
            self._screen.feed(output.data)
            self._bytes_parsed += len(output.data)
            self._unsent_bytes += len(output.data)
            self._last_output = time.monotonic()
            self._changed = True
        self._more = not (output.drained or output.ended)
        if output.ended:
            self._close_pty()
        return not output.ended

    def drain(self) -> None:
        while self._pty_fd >= 0 and self._read_output(READ_BUDGET) and self._more:
            pass
        self._close_pty()
        self.drain_asked = False
        self._send_update(drained=True)

    def _close_pty(self) -> None:
        if self._pty_fd >= 0:
            self._selector.unregister(self._pty_fd)
            os.close(self._pty_fd)
            self._pty_fd = -1
            self._more = False

    # ------------------------------------------------------------ output
    def wait(self) -> float | None:
        return 0.0 if self.drain_asked else self._update_due_in()

    def _update_due_in(self) -> float | None:
        """Seconds until an update is due; None while none is (nothing changed, or no credit)."""
        now = time.monotonic()
        if not self._changed:
            if self._told_caught_up or self._more:
                return None
            # The last update said the child was still writing: say it paused once the PTY stays quiet.
            return max(0.0, self._last_output + FLOOD_QUIET - now)
        if not self._more:
            if self._acked and self._unsent_bytes >= FLOOD_BYTES:
                return max(0.0, self._last_sent + UPDATE_INTERVAL - now)
            if self._unsent_bytes >= FLOOD_BYTES:
                # The PTY ran dry mid-flood: a pause once it stays dry, and then the last screenful
                # must not wait for the app's paced acknowledgement.
                return max(0.0, self._last_output + FLOOD_QUIET - now)
            return max(0.0, self._last_sent + CAUGHT_UP_GAP - now)
        if not self._acked:
            return None
        interval = KEY_UPDATE_INTERVAL if now < self._key_until else UPDATE_INTERVAL
        return max(0.0, self._last_sent + interval - now)

    def _caught_up(self) -> bool:
        """Whether the child has paused: nothing waits on the PTY, and after a flood, not for a while."""
        if self._more:
            return False
        return self._unsent_bytes < FLOOD_BYTES or time.monotonic() >= self._last_output + FLOOD_QUIET

    def send_update_when_due(self) -> None:
        due = self._update_due_in()
        if due is not None and due <= 0:
            self._send_update()

    def _send_update(self, drained: bool = False) -> None:
        screen = self._screen
        buffer = screen.buffer
        lines = screen.lines
        if len(self._style_ids) > MAX_STYLE_IDS - screen.lines * screen.columns:
            self._style_ids = StyleIds()
            self._styles_reset = True
            self._forget_sent_rows()  # rows sent before name styles the app forgets
            screen.dirty.update(range(lines))
        style_ids = self._style_ids
        rows, moves = self._changed_rows(buffer, [y for y in screen.dirty if y < lines])
        screen.dirty.clear()
        cursor = screen.cursor
        caught_up = self._caught_up()
        self._told_caught_up = caught_up
        update = ScreenUpdate(
            rows=rows,
            moves=moves,
            new_styles=style_ids.new,
            styles_reset=self._styles_reset,
            cursor=(cursor.x, cursor.y, bool(cursor.hidden)),
            modes=modes_of(screen),
            history=HistoryState(len(screen.history), screen.history_pushed, screen.history_epoch),
            bytes_parsed=self._bytes_parsed,
            caught_up=caught_up,
            titles=self._titles,
            bells=self._bells,
            drained=drained,
        )
        self._titles = []
        self._bells = 0
        self._unsent_bytes = 0
        style_ids.new = []
        self._styles_reset = False
        self._changed = False
        self._acked = False
        self._last_sent = time.monotonic()
        self._send(update)

    def _forget_sent_rows(self) -> None:
        lines = self._screen.lines
        self._sent_rows = [None] * lines
        self._sent_ids = [0] * lines

    def _changed_rows(self, buffer: list[list[Cell]], dirty: list[int]) -> tuple[dict[int, PackedRow], dict[int, int]]:
        """Rows to send packed, and rows the app already has elsewhere: {row: the row it was sent as}."""
        sent = self._sent_rows
        sent_ids = self._sent_ids
        where_sent = {row_id: y for y, row_id in enumerate(sent_ids)}
        rows: dict[int, PackedRow] = {}
        moves: dict[int, int] = {}
        for y in dirty:
            row = buffer[y]
            if row == sent[y]:
                continue
            source = where_sent.get(id(row))
            if source is not None and row == sent[source]:
                moves[y] = source  # the cells the app has at ``source``: the row moved (a scroll)
            else:
                rows[y] = pack_row(row, self._style_ids)
        previous = list(sent)
        for y, source in moves.items():
            sent[y] = previous[source]
            sent_ids[y] = id(buffer[y])
        for y in rows:
            sent[y] = buffer[y][:]
            sent_ids[y] = id(buffer[y])
        return rows, moves

    def _send_history(self, request: HistoryRequest) -> None:
        screen = self._screen
        history = screen.history
        oldest = screen.history_pushed - len(history)
        start = max(0, request.first - oldest)
        stop = max(start, min(len(history), request.first + request.count - oldest))
        rows = [row if isinstance(row, HistoryRow) else HistoryRow(row) for row in islice(history, start, stop)]
        self._send(HistoryRows(request.request, screen.history_epoch, oldest + start, rows))

    def _send_reply(self, data: bytes) -> None:
        self._send(Reply(bytes(data)))

    def _count_bell(self) -> None:
        self._bells += 1
        self._changed = True

    def _note_title(self, title: str) -> None:
        self._titles.append(title)
        self._changed = True

    def _send(self, message: object) -> None:
        self._send_to_app(self._channel, message)


class EmulatorLoop:
    """The emulator process's loop: the app's commands, and every channel's PTY and updates."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._selector = selectors.DefaultSelector()
        self._incoming = MessageBuffer()
        self._received_fds: deque[int] = deque()  # PTYs handed over, for the Open messages they came with
        self._channels: dict[int, ScreenChannel] = {}
        self._running = True

    def run(self) -> None:
        self._selector.register(self._sock, selectors.EVENT_READ, self._on_commands)
        while self._running:
            readable = set()
            for key, _events in self._selector.select(self._wait()):
                readable.add(key.fd)
                key.data()
                if not self._running:
                    return
            for channel in list(self._channels.values()):
                if channel.maybe_more and channel.pty_fd not in readable:
                    channel.note_pty_empty()
                if channel.drain_asked:
                    channel.drain()
                channel.send_update_when_due()

    def _wait(self) -> float | None:
        if any(channel.maybe_more for channel in self._channels.values()):
            return 0.0  # a read stopped at its budget: is more waiting? (a poll tells)
        waits = [wait for wait in (channel.wait() for channel in self._channels.values()) if wait is not None]
        return min(waits) if waits else None

    def _on_commands(self) -> None:
        try:
            data, fds, _flags, _address = socket.recv_fds(self._sock, 1 << 16, 16)
        except (BlockingIOError, InterruptedError):
            return
        self._received_fds.extend(fds)
        if not data:  # the app is gone
            self._running = False
            return
        for channel, message in self._incoming.add(data):
            self._handle(channel, message)

    def _handle(self, channel: int, message: object) -> None:
        if isinstance(message, Open):
            pty_fd = self._received_fds.popleft() if message.has_pty else -1
            self._channels[channel] = ScreenChannel(channel, self._send, self._selector, pty_fd, message)
        elif isinstance(message, Close):
            closed = self._channels.pop(channel, None)
            if closed is not None:
                closed.close()
        else:
            target = self._channels.get(channel)
            if target is not None:
                target.handle(message)

    def _send(self, channel: int, message: object) -> None:
        try:
            self._sock.sendall(encode((channel, message)))
        except OSError:
            self._running = False  # the app is gone


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m taskping_tui.terminal.emulator SOCKET_FD``."""
    args = list(sys.argv[1:] if argv is None else argv)
    sock = socket.socket(fileno=int(args[0]))
    sock.setblocking(True)
    try:
        EmulatorLoop(sock).run()
    except Exception:  # pylint: disable=broad-except
        try:
            sock.sendall(encode((ALL_CHANNELS, EmulatorFailed(traceback.format_exc(limit=8)))))
        except OSError:
            pass
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover - the process entry point
    # Run the module's own copy, not __main__'s: pickles name the classes by their module.
    from taskping_tui.terminal.emulator import main as emulator_main

    sys.exit(emulator_main())
