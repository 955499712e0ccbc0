"""What the emulator process and the app say to each other, and the rows they pass.

Every message travels as ``(channel, message)``: one channel per pane, all in one process.
Length-prefixed pickles over a socketpair the app created: the peer is our own child process,
never anything reachable from outside. Nothing here imports pyte, so neither does the app.
"""

from __future__ import annotations

import io
import pickle
import struct
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import compress, islice
from operator import ne
from typing import Any

from taskping_tui.terminal.cells import Cell, CellRow, HistoryRow, cell_data, cell_style

HEADER = struct.Struct("!I")
MAX_MESSAGE = 64 * 1024 * 1024
MAX_STYLE_IDS = 65535

_new_tuple = tuple.__new__
StyleKey = tuple[Any, ...]


# ---------------------------------------------------------------------- rows
class PackedRow(CellRow):
    """A screen row as it travels and as the app keeps it: the cells' text and one style id per
    cell (an index into a style table both ends share), so no Cell crosses the socket. Cells are
    rebuilt only when read one by one; the pane draws straight from the runs (:meth:`runs`)."""

    __slots__ = ("ids", "styles", "text")

    def __init__(self, text: str | tuple[str, ...], ids: array[int], styles: list[StyleKey]) -> None:
        self.text = text  # a str when every cell holds exactly one character
        self.ids = ids
        self.styles = styles

    def __reduce__(self) -> tuple[Any, ...]:
        return (PackedRow, (self.text, self.ids, None))

    def __len__(self) -> int:
        return len(self.ids)

    def _cell(self, index: int) -> Cell:
        return _new_tuple(Cell, (self.text[index], *self.styles[self.ids[index]]))

    def __iter__(self) -> Iterator[Cell]:
        styles = self.styles
        for data, style_id in zip(self.text, self.ids, strict=True):
            yield _new_tuple(Cell, (data, *styles[style_id]))

    def runs(self, start: int = 0, stop: int | None = None) -> list[tuple[str, StyleKey]]:
        """(text, style) of each run of one style among cells ``start:stop``."""
        ids = self.ids
        stop = len(ids) if stop is None else stop
        if start >= stop:
            return []
        # Where the style changes, found with C-level loops: the pane draws every changed row so.
        changes = compress(range(start + 1, stop), map(ne, islice(ids, start, stop - 1), islice(ids, start + 1, stop)))
        starts = [start, *changes]
        ends = [*islice(starts, 1, None), stop]
        text = self.text
        styles = self.styles
        if isinstance(text, str):
            return [(text[a:b], styles[ids[a]]) for a, b in zip(starts, ends, strict=True)]
        return [("".join(text[a:b]), styles[ids[a]]) for a, b in zip(starts, ends, strict=True)]


class StyleIds(dict[StyleKey, int]):
    """style -> id, handing out the next id to a style seen for the first time."""

    def __init__(self) -> None:
        super().__init__()
        self.new: list[StyleKey] = []

    def __missing__(self, style: StyleKey) -> int:
        style_id = len(self)
        self[style] = style_id
        self.new.append(style)
        return style_id


def pack_row(row: Sequence[Cell], ids: StyleIds) -> PackedRow:
    data = list(map(cell_data, row))
    text = "".join(data)
    # One character per cell, or the cells' data one by one (wide-character stubs, combining marks).
    packed_text: str | tuple[str, ...] = text if len(text) == len(data) and "" not in data else tuple(data)
    return PackedRow(packed_text, array("H", map(ids.__getitem__, map(cell_style, row))), [])


# ---------------------------------------------------------------------- messages
@dataclass(frozen=True, slots=True)
class ScreenModes:
    """The screen's modes that the pane, the keys and the agent layer read."""

    in_alternate_screen: bool = False
    synchronized_output: bool = False
    bracketed_paste: bool = False
    app_cursor_keys: bool = False
    mouse_tracking: int = 0
    mouse_sgr: bool = False
    focus_reporting: bool = False


@dataclass(frozen=True, slots=True)
class HistoryState:
    """How long the scrollback is, how many rows it was ever pushed, and its epoch (bumped when
    rows in it went away other than off its far end)."""

    length: int = 0
    pushed: int = 0
    epoch: int = 0


@dataclass(slots=True)
class ScreenUpdate:
    """What changed since the last update: whole rows, the cursor, modes, the scrollback's state."""

    rows: dict[int, PackedRow]
    moves: dict[int, int]  # row -> the row it was in the previous update (it scrolled there)
    new_styles: list[StyleKey]  # appended to the style table (after clearing it when styles_reset)
    styles_reset: bool
    cursor: tuple[int, int, bool]  # x, y, hidden
    modes: ScreenModes
    history: HistoryState
    bytes_parsed: int
    caught_up: bool  # nothing more was waiting on the PTY when this was sent
    titles: list[str] = field(default_factory=list)
    bells: int = 0
    drained: bool = False  # the answer to Drain: the PTY is read out and closed


@dataclass(frozen=True, slots=True)
class Reply:
    """Bytes the screen answers a query with (DA, DSR, ...): the app writes them to the child."""

    data: bytes


@dataclass(frozen=True, slots=True)
class HistoryRows:
    """Scrollback rows from absolute index ``first`` (0 = the first row ever pushed)."""

    request: int
    epoch: int
    first: int
    rows: list[HistoryRow]


@dataclass(frozen=True, slots=True)
class EmulatorFailed:
    """The emulator process hit an error it cannot go on from."""

    text: str


@dataclass(frozen=True, slots=True)
class Open:
    """A new channel: a screen of this size, fed by the PTY handed over with this message (when
    ``has_pty``; SCM_RIGHTS) or only by Feed."""

    columns: int
    lines: int
    scrollback: int
    has_pty: bool


@dataclass(frozen=True, slots=True)
class Close:
    """The channel's pane is gone: drop its screen, close its PTY."""


@dataclass(frozen=True, slots=True)
class Ack:
    """The app applied the last update: the next one may come (``key``: soon, a key was typed)."""

    key: bool = False


@dataclass(frozen=True, slots=True)
class Resize:
    lines: int
    columns: int


@dataclass(frozen=True, slots=True)
class Feed:
    """Text of the app's own (a message in the pane) to parse as if the child wrote it."""

    data: bytes


@dataclass(frozen=True, slots=True)
class HistoryRequest:
    request: int
    first: int  # absolute index
    count: int


@dataclass(frozen=True, slots=True)
class Drain:
    """The child ended: read what is left on the PTY, close it, answer with a drained update."""


class _ProtocolUnpickler(pickle.Unpickler):
    """Builds only what this protocol sends: the peer is ours, but it parses hostile output."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_CLASSES:
            raise pickle.UnpicklingError(f"not a message of the emulator protocol: {module}.{name}")
        return super().find_class(module, name)


def _load(data: memoryview) -> Any:
    return _ProtocolUnpickler(io.BytesIO(data)).load()


def encode(message: object) -> bytes:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


class MessageBuffer:
    """Bytes received so far, cut into whole messages."""

    def __init__(self) -> None:
        self._data = bytearray()

    def add(self, data: bytes) -> list[Any]:
        self._data += data
        messages = []
        buffer = self._data
        start = 0
        while len(buffer) - start >= HEADER.size:
            (size,) = HEADER.unpack_from(buffer, start)
            if size > MAX_MESSAGE:
                raise ValueError(f"emulator message of {size} bytes")
            end = start + HEADER.size + size
            if end > len(buffer):
                break
            messages.append(_load(memoryview(buffer)[start + HEADER.size : end]))
            start = end
        if start:
            del buffer[:start]
        return messages


_ALLOWED_CLASSES = frozenset(
    {
        (cls.__module__, cls.__qualname__)
        for cls in (
            Cell,
            HistoryRow,
            PackedRow,
            ScreenModes,
            HistoryState,
            ScreenUpdate,
            Reply,
            HistoryRows,
            EmulatorFailed,
            Open,
            Close,
            Ack,
            Resize,
            Feed,
            HistoryRequest,
            Drain,
        )
    }
    | {("array", "_array_reconstructor"), ("array", "array")}
)
