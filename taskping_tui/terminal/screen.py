"""Terminal screen model: a pyte.Screen subclass built for speed and xterm/tmux fidelity.

Differences from stock pyte that callers rely on:

* ``buffer`` is a list of rows (``buffer[y][x]`` works as in pyte); each row is a list of exactly
  ``columns`` :class:`Cell` objects. Rows are moved, not copied, when the screen scrolls; never
  mutate a row you got from ``buffer`` -- use :meth:`TerminalScreen.row_cells` for a private copy.
  A row that leaves the screen for good (off a full scrollback, off the alternate screen) is
  blanked and reused for a new line when nothing else refers to it, so a row you hold a
  reference to never changes under you once it has left the screen.
* Colours: ``"default"``, one of :data:`COLOR_NAMES` (pyte's names, including pyte's ``"brown"`` for
  ANSI colour 3), or a 6-hex-digit ``"rrggbb"`` string. 256-colour indices 0-15 resolve to the
  names so they follow the theme; 16-255 and truecolor resolve to hex.
* Wide characters occupy two cells; the second cell has ``data == ""``. Zero-width characters
  (combining marks, ZWJ, variation selectors) are appended to the previous cell's ``data``.
* The cursor may sit at ``x == columns`` ("pending wrap", as in pyte and tmux): the next printable
  character wraps first when autowrap is on.
* ``history`` holds rows that scrolled off the top of the main screen (never of the alternate
  screen). History rows keep the width they had when they left the screen. Each is a sequence of
  :class:`Cell` (``len``, indexing, slicing, iteration); treat it as read-only. Rows normally move
  there as they are (lists whose cells the style caches share). While the styles churn (a new
  truecolour every word, as lolcat or gradients print), the cells of a row are mostly its own
  objects, so rows leaving the screen are stored as a compact :class:`HistoryRow` instead. Plain
  lines of a flood that scroll through the screen unseen (see :meth:`TerminalScreen.scroll_in_lines`)
  go to history as compact rows built from their text, without ever being screen rows.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Iterable, Sequence
from sys import getrefcount
from typing import Any, Callable, NamedTuple, Optional

import pyte
from pyte import charsets as pyte_charsets
from pyte import modes as pyte_modes
from pyte.screens import Cursor, Margins
from wcwidth import wcwidth

from taskping_tui import __version__
from taskping_tui.terminal.cells import (
    BLANK,
    COLOR_NAMES,
    Cell,
    HistoryRow,
    history_style,
)
from taskping_tui.terminal.parser import LINE_TOKENS, MAX_CACHED_RUN, SGR_SEQUENCE, TerminalParser

logger = logging.getLogger(__name__)

_new_tuple = tuple.__new__


def _build_palette_256() -> tuple[str, ...]:
    levels = (0x00, 0x5F, 0x87, 0xAF, 0xD7, 0xFF)
    cube = [f"{levels[i // 36]:02x}{levels[(i // 6) % 6]:02x}{levels[i % 6]:02x}" for i in range(216)]
    grays = [f"{8 + i * 10:02x}" * 3 for i in range(24)]
    return COLOR_NAMES + tuple(cube) + tuple(grays)


#: Colour value for each 256-colour index.
PALETTE_256: tuple[str, ...] = _build_palette_256()

_VERSION = __version__  # not importlib.metadata: every emulator process imports this module

#: Answers to terminal queries.
DA1_REPLY = b"\x1b[?62;22c"  # VT220 with ANSI colour
DA2_REPLY = b"\x1b[>1;10;0c"
XTVERSION_REPLY = f"\x1bP>|taskping-tui({_VERSION})\x1b\\".encode()

#: Private (DEC) modes we implement; DECRQM reports 1/2 for these and 0 ("not recognised") otherwise.
KNOWN_PRIVATE_MODES = frozenset(
    {1, 3, 5, 6, 7, 9, 12, 25, 47, 1000, 1002, 1003, 1004, 1005, 1006, 1015, 1047, 1048, 1049, 2004, 2026}
)
KNOWN_ANSI_MODES = frozenset({4, 20})
_MOUSE_MODES = (9, 1000, 1002, 1003)

# Bounds that keep hostile parameters from allocating absurd amounts of memory.
_MAX_STYLES = 2048
_MAX_TRANSITIONS = 512  # per style
_MAX_TRANSITIONS_TOTAL = 16384
_MAX_CACHED_CELLS = 4096  # per style
# Totals over all styles of one screen: coloured output with many styles must not make the caches
# outgrow the scrollback they serve (≈10 MB for 10,000 rows of 120 cells).
_MAX_CACHED_CELLS_TOTAL = 32768
_MAX_CACHED_RUNS_TOTAL = 8192  # runs drawn at least twice, kept as cells
_MAX_SEEN_RUNS_TOTAL = 8192  # runs drawn once, kept as text
# Rows (beyond a screenful) still pushed to history as HistoryRow after the caches last churned.
# The style registry holds _MAX_STYLES styles, so output that keeps making new ones (at least one
# a row) churns again within this many rows and every row it prints is stored compactly.
_COMPACT_AFTER_CHURN = _MAX_STYLES

# Lines of a block that must go straight to history before scroll_in_lines is worth its set-up.
_MIN_LINES_INTO_HISTORY = 8

# Characters known to be exactly one cell wide; grows as new characters are seen.
_narrow_chars: set[str] = {chr(c) for c in range(0x20, 0x7F)}
_width_cache: dict[str, int] = {}


def char_width(ch: str) -> int:
    """Cells taken by ``ch``: 1, 2, 0 (combines with the previous cell) or -1 (not printable)."""
    width = _width_cache.get(ch)
    if width is None:
        width = wcwidth(ch)
        if len(_width_cache) < 65536:
            _width_cache[ch] = width
        if width == 1:
            _narrow_chars.add(ch)
    return width


def _noop_reply(data: bytes) -> None:
    """Default on_reply: drop the answer."""


def _noop_bell() -> None:
    """Default on_bell."""


def _noop_title(title: str) -> None:
    """Default on_title."""


_ONLY_LOCAL_REFERENCE = 2


class _CacheBudget:
    """How much the style caches of one screen (``styles``, its style registry) hold in total."""

    __slots__ = ("cells", "churned", "runs", "seen", "styles", "transitions")

    def __init__(self, styles: dict[Cell, _Style]) -> None:
        self.cells = 0
        # Set when cells stop being shared through the caches (a cell built but not cached, or
        # every style forgotten): rows drawn since then hold cells of their own.
        self.churned = False
        self.runs = 0
        self.seen = 0
        self.transitions = 0
        self.styles = styles

    def count_transition(self, style: _Style) -> None:
        """Count one SGR transition cached on ``style``; forget them all when over budget."""
        self.transitions += 1
        if self.transitions > _MAX_TRANSITIONS_TOTAL:
            for other in (*self.styles.values(), style):
                other.trans.clear()
                other.by_item.clear()
            self.transitions = 0

    @property
    def cells_exhausted(self) -> bool:
        return self.cells >= _MAX_CACHED_CELLS_TOTAL

    def forget_runs(self) -> None:
        """Empty every style's run cache and start counting again."""
        for style in self.styles.values():
            style.runs.clear()
            style.seen.clear()
        self.runs = self.seen = 0

    def forget_seen(self) -> None:
        """Forget the runs drawn only once so far (the cached ones stay)."""
        for style in self.styles.values():
            style.seen.clear()
        self.seen = 0


class _CellCache(dict):  # type: ignore[type-arg]
    """char -> Cell for one style; builds missing cells on demand (C-level lookups on hits)."""

    __slots__ = ("budget", "rest")

    def __init__(self, template: Cell, budget: _CacheBudget) -> None:
        super().__init__()
        self.rest = tuple(template)[1:]
        self.budget = budget

    def __missing__(self, ch: str) -> Cell:
        cell: Cell = _new_tuple(Cell, (ch, *self.rest))
        budget = self.budget
        if len(self) < _MAX_CACHED_CELLS and budget.cells < _MAX_CACHED_CELLS_TOTAL:
            self[ch] = cell
            budget.cells += 1
        else:
            budget.churned = True
        return cell


class _Style:
    """A distinct set of graphic attributes with its cell cache and cached SGR transitions."""

    __slots__ = (
        "cell",
        "cells",
        "getcell",
        "trans",
        "by_item",
        "blank",
        "blank_line",
        "runs",
        "seen",
        "budget",
        "history_style",
        "history_blank",
    )

    def __init__(self, cell: Cell, budget: _CacheBudget) -> None:
        self.cell = cell
        self.budget = budget
        self.cells = _CellCache(cell, budget)
        self.getcell: Callable[[str], Cell] = self.cells.__getitem__
        self.trans: dict[str, _Style] = {}
        # The same transitions keyed by the whole sequence text ("\x1b[1;31m"), for the parser.
        self.by_item: dict[str, _Style] = {}
        # Printable runs already converted to cells in this style (redraws repeat the same text).
        self.runs: dict[str, tuple[Cell, ...]] = {}
        # Runs seen once; a run is cached the second time it is drawn, so one-off text
        # (file names, numbers) does not fill the cache with objects the GC has to traverse.
        self.seen: set[str] = set()
        # Erased cells take the current background only (xterm/tmux "background colour erase").
        self.blank = BLANK if cell.bg == "default" else Cell(bg=cell.bg)
        # A row of ``blank`` cells as wide as the screen that last asked (see _scroll_one).
        self.blank_line: tuple[Cell, ...] = ()
        # How a HistoryRow built from runs stores this style and its blank (see scroll_in_lines).
        self.history_style: int | Cell = history_style(cell)
        self.history_blank: int | Cell = history_style(self.blank)

    def remember_item(self, item: str, style: _Style) -> None:
        """Cache that the SGR sequence ``item`` leads from this style to ``style``."""
        by_item = self.by_item
        if len(by_item) >= _MAX_TRANSITIONS:
            by_item.clear()
        self.budget.count_transition(self)
        by_item[item] = style

    def cells_for(self, text: str) -> Iterable[Cell]:
        """Cells for a printable run of one-cell characters, from the run cache when it is short."""
        if len(text) > MAX_CACHED_RUN:
            return map(self.getcell, text)
        cells = self.runs.get(text)
        return self.run_cells(text) if cells is None else cells

    def run_cells(self, text: str) -> tuple[Cell, ...]:
        """Cells for a short printable run not in ``runs``; caches it if it was seen before.

        The screen's budgets bound what all styles keep: when one is spent, every style forgets
        its seen runs or (rarely) its cached ones.
        """
        cells = tuple(map(self.getcell, text))
        budget = self.budget
        if text in self.seen:
            if budget.runs >= _MAX_CACHED_RUNS_TOTAL:
                budget.forget_runs()
                self.runs.clear()  # in case this style has left the registry
            self.runs[text] = cells
            budget.runs += 1
        else:
            if budget.seen >= _MAX_SEEN_RUNS_TOTAL:
                budget.forget_seen()
                self.seen.clear()
            self.seen.add(text)
            budget.seen += 1
        return cells


class _ScreenCursor(Cursor):  # type: ignore[misc]
    """pyte's Cursor whose ``attrs`` always reflect the screen's current style.

    The screen keeps one cursor object for its whole life, so the parser may hold on to it.
    """

    __slots__ = ("_screen",)

    def __init__(self, screen: TerminalScreen) -> None:  # pylint: disable=super-init-not-called
        self._screen = screen
        self.x = 0
        self.y = 0
        self.hidden = False

    @property  # type: ignore[override]
    def attrs(self) -> Cell:
        return self._screen._style.cell

    @attrs.setter
    def attrs(self, value: tuple[Any, ...]) -> None:
        cell = value if isinstance(value, Cell) else Cell(*tuple(value)[:10])
        self._screen._set_style(self._screen._style_for(cell._replace(data=" ")))


class _SavedCursor(NamedTuple):
    x: int
    y: int
    style: _Style
    g0_charset: str
    g1_charset: str
    charset: int
    origin: bool
    autowrap: bool


def _sgr_int(text: str) -> int:
    if text.isdigit() and len(text) < 8:
        return int(text)
    return -1 if text else 0


def _channel(text: str) -> int:
    value = _sgr_int(text)
    return 255 if value > 255 else 0 if value < 0 else value


def _extended_colour(code_parts: list[str]) -> Optional[str]:
    """Colour from the sub-parameters after 38/48/58: ``5;n`` or ``2;[colourspace;]r;g;b``."""
    size = len(code_parts)
    if size >= 2 and code_parts[0] == "5":
        index = _sgr_int(code_parts[1])
        return PALETTE_256[index] if 0 <= index < 256 else None
    if size >= 4 and code_parts[0] == "2":
        offset = 2 if size >= 5 else 1
        return "%02x%02x%02x" % (
            _channel(code_parts[offset]),
            _channel(code_parts[offset + 1]),
            _channel(code_parts[offset + 2]),
        )
    return None


# Cell field indexes, for building cells from lists.
_FG, _BG, _BOLD, _ITALICS, _UNDERSCORE, _STRIKE, _REVERSE, _BLINK, _DIM = range(1, 10)

_SGR_FLAGS: dict[int, tuple[tuple[int, Any], ...]] = {
    0: tuple((index, value) for index, value in enumerate(BLANK) if index),
    1: ((_BOLD, True),),
    2: ((_DIM, True),),
    3: ((_ITALICS, True),),
    4: ((_UNDERSCORE, True),),
    5: ((_BLINK, True),),
    6: ((_BLINK, True),),
    7: ((_REVERSE, True),),
    9: ((_STRIKE, True),),
    21: ((_UNDERSCORE, True),),  # double underline (ECMA-48, xterm, tmux)
    22: ((_BOLD, False), (_DIM, False)),
    23: ((_ITALICS, False),),
    24: ((_UNDERSCORE, False),),
    25: ((_BLINK, False),),
    27: ((_REVERSE, False),),
    29: ((_STRIKE, False),),
    39: ((_FG, "default"),),
    49: ((_BG, "default"),),
}
for _i in range(8):
    _SGR_FLAGS[30 + _i] = ((_FG, COLOR_NAMES[_i]),)
    _SGR_FLAGS[40 + _i] = ((_BG, COLOR_NAMES[_i]),)
    _SGR_FLAGS[90 + _i] = ((_FG, COLOR_NAMES[_i + 8]),)
    _SGR_FLAGS[100 + _i] = ((_BG, COLOR_NAMES[_i + 8]),)
# The same table keyed by parameter text, including zero-padded forms such as "01" (ls colours).
_SGR_TEXT: dict[str, tuple[tuple[int, Any], ...]] = {"": _SGR_FLAGS[0]}
for _code, _changes in _SGR_FLAGS.items():
    _SGR_TEXT[str(_code)] = _changes
    _SGR_TEXT[f"{_code:02d}"] = _changes
    _SGR_TEXT[f"{_code:03d}"] = _changes


def apply_sgr(cell: Cell, params: str) -> Cell:
    """Return ``cell`` with the SGR parameter string ``params`` (e.g. ``"1;38;5;208"``) applied.

    Handles ``;`` and ``:`` forms of 256-colour and truecolor (``38:2::r:g:b``), underline
    styles (``4:3``, ``4:0``) and ignores what a cell cannot show (underline colour 58, 8, 53...).
    """
    fields = list(cell)
    parts = params.split(";")
    count = len(parts)
    i = 0
    while i < count:
        part = parts[i]
        i += 1
        changes = _SGR_TEXT.get(part)
        if changes is not None:
            for index, value in changes:
                fields[index] = value
            continue
        if ":" in part:
            subs = part.split(":")
            code = _sgr_int(subs[0])
            if code in (38, 48):
                colour = _extended_colour(subs[1:])
                if colour is not None:
                    fields[_FG if code == 38 else _BG] = colour
            elif code == 4:
                fields[_UNDERSCORE] = _sgr_int(subs[1]) != 0 if len(subs) > 1 else True
            elif code in _SGR_FLAGS:
                for index, value in _SGR_FLAGS[code]:
                    fields[index] = value
            continue
        code = _sgr_int(part)
        if code in (38, 48, 58):
            kind = parts[i] if i < count else ""
            take = 2 if kind == "5" else 4 if kind == "2" else 1
            colour = _extended_colour(parts[i : i + take])
            i += take
            if colour is not None and code != 58:  # 58 = underline colour, not modelled
                fields[_FG if code == 38 else _BG] = colour
        elif code in _SGR_FLAGS:  # e.g. "0001"
            for index, value in _SGR_FLAGS[code]:
                fields[index] = value
    return _new_tuple(Cell, fields)  # type: ignore[no-any-return]


class TerminalScreen(pyte.Screen):  # type: ignore[misc]
    """An xterm-compatible screen with scrollback, alternate screen and query answers."""

    def __init__(self, columns: int, lines: int, scrollback: int = 10_000) -> None:
        self.history: collections.deque[Sequence[Cell]] = collections.deque(maxlen=max(0, scrollback))
        # Rows appended to ``history`` so far, minus rows a resize pulled back: unlike len(history)
        # it keeps growing once the deque is full, so a scrolled-back view can follow new rows.
        self.history_pushed = 0
        # Bumped whenever rows already in ``history`` go away other than off its far end (a clear,
        # a resize pulling rows back): a copy of history rows kept elsewhere is stale then.
        self.history_epoch = 0
        # Rows pushed to history up to this count are stored compactly (see _compacting_history).
        self._compact_until = 0
        self.on_reply: Callable[[bytes], None] = _noop_reply
        self.on_bell: Callable[[], None] = _noop_bell
        self.on_title: Callable[[str], None] = _noop_title
        self._styles: dict[Cell, _Style] = {}
        self._budget = _CacheBudget(self._styles)
        self._parser = TerminalParser(self)
        self.dirty: set[int] = set()
        self.columns = max(1, columns)
        self.lines = max(1, lines)
        super().__init__(self.columns, self.lines)  # calls self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Full reset (RIS): clears both screens and modes; keeps the scrollback."""
        self.dirty.update(range(self.lines))
        self._main_buffer: list[list[Cell]] = [[BLANK] * self.columns for _ in range(self.lines)]
        self._alt_buffer: list[list[Cell]] = [[BLANK] * self.columns for _ in range(self.lines)]
        self.buffer: list[list[Cell]] = self._main_buffer
        self.in_alternate_screen = False
        self.margins: Optional[Margins] = None
        self._set_region(0, self.lines - 1)
        self.mode: set[int] = {pyte_modes.DECAWM, pyte_modes.DECTCEM}
        self._autowrap = True
        self._insert = False
        self._origin = False
        self._newline_mode = False
        self.title = ""
        self.icon_name = ""
        self.charset = 0
        self.g0_charset = pyte_charsets.LAT1_MAP
        self.g1_charset = pyte_charsets.VT100_MAP
        self._translate: Optional[str] = None
        self._fast = True
        self.tabstops: set[int] = set(range(8, self.columns, 8))
        self.savepoints: list[Any] = []
        self._saved_cursor: dict[bool, Optional[_SavedCursor]] = {False: None, True: None}
        self.saved_columns: Optional[int] = None
        self._wide_seen = False
        self.synchronized_output = False
        self.bracketed_paste = False
        self.app_cursor_keys = False
        self.mouse_tracking = 0
        self.mouse_sgr = False
        self.focus_reporting = False
        if not isinstance(getattr(self, "cursor", None), _ScreenCursor):
            self.cursor = _ScreenCursor(self)
        self.cursor.x = self.cursor.y = 0
        self.cursor.hidden = False
        self._set_style(self._style_for(BLANK))

    def _set_region(self, top: int, bottom: int) -> None:
        """Set the scroll region (0-based, inclusive) and the row set a scroll of it marks dirty."""
        self._top = top
        self._bottom = bottom
        self._region_rows = frozenset(range(top, bottom + 1))

    def _style_for(self, cell: Cell) -> _Style:
        style = self._styles.get(cell)
        if style is None:
            if len(self._styles) >= _MAX_STYLES or self._budget.cells_exhausted:
                # Forget every cached style (truecolor gradients can create many).
                for old in self._styles.values():
                    old.trans.clear()
                    old.by_item.clear()
                self._styles.clear()
                budget = self._budget
                budget.cells = budget.runs = budget.seen = budget.transitions = 0
                budget.churned = True
            style = _Style(cell, self._budget)
            self._styles[cell] = style
        return style

    def _set_style(self, style: _Style) -> None:
        self._style = style

    @property
    def default_char(self) -> Cell:
        return BLANK

    @property
    def display(self) -> list[str]:
        """Rows as strings (wide characters once, their stub cells skipped)."""
        return ["".join(cell.data for cell in row) for row in self.buffer]

    def row_cells(self, y: int) -> list[Cell]:
        """A copy of live-screen row ``y``: exactly ``columns`` cells."""
        return list(self.buffer[y])

    def row_text(self, y: int) -> str:
        """Row ``y`` of the live screen as text, trailing spaces kept."""
        return "".join(cell.data for cell in self.buffer[y])

    def history_len(self) -> int:
        return len(self.history)

    def history_row(self, index: int) -> Sequence[Cell] | None:
        """Scrollback row ``index`` (0 = the oldest kept); None when there is no such row."""
        history = self.history
        return history[index] if 0 <= index < len(history) else None

    def feed(self, data: bytes) -> None:
        """Parse bytes from the child; never raises."""
        self._parser.feed(data)

    def write_process_input(self, data: str) -> None:
        self.on_reply(data.encode())

    # ------------------------------------------------------------------ text
    def draw(self, data: str) -> None:
        """Print a run of printable characters at the cursor."""
        if self._fast and data.isascii():
            # Hot path: ASCII that fits on the current row, replace mode, no charset translation.
            cursor = self.cursor
            x = cursor.x
            end = x + len(data)
            if end <= self.columns:
                y = cursor.y
                row = self.buffer[y]
                if self._wide_seen:
                    self._clear_split_wide(row, x, end)
                row[x:end] = self._style.cells_for(data)
                self.dirty.add(y)
                cursor.x = end
                return
            self._draw_narrow(data)
            return
        if self._translate is not None:
            data = data.translate(self._translate)
        if data.isascii() or _narrow_chars.issuperset(data):
            self._draw_narrow(data)
        else:
            self._draw_mixed(data)

    def _clear_split_wide(self, row: list[Cell], x: int, end: int) -> None:
        """Blank the halves of wide characters that writing cells [x, end) would cut."""
        if x and x < self.columns and not row[x][0]:
            row[x - 1] = BLANK
        if end < self.columns and not row[end][0]:
            row[end] = BLANK

    def _update_fast(self) -> None:
        self._fast = self._translate is None and not self._insert

    def _draw_narrow(self, data: str) -> None:
        """Hot path: every character of ``data`` is exactly one cell wide."""
        cursor = self.cursor
        x = cursor.x
        y = cursor.y
        cols = self.columns
        n = len(data)
        if not n:
            return
        if x >= cols:
            if self._autowrap:
                x = 0
                y = self._next_line(y)
            else:
                x = cols - 1
        getcell = self._style.getcell
        dirty = self.dirty
        if x + n <= cols and not self._insert:
            row = self.buffer[y]
            end = x + n
            if self._wide_seen:
                self._clear_split_wide(row, x, end)
            if n == 1:
                row[x] = getcell(data)
            else:
                row[x:end] = map(getcell, data)
            dirty.add(y)
            cursor.x = end
            cursor.y = y
            return
        pos = 0
        while True:
            row = self.buffer[y]
            room = cols - x
            chunk = data[pos : pos + room]
            k = len(chunk)
            end = x + k
            if self._insert:
                row[x:x] = map(getcell, chunk)
                del row[cols:]
                if self._wide_seen:
                    self._fix_wide_tail(row)
            else:
                if self._wide_seen:
                    self._clear_split_wide(row, x, end)
                row[x:end] = map(getcell, chunk)
            dirty.add(y)
            pos += k
            x = end
            if pos >= n:
                break
            if not self._autowrap:
                row[cols - 1] = getcell(data[-1])
                x = cols
                break
            x = 0
            y = self._next_line(y)
        cursor.x = x
        cursor.y = y

    def _draw_mixed(self, data: str) -> None:
        """Text with wide, zero-width or unprintable characters."""
        start = 0
        narrow = _narrow_chars
        for i, ch in enumerate(data):
            if ch in narrow:
                continue
            width = char_width(ch)
            if width == 1:
                continue
            if i > start:
                self._draw_narrow(data[start:i])
            start = i + 1
            if width == 2:
                self._draw_wide(ch)
            elif width == 0:
                self._combine(ch)
        if start < len(data):
            self._draw_narrow(data[start:])

    def _draw_wide(self, ch: str) -> None:
        cursor = self.cursor
        cols = self.columns
        if cols < 2:
            return
        x, y = cursor.x, cursor.y
        if x >= cols - 1:
            if self._autowrap:
                if x == cols - 1:
                    self.buffer[y][x] = self._style.blank
                    self.dirty.add(y)
                x = 0
                y = self._next_line(y)
            else:
                x = cols - 2
        row = self.buffer[y]
        if self._insert:
            row[x:x] = [BLANK, BLANK]
            del row[cols:]
        if x and not row[x][0]:
            row[x - 1] = BLANK
        if x + 2 < cols and not row[x + 2][0]:
            row[x + 2] = BLANK
        getcell = self._style.getcell
        row[x] = getcell(ch)
        row[x + 1] = getcell("")
        self._wide_seen = True
        self.dirty.add(y)
        cursor.x = x + 2
        cursor.y = y

    def _combine(self, ch: str) -> None:
        """Attach a zero-width character to the cell left of the cursor."""
        x = min(self.cursor.x, self.columns)
        y = self.cursor.y
        if x == 0:
            return
        row = self.buffer[y]
        px = x - 1
        if px and not row[px][0]:
            px -= 1
        cell = row[px]
        if len(cell.data) < 32:
            row[px] = cell._replace(data=cell.data + ch)
            self.dirty.add(y)

    def repeat_last_character(self, count: int = 1) -> None:
        """REP (CSI n b): print the last printed character ``count`` more times."""
        x = min(self.cursor.x, self.columns) - 1
        row = self.buffer[self.cursor.y]
        if x > 0 and not row[x][0]:
            x -= 1
        if x >= 0:
            self.draw(row[x].data * max(1, min(count, self.columns * self.lines)))

    # ------------------------------------------------------------------ scrolling
    def _next_line(self, y: int) -> int:
        """Move down one row from ``y`` (scrolling at the bottom margin); return the new row."""
        if y == self._bottom:
            self._scroll_one()
            return y
        if y < self.lines - 1:
            return y + 1
        return y

    def _scroll_one(self, mark_dirty: bool = True) -> None:
        """Scroll the region up by one row (every line feed at the bottom margin).

        The parser passes ``mark_dirty=False`` and marks ``_region_rows`` itself once per feed.
        A row that leaves the screen without being kept (a full scrollback's oldest row, or the
        top row of the alternate screen or of a scroll region) is blanked and reused as the new
        bottom row when nothing else references it: in a long session no row is allocated per
        line, so scrolling creates no work for the garbage collector.
        """
        top = self._top
        buf = self.buffer
        row: list[Cell] | None = buf.pop(top)
        if top == 0 and not self.in_alternate_screen:
            row = self._push_history_row(row)  # type: ignore[arg-type]
        style = self._style
        blank_line = style.blank_line
        if len(blank_line) != self.columns:
            blank_line = style.blank_line = (style.blank,) * self.columns
        if row is not None and getrefcount(row) == _ONLY_LOCAL_REFERENCE:
            row[:] = blank_line
        else:
            row = list(blank_line)
        buf.insert(self._bottom, row)
        if mark_dirty:
            self.dirty.update(self._region_rows)

    def _compacting_history(self) -> bool:
        """Whether the rows pushed now go to history as :class:`HistoryRow`.

        Compacting costs tens of microseconds a row, so it happens only while the style caches
        churn, and for as many rows after as can still hold cells drawn before the churn stopped.
        """
        budget = self._budget
        if budget.churned:
            budget.churned = False
            self._compact_until = self.history_pushed + self.lines + _COMPACT_AFTER_CHURN
        return self.history_pushed < self._compact_until

    def _push_history_row(self, row: list[Cell]) -> list[Cell] | None:
        """Push ``row`` (just taken off the screen) to history; return a list free for reuse.

        With the scrollback full the oldest row makes room; it is reused (as the new screen
        row, or refilled as a compact row) only when nothing else refers to it.
        """
        history = self.history
        compact = self._compacting_history()
        self.history_pushed += 1
        if not history.maxlen:
            return row
        if len(history) < history.maxlen:
            if compact:
                history.append(HistoryRow(row))
                return row
            history.append(row)
            return None
        oldest = history.popleft()
        if not compact:
            history.append(row)
            return oldest if type(oldest) is list else None  # pylint: disable=unidiomatic-typecheck
        if type(oldest) is HistoryRow and getrefcount(oldest) == _ONLY_LOCAL_REFERENCE:
            oldest.refill(row)
            history.append(oldest)
        else:
            history.append(HistoryRow(row))
        return row

    def _extend_history(self, rows: list[list[Cell]]) -> None:
        """Push several rows to history; the caller replaces them on the screen."""
        compact = self._compacting_history()
        self.history.extend(map(HistoryRow, rows) if compact else rows)
        self.history_pushed += len(rows)

    def scroll_in_lines(self, block: str) -> int:
        """Apply the start of ``block`` (lines matching :data:`SIMPLE_LINES`) as if it were fed.

        When the cursor is at column 0 of a blank bottom row of a full-screen scroll region on the
        main screen, every line of the block starts on a fresh bottom row and scrolls up, so all but
        the last screenful pass through the screen unseen into history: those are stored as
        compact history rows straight from their text and colours, with no cell or screen row ever
        built for them. Returns how many characters were applied: whole lines, up to the first one
        wider than the screen; 0 (nothing changed) when the cursor is elsewhere or too few lines
        would skip the screen to be worth it.
        """
        if not self._lines_can_skip_screen():
            return 0
        columns = self.columns
        lines = self.lines
        end = len(block)
        block_lines = block.split("\n")
        if max(map(len, block_lines)) > columns:  # escape sequences included: maybe too wide
            end = self._end_of_lines_that_fit(block_lines)
        if block.count("\n", 0, end) - lines + 1 < _MIN_LINES_INTO_HISTORY:
            return 0
        split = end  # after the last line that leaves the screen: a screenful before the end
        for _ in range(lines):
            split = block.rfind("\n", 0, split)
        split += 1
        buffer = self.buffer
        for y in range(lines - 1):  # the rows above the cursor leave first
            self._push_history_row(buffer[y])
        self._lines_into_history(LINE_TOKENS.findall(block, 0, split))
        buffer[:] = self._lines_onto_screen(LINE_TOKENS.findall(block, split, end))
        self.dirty.update(range(lines))
        return end

    def _lines_can_skip_screen(self) -> bool:
        cursor = self.cursor
        bottom = self.lines - 1
        return (
            cursor.x == 0
            and cursor.y == bottom
            and self._top == 0
            and self._bottom == bottom
            and self._fast
            and not self.in_alternate_screen
            and self.buffer[bottom].count(self._style.blank) == self.columns
        )

    def _end_of_lines_that_fit(self, block_lines: list[str]) -> int:
        """Where the first of ``block_lines`` wider than the screen starts (or the block's end)."""
        columns = self.columns
        end = 0
        for line in block_lines[:-1]:
            if len(line) > columns and len(SGR_SEQUENCE.sub("", line).rstrip("\r")) > columns:
                break
            end += len(line) + 1
        return end

    def _next_style(self, style: _Style, sgr: str) -> _Style:
        """The style after the SGR sequence ``sgr`` (not cached on ``style`` yet)."""
        self._style = style
        self.sgr(sgr[2:-1])
        nxt = self._style
        style.remember_item(sgr, nxt)
        return nxt

    def _lines_into_history(self, tokens: list[str]) -> None:
        """Append each line of ``tokens`` to history as the compact row it would have left as."""
        columns = self.columns
        history_append = self.history.append
        pack_starts: Callable[[list[int]], bytes | tuple[int, ...]] = bytes if columns <= 256 else tuple
        new_row = HistoryRow.from_runs
        style = self._style
        fill = style.history_blank  # a fresh bottom row is blank in the style of the line feed
        texts: list[str] = []
        starts: list[int] = []
        styles: list[int | Cell] = []
        last: int | Cell | None = None
        x = 0
        pushed = 0
        for token in tokens:
            if token < " ":  # ESC or CR
                if token >= "\x1b":  # an SGR sequence (a line end starts with CR)
                    nxt = style.by_item.get(token)
                    style = nxt if nxt is not None else self._next_style(style, token)
                    continue
                # the line's end
                if x < columns:
                    texts.append(" " * (columns - x))
                    if last != fill:
                        starts.append(x)
                        styles.append(fill)
                history_append(new_row("".join(texts), pack_starts(starts), tuple(styles)))
                pushed += 1
                texts = []
                starts = []
                styles = []
                last = None
                x = 0
                fill = style.history_blank
            else:
                code = style.history_style
                if code != last:
                    starts.append(x)
                    styles.append(code)
                    last = code
                texts.append(token)
                x += len(token)
        self._style = style
        self.history_pushed += pushed

    def _lines_onto_screen(self, tokens: list[str]) -> list[list[Cell]]:
        """The screen rows the lines of ``tokens`` leave, each on a fresh row, plus the bottom row."""
        columns = self.columns
        style = self._style
        rows: list[list[Cell]] = []
        row = [style.blank] * columns
        x = 0
        for token in tokens:
            if token < " ":
                if token >= "\x1b":
                    nxt = style.by_item.get(token)
                    style = nxt if nxt is not None else self._next_style(style, token)
                    continue
                rows.append(row)
                row = [style.blank] * columns
                x = 0
            else:
                end = x + len(token)
                row[x:end] = style.cells_for(token)
                x = end
        rows.append(row)
        self._style = style
        return rows

    def _scroll_up(self, count: int) -> None:
        top, bottom = self._top, self._bottom
        count = max(1, min(count, bottom - top + 1))
        if count == 1:
            self._scroll_one()
            return
        buf = self.buffer
        cols = self.columns
        blank = self._style.blank
        if top == 0 and not self.in_alternate_screen:
            self._extend_history(buf[top : top + count])
        del buf[top : top + count]
        buf[bottom - count + 1 : bottom - count + 1] = [[blank] * cols for _ in range(count)]
        self.dirty.update(self._region_rows)

    def _scroll_down(self, count: int) -> None:
        top, bottom = self._top, self._bottom
        count = max(1, min(count, bottom - top + 1))
        buf = self.buffer
        blank = self._style.blank
        del buf[bottom - count + 1 : bottom + 1]
        buf[top:top] = [[blank] * self.columns for _ in range(count)]
        self.dirty.update(self._region_rows)

    def index(self) -> None:
        self.cursor.y = self._next_line(self.cursor.y)

    def reverse_index(self) -> None:
        cursor = self.cursor
        if cursor.y == self._top:
            self._scroll_down(1)
        elif cursor.y > 0:
            cursor.y -= 1

    def linefeed(self) -> None:
        cursor = self.cursor
        if cursor.x >= self.columns:
            cursor.x = self.columns - 1
        cursor.y = self._next_line(cursor.y)
        if self._newline_mode:
            cursor.x = 0

    def carriage_return_linefeed(self) -> None:
        cursor = self.cursor
        cursor.x = 0
        cursor.y = self._next_line(cursor.y)

    def next_line(self) -> None:
        """NEL (ESC E)."""
        self.carriage_return_linefeed()

    def carriage_return(self) -> None:
        self.cursor.x = 0

    def scroll_up(self, count: Optional[int] = None) -> None:
        """SU (CSI n S)."""
        self._scroll_up(count or 1)

    def scroll_down(self, count: Optional[int] = None) -> None:
        """SD (CSI n T)."""
        self._scroll_down(count or 1)

    def set_margins(self, top: Optional[int] = None, bottom: Optional[int] = None) -> None:
        """DECSTBM; 1-based inclusive rows, missing/0 meaning the screen edge."""
        new_top = (top or 1) - 1
        new_bottom = (bottom or self.lines) - 1
        new_top = max(0, min(new_top, self.lines - 1))
        new_bottom = max(0, min(new_bottom, self.lines - 1))
        if new_bottom <= new_top:
            return
        self._set_region(new_top, new_bottom)
        if new_top == 0 and new_bottom == self.lines - 1:
            self.margins = None
        else:
            self.margins = Margins(new_top, new_bottom)
        self.cursor_position()

    # ------------------------------------------------------------------ cursor moves
    def cursor_position(self, line: Optional[int] = None, column: Optional[int] = None) -> None:
        """CUP / HVP: 1-based, relative to the top margin in origin mode."""
        y = (line or 1) - 1
        x = (column or 1) - 1
        if self._origin:
            y = min(y + self._top, self._bottom)
        cursor = self.cursor
        cursor.x = x if x < self.columns else self.columns - 1
        cursor.y = y if y < self.lines else self.lines - 1

    def cursor_to_column(self, column: Optional[int] = None) -> None:
        """CHA / HPA."""
        x = (column or 1) - 1
        self.cursor.x = x if x < self.columns else self.columns - 1

    def cursor_to_line(self, line: Optional[int] = None) -> None:
        """VPA."""
        y = (line or 1) - 1
        if self._origin:
            y = min(y + self._top, self._bottom)
        cursor = self.cursor
        cursor.y = y if y < self.lines else self.lines - 1
        if cursor.x >= self.columns:
            cursor.x = self.columns - 1

    def cursor_up(self, count: Optional[int] = None) -> None:
        cursor = self.cursor
        limit = self._top if cursor.y >= self._top else 0
        cursor.y = max(cursor.y - (count or 1), limit)
        if cursor.x >= self.columns:
            cursor.x = self.columns - 1

    def cursor_down(self, count: Optional[int] = None) -> None:
        cursor = self.cursor
        limit = self._bottom if cursor.y <= self._bottom else self.lines - 1
        cursor.y = min(cursor.y + (count or 1), limit)
        if cursor.x >= self.columns:
            cursor.x = self.columns - 1

    def cursor_up1(self, count: Optional[int] = None) -> None:
        self.cursor_up(count)
        self.cursor.x = 0

    def cursor_down1(self, count: Optional[int] = None) -> None:
        self.cursor_down(count)
        self.cursor.x = 0

    def cursor_back(self, count: Optional[int] = None) -> None:
        cursor = self.cursor
        cursor.x = max(min(cursor.x, self.columns) - (count or 1), 0)

    def cursor_forward(self, count: Optional[int] = None) -> None:
        cursor = self.cursor
        cursor.x = min(cursor.x + (count or 1), self.columns - 1)

    def backspace(self) -> None:
        cursor = self.cursor
        if cursor.x > 0:
            cursor.x = min(cursor.x, self.columns) - 1

    def tab(self) -> None:
        x = self.cursor.x
        later = [stop for stop in self.tabstops if stop > x]
        self.cursor.x = min(later) if later else self.columns - 1
        if self.cursor.x >= self.columns:
            self.cursor.x = self.columns - 1

    def tab_forward(self, count: int = 1) -> None:
        """CHT (CSI n I)."""
        for _ in range(max(1, min(count, self.columns))):
            self.tab()

    def tab_backward(self, count: int = 1) -> None:
        """CBT (CSI n Z)."""
        for _ in range(max(1, min(count, self.columns))):
            x = min(self.cursor.x, self.columns)
            earlier = [stop for stop in self.tabstops if stop < x]
            self.cursor.x = max(earlier) if earlier else 0

    def set_tab_stop(self) -> None:
        if self.cursor.x < self.columns:
            self.tabstops.add(self.cursor.x)

    def clear_tab_stop(self, how: int = 0) -> None:
        if how == 0:
            self.tabstops.discard(self.cursor.x)
        elif how == 3:
            self.tabstops = set()

    def save_cursor(self) -> None:
        """DECSC: position, attributes, charsets, origin and wrap modes."""
        cursor = self.cursor
        self._saved_cursor[self.in_alternate_screen] = _SavedCursor(
            cursor.x,
            cursor.y,
            self._style,
            self.g0_charset,
            self.g1_charset,
            self.charset,
            self._origin,
            self._autowrap,
        )

    def restore_cursor(self) -> None:
        """DECRC; without a saved state the cursor goes home with default attributes."""
        saved = self._saved_cursor[self.in_alternate_screen]
        if saved is None:
            self._origin = False
            self.mode.discard(pyte_modes.DECOM)
            self._set_style(self._style_for(BLANK))
            self.cursor.x = self.cursor.y = 0
            return
        self.g0_charset = saved.g0_charset
        self.g1_charset = saved.g1_charset
        self.charset = saved.charset
        self._update_translate()
        self._set_flag_mode(pyte_modes.DECOM, saved.origin)
        self._origin = saved.origin
        self._set_flag_mode(pyte_modes.DECAWM, saved.autowrap)
        self._autowrap = saved.autowrap
        self._set_style(saved.style)
        self.cursor.x = min(saved.x, self.columns - 1)
        self.cursor.y = min(saved.y, self.lines - 1)

    # ------------------------------------------------------------------ editing
    def erase_in_line(self, how: int = 0, private: bool = False) -> None:
        """EL: 0 cursor→end, 1 start→cursor, 2 whole line."""
        cursor = self.cursor
        row = self.buffer[cursor.y]
        cols = self.columns
        blank = self._style.blank
        x = cursor.x
        if how == 0:
            if x < cols:
                if x and not row[x][0]:
                    row[x - 1] = BLANK
                row[x:] = [blank] * (cols - x)
        elif how == 1:
            end = min(x + 1, cols)
            if end < cols and not row[end][0]:
                row[end] = BLANK
            row[:end] = [blank] * end
        elif how == 2:
            row[:] = [blank] * cols
        else:
            return
        self.dirty.add(cursor.y)

    def erase_in_display(self, how: int = 0, *args: Any, **kwargs: Any) -> None:
        """ED: 0 cursor→end, 1 start→cursor, 2 whole screen, 3 scrollback only."""
        cursor = self.cursor
        buf = self.buffer
        cols = self.columns
        blank = self._style.blank
        if how == 0:
            self.erase_in_line(0)
            for y in range(cursor.y + 1, self.lines):
                buf[y] = [blank] * cols
            self.dirty.update(range(cursor.y, self.lines))
        elif how == 1:
            self.erase_in_line(1)
            for y in range(cursor.y):
                buf[y] = [blank] * cols
            self.dirty.update(range(cursor.y + 1))
        elif how == 2:
            if not self.in_alternate_screen:
                self._push_screen_to_history()
            for y in range(self.lines):
                buf[y] = [blank] * cols
            self.dirty.update(range(self.lines))
        elif how == 3:
            self.history.clear()
            self.history_epoch += 1

    def _push_screen_to_history(self) -> None:
        """Like tmux's scroll-on-clear: rows up to the last non-blank one go to the scrollback."""
        buf = self.buffer
        cols = self.columns
        last = -1
        for y in range(self.lines - 1, -1, -1):
            if buf[y].count(BLANK) != cols:
                last = y
                break
        if last >= 0:
            self._extend_history(buf[: last + 1])

    def erase_characters(self, count: Optional[int] = None) -> None:
        """ECH: blank ``count`` cells from the cursor, cursor stays."""
        cursor = self.cursor
        x = min(cursor.x, self.columns - 1)
        end = min(x + (count or 1), self.columns)
        row = self.buffer[cursor.y]
        if x and not row[x][0]:
            row[x - 1] = BLANK
        if end < self.columns and not row[end][0]:
            row[end] = BLANK
        row[x:end] = [self._style.blank] * (end - x)
        self.dirty.add(cursor.y)

    def insert_characters(self, count: Optional[int] = None) -> None:
        """ICH: shift the rest of the line right."""
        cursor = self.cursor
        x = min(cursor.x, self.columns - 1)
        n = min(count or 1, self.columns - x)
        row = self.buffer[cursor.y]
        row[x:x] = [self._style.blank] * n
        del row[self.columns :]
        self._fix_wide_tail(row)
        self.dirty.add(cursor.y)

    def delete_characters(self, count: Optional[int] = None) -> None:
        """DCH: shift the rest of the line left, blanks enter at the right."""
        cursor = self.cursor
        x = min(cursor.x, self.columns - 1)
        n = min(count or 1, self.columns - x)
        row = self.buffer[cursor.y]
        del row[x : x + n]
        row.extend([self._style.blank] * n)
        if not row[x][0]:
            row[x] = BLANK
        self.dirty.add(cursor.y)

    def _fix_wide_tail(self, row: list[Cell]) -> None:
        last = row[-1]
        if last[0] and char_width(last[0][0]) == 2:
            row[-1] = BLANK

    def insert_lines(self, count: Optional[int] = None) -> None:
        """IL: insert blank lines at the cursor row inside the scroll region."""
        cursor = self.cursor
        top, bottom = self._top, self._bottom
        if not top <= cursor.y <= bottom:
            return
        n = min(count or 1, bottom - cursor.y + 1)
        buf = self.buffer
        del buf[bottom - n + 1 : bottom + 1]
        buf[cursor.y : cursor.y] = [[self._style.blank] * self.columns for _ in range(n)]
        self.dirty.update(range(cursor.y, bottom + 1))
        cursor.x = 0

    def delete_lines(self, count: Optional[int] = None) -> None:
        """DL: delete lines at the cursor row inside the scroll region."""
        cursor = self.cursor
        top, bottom = self._top, self._bottom
        if not top <= cursor.y <= bottom:
            return
        n = min(count or 1, bottom - cursor.y + 1)
        buf = self.buffer
        del buf[cursor.y : cursor.y + n]
        buf[bottom - n + 1 : bottom - n + 1] = [[self._style.blank] * self.columns for _ in range(n)]
        self.dirty.update(range(cursor.y, bottom + 1))
        cursor.x = 0

    def alignment_display(self) -> None:
        """DECALN (ESC # 8): fill the screen with 'E'."""
        cell = BLANK._replace(data="E")
        for y in range(self.lines):
            self.buffer[y] = [cell] * self.columns
        self.dirty.update(range(self.lines))

    # ------------------------------------------------------------------ attributes
    def select_graphic_rendition(self, *attrs: int, **kwargs: Any) -> None:
        """SGR from integer parameters (pyte's signature)."""
        self.sgr(";".join(str(a) for a in attrs))

    def sgr(self, params: str) -> None:
        """SGR from the raw parameter string, with per-style cached transitions."""
        style = self._style
        nxt = style.trans.get(params)
        if nxt is None:
            nxt = self._style_for(apply_sgr(style.cell, params))
            if len(style.trans) >= _MAX_TRANSITIONS:
                style.trans.clear()
            self._budget.count_transition(style)
            style.trans[params] = nxt
        self._style = nxt

    def define_charset(self, code: str, mode: str) -> None:
        charset_map = pyte_charsets.MAPS.get(code)
        if charset_map is None:
            return
        if mode == "(":
            self.g0_charset = charset_map
        elif mode == ")":
            self.g1_charset = charset_map
        self._update_translate()

    def shift_in(self) -> None:
        self.charset = 0
        self._update_translate()

    def shift_out(self) -> None:
        self.charset = 1
        self._update_translate()

    def _update_translate(self) -> None:
        active = self.g1_charset if self.charset else self.g0_charset
        self._translate = None if active == pyte_charsets.LAT1_MAP else active
        self._update_fast()

    # ------------------------------------------------------------------ modes
    def _set_flag_mode(self, mode: int, on: bool) -> None:
        if on:
            self.mode.add(mode)
        else:
            self.mode.discard(mode)

    def set_mode(self, *modes: int, **kwargs: Any) -> None:
        private = bool(kwargs.get("private"))
        for mode in modes:
            self._change_mode(mode, private, True)

    def reset_mode(self, *modes: int, **kwargs: Any) -> None:
        private = bool(kwargs.get("private"))
        for mode in modes:
            self._change_mode(mode, private, False)

    def _change_mode(self, mode: int, private: bool, on: bool) -> None:
        if not private:
            self._set_flag_mode(mode, on)
            if mode == 4:
                self._insert = on
                self._update_fast()
            elif mode == 20:
                self._newline_mode = on
            return
        self._set_flag_mode(mode << 5, on)
        if mode == 1:
            self.app_cursor_keys = on
        elif mode == 25:
            self.cursor.hidden = not on
        elif mode == 7:
            self._autowrap = on
        elif mode == 6:
            self._origin = on
            self.cursor_position()
        elif mode == 2026:
            self.synchronized_output = on
        elif mode == 2004:
            self.bracketed_paste = on
        elif mode in _MOUSE_MODES:
            if on:
                self.mouse_tracking = mode
            elif self.mouse_tracking == mode:
                self.mouse_tracking = 0
        elif mode == 1006:
            self.mouse_sgr = on
        elif mode == 1004:
            self.focus_reporting = on
        elif mode == 1049:
            if on:
                if not self.in_alternate_screen:
                    self.save_cursor()
                self._enter_alternate_screen()
            else:
                self._leave_alternate_screen()
                self.restore_cursor()
        elif mode in (47, 1047):
            if on:
                self._enter_alternate_screen()
            else:
                self._leave_alternate_screen()
        elif mode == 1048:
            if on:
                self.save_cursor()
            else:
                self.restore_cursor()
        elif mode == 3:
            # DECCOLM: the PTY size is fixed by the pane, so (like tmux) only clear and home.
            self.erase_in_display(2)
            self.set_margins()
            self.cursor.x = self.cursor.y = 0
        elif mode == 5:
            self.dirty.update(range(self.lines))

    def _enter_alternate_screen(self) -> None:
        if self.in_alternate_screen:
            return
        self._alt_buffer[:] = [[BLANK] * self.columns for _ in range(self.lines)]
        self.buffer = self._alt_buffer
        self.in_alternate_screen = True
        self.dirty.update(range(self.lines))

    def _leave_alternate_screen(self) -> None:
        if not self.in_alternate_screen:
            return
        self.buffer = self._main_buffer
        self.in_alternate_screen = False
        self.dirty.update(range(self.lines))

    def soft_reset(self) -> None:
        """DECSTR (CSI ! p)."""
        self._set_style(self._style_for(BLANK))
        self.set_margins()
        for mode, private in ((4, False), (6, True), (1, True)):
            self._change_mode(mode, private, False)
        self._change_mode(25, True, True)
        self._change_mode(7, True, True)
        self.g0_charset = pyte_charsets.LAT1_MAP
        self.g1_charset = pyte_charsets.VT100_MAP
        self.charset = 0
        self._update_translate()
        self._saved_cursor[self.in_alternate_screen] = None

    def report_mode(self, mode: int, private: bool) -> None:
        """DECRQM: answer whether ``mode`` is set (1), reset (2) or unknown (0)."""
        known = KNOWN_PRIVATE_MODES if private else KNOWN_ANSI_MODES
        key = mode << 5 if private else mode
        if mode not in known:
            state = 0
        elif mode == 2026:
            state = 1 if self.synchronized_output else 2
        elif mode in (47, 1047, 1049):
            state = 1 if self.in_alternate_screen else 2
        else:
            state = 1 if key in self.mode else 2
        prefix = "?" if private else ""
        self.on_reply(f"\x1b[{prefix}{mode};{state}$y".encode())

    # ------------------------------------------------------------------ queries and OSC
    def report_device_status(self, mode: int = 0, **kwargs: Any) -> None:
        """DSR 5 (status) and 6 (cursor position); ``private=True`` for DECXCPR (CSI ? 6 n)."""
        private = bool(kwargs.get("private"))
        if mode == 5 and not private:
            self.on_reply(b"\x1b[0n")
        elif mode == 6:
            cursor = self.cursor
            x = min(cursor.x, self.columns - 1) + 1
            y = cursor.y + 1
            if self._origin:
                y -= self._top
            self.on_reply(f"\x1b[{'?' if private else ''}{y};{x}R".encode())

    def report_device_attributes(self, mode: int = 0, **kwargs: Any) -> None:
        """DA1 (CSI c) or, with ``secondary=True``, DA2 (CSI > c)."""
        if mode != 0:
            return
        self.on_reply(DA2_REPLY if kwargs.get("secondary") else DA1_REPLY)

    def report_version(self) -> None:
        """XTVERSION (CSI > q)."""
        self.on_reply(XTVERSION_REPLY)

    def report_window_size(self, what: int) -> None:
        """XTWINOPS 18 (text area size in characters); other window ops are ignored."""
        if what == 18:
            self.on_reply(f"\x1b[8;{self.lines};{self.columns}t".encode())

    def set_title(self, param: str) -> None:
        self.title = param
        self.on_title(param)

    def set_icon_name(self, param: str) -> None:
        self.icon_name = param

    def bell(self, *args: Any) -> None:
        self.on_bell()

    def operating_system_command(self, payload: str) -> None:
        """OSC: 0/2 set the title, 1 the icon name; the rest (8 links, 52, 133, colours) is consumed."""
        code, _, rest = payload.partition(";")
        if code == "0":
            self.set_icon_name(rest)
            self.set_title(rest)
        elif code == "2":
            self.set_title(rest)
        elif code == "1":
            self.set_icon_name(rest)

    # ------------------------------------------------------------------ resize and recovery
    def resize(self, lines: Optional[int] = None, columns: Optional[int] = None) -> None:
        """Resize (lines first, as pyte). Shrinking pushes rows above the cursor into the
        scrollback after dropping rows below it; growing pulls them back (like tmux)."""
        lines = max(1, lines or self.lines)
        columns = max(1, columns or self.columns)
        if lines == self.lines and columns == self.columns:
            return
        if columns != self.columns:
            for buf in (self._main_buffer, self._alt_buffer):
                for row in buf:
                    self._resize_row(row, columns)
            self.tabstops = {t for t in self.tabstops if t < columns} | set(
                range((self.columns // 8 + 1) * 8, columns, 8)
            )
            self.columns = columns
        if lines != self.lines:
            main_y = self._main_cursor_row()
            new_main_y = self._resize_rows(self._main_buffer, lines, main_y, not self.in_alternate_screen)
            alt_y = self.cursor.y if self.in_alternate_screen else self.lines - 1
            new_alt_y = self._resize_rows(self._alt_buffer, lines, alt_y, False)
            if self.in_alternate_screen:
                self.cursor.y = new_alt_y
            else:
                self.cursor.y = new_main_y
            self.lines = lines
        self.margins = None
        self._set_region(0, self.lines - 1)
        self.cursor.x = min(self.cursor.x, self.columns - 1)
        self.cursor.y = max(0, min(self.cursor.y, self.lines - 1))
        self.dirty.update(range(self.lines))

    def _main_cursor_row(self) -> int:
        if not self.in_alternate_screen:
            return self.cursor.y
        saved = self._saved_cursor[False]
        return saved.y if saved is not None else self.lines - 1

    @staticmethod
    def _resize_row(row: list[Cell], columns: int) -> None:
        if len(row) > columns:
            if not row[columns][0]:
                row[columns - 1] = BLANK  # a wide char would be cut in half
            del row[columns:]
        elif len(row) < columns:
            row.extend([BLANK] * (columns - len(row)))

    def _resize_rows(self, buf: list[list[Cell]], lines: int, cursor_y: int, use_history: bool) -> int:
        """Change the row count of ``buf``; return where the row at ``cursor_y`` ends up."""
        old = len(buf)
        cols = self.columns
        cursor_y = max(0, min(cursor_y, old - 1))
        if lines < old:
            needed = old - lines
            below = min(old - 1 - cursor_y, needed)
            if below > 0:
                del buf[old - below :]
            needed -= below
            if needed > 0:
                if use_history:
                    self._extend_history(buf[:needed])
                del buf[:needed]
                cursor_y -= needed
        elif lines > old:
            needed = lines - old
            if use_history:
                pulled: list[list[Cell]] = []
                while self.history and len(pulled) < needed:
                    kept = self.history.pop()
                    row = kept if type(kept) is list else list(kept)  # pylint: disable=unidiomatic-typecheck
                    self._resize_row(row, cols)
                    pulled.append(row)
                pulled.reverse()
                self.history_pushed -= len(pulled)
                self.history_epoch += 1
                buf[0:0] = pulled
                cursor_y += len(pulled)
                needed -= len(pulled)
            buf.extend([BLANK] * cols for _ in range(needed))
        return cursor_y

    def recover(self) -> None:
        """Restore invariants after a handler failed on hostile input."""
        cols, lines = self.columns, self.lines
        for buf in (self._main_buffer, self._alt_buffer):
            del buf[lines:]
            while len(buf) < lines:
                buf.append([BLANK] * cols)
            for row in buf:
                self._resize_row(row, cols)
        self.buffer = self._alt_buffer if self.in_alternate_screen else self._main_buffer
        cursor = self.cursor
        cursor.x = max(0, min(cursor.x, cols))
        cursor.y = max(0, min(cursor.y, lines - 1))
        if not 0 <= self._top < self._bottom <= lines - 1:
            self._set_region(0, lines - 1)
            self.margins = None
        self.dirty.update(range(lines))
