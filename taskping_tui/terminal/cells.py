"""Screen cells and compact scrollback rows: the terminal's data, shared by the emulator process
and the app (which never imports pyte: this module does not either)."""

from __future__ import annotations

import re
from array import array
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from functools import lru_cache
from itertools import compress, islice
from operator import itemgetter, ne
from typing import Any, NamedTuple, overload


class Cell(NamedTuple):
    """One screen cell: pyte's Char fields in the same order, plus ``dim``."""

    data: str = " "
    fg: str = "default"
    bg: str = "default"
    bold: bool = False
    italics: bool = False
    underscore: bool = False
    strikethrough: bool = False
    reverse: bool = False
    blink: bool = False
    dim: bool = False


BLANK = Cell()

_BASE_NAMES = ("black", "red", "green", "brown", "blue", "magenta", "cyan", "white")
#: The 16 named colours, in ANSI order (index 3 is pyte's "brown", i.e. yellow).
COLOR_NAMES: tuple[str, ...] = _BASE_NAMES + tuple("bright" + name for name in _BASE_NAMES)


_new_tuple = tuple.__new__

cell_data = itemgetter(0)
cell_style = itemgetter(1, 2, 3, 4, 5, 6, 7, 8, 9)  # every Cell field but data


# Packed run styles of HistoryRow: one 64-bit integer per run holds both colours and the flags.
_COLOUR_BITS = 25
_TRUECOLOUR = 1 << 24  # colour code of "rrggbb": this bit plus the 24-bit value
_NAMED_COLOURS: tuple[str, ...] = ("default", *COLOR_NAMES)  # colour code = index
_NAMED_CODES: dict[str, int] = {name: code for code, name in enumerate(_NAMED_COLOURS)}
_HEX_COLOUR = re.compile("[0-9a-f]{6}")
_FLAGS_SHIFT = 2 * _COLOUR_BITS
_FLAG_COUNT = 7  # bold, italics, underscore, strikethrough, reverse, blink, dim


def _colour_code(colour: object) -> int:
    """The code of a cell colour, or -1 for a value the packed form cannot hold."""
    code = _NAMED_CODES.get(colour) if isinstance(colour, str) else None
    if code is not None:
        return code
    if isinstance(colour, str) and _HEX_COLOUR.fullmatch(colour):
        return _TRUECOLOUR | int(colour, 16)
    return -1


def _style_code(cell: Cell) -> int:
    """Every field of ``cell`` but ``data`` as one integer, or -1 if one does not fit."""
    fg = _colour_code(cell[1])
    bg = _colour_code(cell[2])
    if fg < 0 or bg < 0:
        return -1
    flags = 0
    for bit, value in enumerate(cell[3:]):
        if value is True:
            flags |= 1 << bit
        elif value is not False:
            return -1
    return fg | bg << _COLOUR_BITS | flags << _FLAGS_SHIFT


def _colour_of(code: int) -> str:
    return "%06x" % (code & 0xFFFFFF) if code & _TRUECOLOUR else _NAMED_COLOURS[code]


@lru_cache(maxsize=4096)
def _style_rest(code: int) -> tuple[Any, ...]:
    """The Cell fields after ``data`` that :func:`_style_code` packed into ``code``."""
    mask = (1 << _COLOUR_BITS) - 1
    flags = code >> _FLAGS_SHIFT
    return (
        _colour_of(code & mask),
        _colour_of((code >> _COLOUR_BITS) & mask),
        *(bool(flags >> bit & 1) for bit in range(_FLAG_COUNT)),
    )


def history_style(cell: Cell) -> int | Cell:
    """The style of ``cell`` as a HistoryRow run stores it: packed, or the cell itself."""
    code = _style_code(cell)
    return cell if code < 0 else code


class CellRow(Sequence[Cell]):
    """A read-only row of cells kept in a compact form: cells are rebuilt when read."""

    __slots__ = ()

    def _cell(self, index: int) -> Cell:
        """Cell ``index``, known to be in range."""
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> Cell: ...

    @overload
    def __getitem__(self, index: slice) -> list[Cell]: ...

    def __getitem__(self, index: int | slice) -> Cell | list[Cell]:
        if isinstance(index, slice):
            return list(self)[index]
        size = len(self)
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError("row index out of range")
        return self._cell(index)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (CellRow, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self)!r})"


class HistoryRow(CellRow):
    """A scrollback row: a read-only sequence of cells, stored as runs of one style.

    ``_text`` is the cells' data joined (a tuple of the data strings instead when some cell does
    not hold exactly one character: wide-character stubs, combining marks). ``_starts`` holds where
    each run of identical style begins and ``_styles`` each run's style packed in an integer (the
    first cell of each run instead, should a field not fit the packed form), so a row holds no
    object per cell or per run; cells are rebuilt when read. The screen may refill a row it alone
    refers to (see :meth:`TerminalScreen._push_history_row`); a row anybody else holds never changes.
    """

    __slots__ = ("_starts", "_styles", "_text")

    def __init__(self, cells: Sequence[Cell]) -> None:
        self._text: str | tuple[str, ...] = ""
        self._starts: bytes | tuple[int, ...] = b""
        self._styles: array[int] | tuple[int | Cell, ...] = ()
        self.refill(cells)

    @classmethod
    def from_runs(cls, text: str, starts: bytes | tuple[int, ...], styles: tuple[int | Cell, ...]) -> HistoryRow:
        """A row of one-cell characters ``text`` whose run number i starts at ``starts[i]`` (bytes
        when the row is at most 256 cells wide) and has the style ``styles[i]`` (a packed code, or a
        cell of that style)."""
        row: HistoryRow = object.__new__(cls)
        row._text = text
        row._starts = starts
        row._styles = styles
        return row

    def refill(self, cells: Sequence[Cell]) -> None:
        """Store ``cells`` (a screen row) in place of what this row held."""
        count = len(cells)
        data = list(map(cell_data, cells))
        text = "".join(data)
        self._text = text if len(text) == count and "" not in data else tuple(data)
        keys = list(map(cell_style, cells))
        # Run starts found with C-level loops: this runs for every line that scrolls off.
        starts = [0, *compress(range(1, count), map(ne, keys, islice(keys, 1, None)))] if count else []
        self._starts = bytes(starts) if count <= 256 else tuple(starts)
        firsts = tuple(map(cells.__getitem__, starts))
        codes = list(map(_style_code, firsts))
        self._styles = firsts if -1 in codes else array("Q", codes)

    def _rest(self, run: int) -> tuple[Any, ...]:
        """The fields after ``data`` of every cell of run number ``run``."""
        style = self._styles[run]
        return _style_rest(style) if isinstance(style, int) else style[1:]

    def __len__(self) -> int:
        return len(self._text)

    def _cell(self, index: int) -> Cell:
        rest = self._rest(bisect_right(self._starts, index) - 1)
        return _new_tuple(Cell, (self._text[index], *rest))

    def __iter__(self) -> Iterator[Cell]:
        text = self._text
        starts = self._starts
        ends = (*islice(starts, 1, None), len(text))
        for run, (start, end) in enumerate(zip(starts, ends, strict=False)):  # equal lengths
            rest = self._rest(run)
            for data in islice(text, start, end):
                yield _new_tuple(Cell, (data, *rest))


#: sys.getrefcount() of an object only one local variable refers to (the call adds one).
