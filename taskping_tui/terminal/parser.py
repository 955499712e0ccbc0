"""A regex-splitting escape-sequence parser that drives :class:`TerminalScreen`.

pyte's generator state machine handles one character per step (~1 MB/s). Here one compiled
pattern splits decoded text into alternating printable runs and control items -- an escape
sequence (CSI, OSC, DCS/APC/PM/SOS string, short ESC sequence), a C0 control (CR LF together) or
a C1/DEL byte to ignore -- so printable runs reach the screen as whole strings. Each distinct
control item is parsed once into an *op* (kept in a bounded per-parser cache keyed by the item's
text), so a repeated ``ESC [ 38;5;208 m`` or ``ESC [ 12;40 H`` costs one dict lookup.

UTF-8 is decoded incrementally; an escape sequence cut by a read boundary is kept and completed
by the next :meth:`TerminalParser.feed`. Over-long unterminated strings (OSC/DCS/...) are
discarded up to their terminator instead of being buffered without limit.
"""

from __future__ import annotations

import codecs
import logging
import re
from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:  # pragma: no cover - import cycle only for type checkers
    from taskping_tui.terminal.screen import TerminalScreen

logger = logging.getLogger(__name__)

# A printable run and the control item that ends it (or the end of the text, item ""). Every
# non-printable character starts some item, so a match always starts where the previous one
# ended and ``split`` returns ["", run, item, "", run, item, "", ..., ""]; the possessive run
# never backtracks. Item alternatives are tried in this order at each ESC.
_SPLIT = re.compile(
    r"([ -~\xa0-\U0010ffff]*+)"  # printable run: not C0, DEL or C1 (positive ranges match faster)
    r"(\x1b\[[<=>?]?[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\|(?=\x1b[^\\]))"  # OSC (BEL or ST; ESC aborts)
    r"|\x1b[P_^X][^\x1b]*(?:\x1b\\|(?=\x1b[^\\]))"  # DCS / APC / PM / SOS
    r"|\x1b[ -/]*[0-OQ-WYZ\\`-~]"  # short ESC sequence
    r"|\x1b"  # ESC that starts nothing complete (yet)
    r"|\r\n|[\x00-\x1a\x1c-\x1f]"  # C0 control (CR LF together)
    r"|[\x7f-\x9f]"  # DEL and C1: ignored
    r"|\Z)"
)
#: A block of whole lines that print only ASCII and set colours, each ended by CR LF (or several CRs
#: and LF, as a terminal's ONLCR makes of CR LF): what `cat`, `ls --color` and build logs print.
_SGR = r"\x1b\[[0-9;]*+m"
SIMPLE_LINES = re.compile(rf"(?:[ -~]*+(?:{_SGR}[ -~]*+)*+\r++\n)++")
#: The tokens of such a block: a printable run, an SGR sequence, a line's end.
LINE_TOKENS = re.compile(rf"[ -~]++|{_SGR}|\r++\n")
SGR_SEQUENCE = re.compile(_SGR)
#: Characters of such a block worth trying to scroll through the screen at once.
MIN_LINES_BLOCK = 2048
MAX_BLOCK_REFUSALS = 3  # per applied text
_CSI_PARTS = re.compile(r"\x1b\[([<=>?]?)([0-?]*)([ -/]*)([@-~])")
_SGR_PARAMS = re.compile(r"[0-9;:]*")
_CSI_PARAMS = re.compile(r"[0-9;]*")
_ESC_PARTS = re.compile(r"\x1b([ -/]*)(.)")

# Op codes: an op is a tuple whose first item is one of these.
_OP_SGR = 0  # (code, params)
_OP_CUP = 1  # (code, row, column, params): 0-based, unclamped; params for origin mode
_OP_CHA = 2  # (code, column): 0-based, unclamped
_OP_CRLF = 3  # (code,)
_OP_CALL = 4  # (code, function, args)
_OP_NONE = 5  # (code,): consumed without effect
_OP_LONE_ESC = 6  # (code,)
_Op = tuple[Any, ...]
_ArgsFor = Callable[[str], Optional[tuple[Any, ...]]]
_NO_OP: _Op = (_OP_NONE,)
_MAX_CACHED_OPS = 8192
_MAX_CACHED_OP_TEXT = 64
_shared_ops: dict[str, _Op] = {}

# A sequence start that may still complete when more bytes arrive.
_INCOMPLETE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*\x1b?|[P_^X][^\x1b]*\x1b?|[ -/]*)\Z")
_OSC_END = re.compile(r"\x07|\x1b\\")
_STRING_END = re.compile(r"\x1b\\")

#: Longest unterminated sequence kept across reads; longer strings are skipped to their end.
MAX_PENDING = 65536
#: Characters applied per split (bounds the temporary list of runs and items).
SLICE = 32768
_MAX_PARAM = 65535
_PARAM_CACHE_SIZE = 16384  # holds every CUP row;column pair of a 120x120 screen
#: Printable runs up to this length are cached per style; longer ones (a log line, a path) almost
#: never repeat, and each cached run is a container the garbage collector has to traverse.
MAX_CACHED_RUN = 16

_param_cache: dict[str, tuple[int, ...]] = {}


def parse_params(params: str) -> tuple[int, ...]:
    """``"12;;3:4"`` -> ``(12, 0, 3)``: empty means 0, sub-parameters after ':' are dropped,
    values are capped so hostile input cannot ask for huge allocations."""
    cached = _param_cache.get(params)
    if cached is not None:
        return cached
    values = []
    for part in params.split(";"):
        head = part.split(":", 1)[0].lstrip("0") or "0"
        if not head.isdigit():
            values.append(0)
        elif len(head) > 5:
            values.append(_MAX_PARAM)
        else:
            values.append(min(int(head), _MAX_PARAM))
    result = tuple(values)
    if len(_param_cache) >= _PARAM_CACHE_SIZE:
        _param_cache.clear()
    _param_cache[params] = result
    return result


def first_param(params: str) -> int:
    """First numeric parameter (0 when missing)."""
    if params.isdigit() and len(params) < 6:
        return int(params)
    return parse_params(params)[0] if params else 0


class TerminalParser:
    """Feeds bytes from a child process into a :class:`TerminalScreen`."""

    def __init__(self, screen: TerminalScreen) -> None:
        self._screen = screen
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""
        self._skip_end: Optional[re.Pattern[str]] = None
        self._csi = self._build_csi_table()
        self._controls: dict[str, Callable[[], None]] = self._build_control_table()
        self._ops: dict[str, _Op] = {}

    # ------------------------------------------------------------------ public
    def feed(self, data: bytes) -> None:
        """Decode ``data`` and apply it to the screen. Never raises."""
        try:
            text = self._decoder.decode(data)
        except Exception:  # the 'replace' handler should make this impossible
            logger.debug("undecodable input dropped", exc_info=True)
            return
        self.feed_text(text)

    def feed_text(self, text: str) -> None:
        """Apply already-decoded text to the screen. Never raises.

        Long text is applied in slices of about :data:`SLICE` characters, cut before an ESC or
        after a line feed where possible, so the split list stays small whatever the input size.
        """
        while True:
            held = len(self._pending)
            if held:
                text = self._pending + text
                self._pending = ""
            if self._skip_end is not None:
                text = self._skip_string(text)
                held = 0
            if len(text) <= held + SLICE:
                if text:
                    self._run(text)
                return
            # The slice always extends past what was held back, so an unfinished sequence grows
            # until it completes or is over-long and skipped: every round makes progress.
            low, high = held + SLICE // 2, held + SLICE
            cut = text.rfind("\x1b", low, high)
            if cut < 0:
                cut = text.rfind("\n", low, high) + 1 or high
            self._run(text[:cut])
            text = text[cut:]

    # ------------------------------------------------------------------ core loop
    def _run(self, text: str) -> None:
        """Apply ``text``: lines that scroll through the screen unseen go to history directly.

        A long block of plain lines (see :data:`SIMPLE_LINES`) that starts once the cursor can have
        reached the bottom row goes through :meth:`TerminalScreen.scroll_in_lines` when the cursor
        is where such a block can skip the screen, and so on after each block; the text before and
        between blocks, and any text without one, goes through :meth:`_apply`.
        """
        done = 0
        refusals = 0
        while len(text) - done >= MIN_LINES_BLOCK:
            # A block can start once the cursor is on the bottom row: the line it is on, and as
            # many as the rows below it, come first.
            start = done
            for _ in range(max(1, self._screen.lines - self._screen.cursor.y)):
                start = text.find("\n", start) + 1
                if not start:
                    break
            block = self._next_long_block(text, start) if start else None
            if block is None:
                break
            start = block.start()
            self._apply(text[done:start])
            done = start
            if self._pending:
                # The text before the block ends inside a string (an OSC or DCS whose payload holds
                # line feeds): what looked like plain lines belongs to it.
                text = self._pending + text[done:]
                self._pending = ""
                done = 0
                break
            applied = self._screen.scroll_in_lines(block[0])
            if applied:
                done += applied  # then the line that ended the block, and the block after it
                continue
            # The cursor was not where a block can start (a line left it mid-row, a region or the
            # alternate screen is set): try a few lines further on, a few times.
            refusals += 1
            if refusals == MAX_BLOCK_REFUSALS:
                break
        self._apply(text[done:] if done else text)

    @staticmethod
    def _next_long_block(text: str, start: int) -> re.Match[str] | None:
        """The first block of at least MIN_LINES_BLOCK characters of plain lines from line start
        ``start`` on, past short ones (a few plain lines, then one that is not); None when the
        line at ``start`` is not plain or no long block is left."""
        while len(text) - start >= MIN_LINES_BLOCK:
            block = SIMPLE_LINES.match(text, start)
            if block is None:
                return None
            if block.end() - start >= MIN_LINES_BLOCK:
                return block
            start = text.find("\n", block.end()) + 1  # after the line that is not plain
            if not start:
                return None
        return None

    def _apply(self, text: str) -> None:
        """Split ``text`` into printable runs and control items and apply them in order.

        The common cases -- SGR, CUP, CHA, CR LF and printable ASCII runs -- are applied inline
        here rather than through the screen's methods: per-item overhead is what bounds
        throughput. Each inline path does exactly what the method it stands for does.

        Screen state the inline paths read is kept in locals: the size (fixed while parsing), and
        the style, buffer, scroll region and modes, which only the inline SGR path and the
        screen's methods (``_OP_CALL``, ``draw``) change -- the locals are reloaded after those.
        """
        screen = self._screen
        cursor = screen.cursor  # the screen keeps this object for its whole life
        dirty = screen.dirty
        dirty_add = dirty.add
        draw = screen.draw
        ops = self._ops
        op_for = self._op_for
        columns = screen.columns
        last_line = screen.lines - 1
        parts = _SPLIT.split(text)
        items = iter(parts)
        next(items)  # always ""
        # Rows of the scroll region a CR LF scrolled: marked dirty once, not once per line.
        scrolled_rows: frozenset[int] | None = None
        while True:
            style = screen._style
            buffer = screen.buffer
            fast = screen._fast
            wide_seen = screen._wide_seen
            bottom = screen._bottom
            origin = screen._origin
            try:
                for run, item, _ in zip(items, items, items):
                    if run:
                        # The fast path of TerminalScreen.draw: ASCII that fits on the row.
                        x = cursor.x
                        size = len(run)
                        end = x + size
                        if end <= columns and fast and run.isascii():
                            y = cursor.y
                            cells_row = buffer[y]
                            if wide_seen:
                                screen._clear_split_wide(cells_row, x, end)
                            if size > MAX_CACHED_RUN:
                                cells_row[x:end] = map(style.getcell, run)
                            else:
                                cells = style.runs.get(run)
                                cells_row[x:end] = style.run_cells(run) if cells is None else cells
                            dirty_add(y)
                            cursor.x = end
                        else:
                            draw(run)
                            wide_seen = screen._wide_seen
                    nxt = style.by_item.get(item)  # an SGR seen before in this style
                    if nxt is not None:
                        screen._style = style = nxt
                        continue
                    op = ops.get(item) or op_for(item)
                    code = op[0]
                    if code == _OP_CRLF:  # carriage_return_linefeed()
                        cursor.x = 0
                        y = cursor.y
                        if y == bottom:
                            region = screen._region_rows
                            if region is not scrolled_rows:
                                if scrolled_rows is not None:
                                    dirty.update(scrolled_rows)
                                scrolled_rows = region
                            screen._scroll_one(False)
                        elif y < last_line:
                            cursor.y = y + 1
                    elif code == _OP_CUP:
                        if origin:
                            self._apply_csi("H", op[3])
                        else:
                            row = op[1]
                            column = op[2]
                            cursor.y = row if row <= last_line else last_line
                            cursor.x = column if column < columns else columns - 1
                    elif code == _OP_SGR:
                        screen.sgr(op[1])
                        style.remember_item(item, screen._style)
                        style = screen._style
                    elif code == _OP_CHA:
                        column = op[1]
                        cursor.x = column if column < columns else columns - 1
                    elif code == _OP_CALL:
                        op[1](*op[2])
                        style = screen._style
                        buffer = screen.buffer
                        fast = screen._fast
                        wide_seen = screen._wide_seen
                        bottom = screen._bottom
                        origin = screen._origin
                    elif code == _OP_LONE_ESC:
                        # Everything from this ESC to the end: an unfinished sequence to keep?
                        rest = parts[len(parts) - items.__length_hint__() :]
                        if self._hold_incomplete("\x1b" + "".join(rest), 0):
                            break
                        # A stray ESC: ignored; the run after it is printed.
                break
            except Exception:
                logger.debug("terminal sequence ignored after handler error", exc_info=True)
                screen.recover()
        if scrolled_rows is not None:
            dirty.update(scrolled_rows)

    def _op_for(self, item: str) -> _Op:
        """Parse one control item into an op, caching it when it is short.

        Ops that hold no bound method (SGR, CUP, CHA, CR LF, ...) depend on the item text alone
        and are shared by every parser through ``_shared_ops``.
        """
        op = _shared_ops.get(item)
        if op is None:
            op = self._parse_item(item)
            if op[0] != _OP_CALL and len(item) <= _MAX_CACHED_OP_TEXT:
                if len(_shared_ops) >= _MAX_CACHED_OPS:
                    _shared_ops.clear()
                _shared_ops[item] = op
        if len(item) <= _MAX_CACHED_OP_TEXT:
            ops = self._ops
            if len(ops) >= _MAX_CACHED_OPS:
                ops.clear()
            ops[item] = op
        return op

    def _parse_item(self, item: str) -> _Op:
        if not item:  # the end of the text
            return _NO_OP
        if item[0] != "\x1b":
            if item == "\r\n":
                return (_OP_CRLF,)
            control = self._controls.get(item)
            return (_OP_CALL, control, ()) if control is not None else _NO_OP
        if len(item) == 1:
            return (_OP_LONE_ESC,)
        introducer = item[1]
        if introducer == "[":
            return self._parse_csi(item)
        if introducer == "]":
            payload = item[2:]
            if payload.endswith("\x07"):
                payload = payload[:-1]
            elif payload.endswith("\x1b\\"):
                payload = payload[:-2]
            return (_OP_CALL, self._screen.operating_system_command, (payload,))
        if introducer in "P_^X":
            return _NO_OP
        m = _ESC_PARTS.fullmatch(item)
        return (_OP_CALL, self._esc, (m[1], m[2])) if m is not None else _NO_OP

    def _parse_csi(self, item: str) -> _Op:
        m = _CSI_PARTS.fullmatch(item)
        if m is None:  # cannot happen: _SPLIT matched the same pattern
            return _NO_OP
        prefix, params, inter, final = m.groups()
        if prefix or inter:
            return (_OP_CALL, self._csi_other, (prefix, params, inter, final))
        if final == "m" and _SGR_PARAMS.fullmatch(params):
            return (_OP_SGR, params)
        if not _CSI_PARAMS.fullmatch(params):  # ':' or '<=>?' inside the parameters
            return (_OP_CALL, self._csi_other, (prefix, params, inter, final))
        if final == "G":
            column = first_param(params)
            return (_OP_CHA, column - 1 if column > 0 else 0)
        if final == "H":
            values = parse_params(params) if params else ()
            row = values[0] - 1 if values and values[0] > 0 else 0
            column = values[1] - 1 if len(values) > 1 and values[1] > 0 else 0
            return (_OP_CUP, row, column, params)
        entry = self._csi.get(final)
        if entry is None:
            return _NO_OP
        method, args_for = entry
        args = args_for(params)
        return (_OP_CALL, method, args) if args is not None else _NO_OP

    def _hold_incomplete(self, text: str, start: int) -> bool:
        """Keep an unfinished sequence at the end of ``text`` for the next feed."""
        if not _INCOMPLETE.match(text, start):
            return False  # a stray ESC: ignore it
        if len(text) - start <= MAX_PENDING:
            self._pending = text[start:]
            return True
        introducer = text[start + 1 : start + 2]
        if introducer == "]":
            self._skip_end = _OSC_END
        elif introducer in ("P", "_", "^", "X"):
            self._skip_end = _STRING_END
        self._pending = "\x1b" if text.endswith("\x1b") and self._skip_end is not None else ""
        return True

    def _skip_string(self, text: str) -> str:
        """Discard the rest of an over-long string sequence; return what follows it."""
        assert self._skip_end is not None
        m = self._skip_end.search(text)
        if m is None:
            if text.endswith("\x1b"):
                self._pending = "\x1b"
            return ""
        self._skip_end = None
        return text[m.end() :]

    # ------------------------------------------------------------------ dispatch tables
    def _build_control_table(self) -> dict[str, Callable[[], None]]:
        s = self._screen
        return {
            "\r\n": s.carriage_return_linefeed,
            "\r": s.carriage_return,
            "\n": s.linefeed,
            "\x0b": s.linefeed,
            "\x0c": s.linefeed,
            "\x08": s.backspace,
            "\t": s.tab,
            "\x07": s.bell,
            "\x0e": s.shift_out,
            "\x0f": s.shift_in,
        }

    def _build_csi_table(self) -> dict[str, tuple[Callable[..., None], _ArgsFor]]:
        """final byte -> (screen method, builder of its arguments from the parameter text).

        A builder returns None when the sequence is to be ignored. Builders are pure, so the
        arguments can be computed once per distinct sequence and cached in an op.
        """
        s = self._screen

        def count(params: str) -> tuple[int]:
            return (first_param(params) or 1,)

        def number(params: str) -> tuple[int]:
            return (first_param(params),)

        def cup(params: str) -> tuple[int, ...] | tuple[int, int | None]:
            if not params:
                return ()
            values = parse_params(params)
            return (values[0], values[1] if len(values) > 1 else None)

        def margins(params: str) -> tuple[int | None, int | None]:
            values = parse_params(params) if params else ()
            return (values[0] if values else None, values[1] if len(values) > 1 else None)

        def no_params(params: str) -> tuple[()] | None:
            return None if params else ()

        return {
            "H": (s.cursor_position, cup),
            "f": (s.cursor_position, cup),
            "G": (s.cursor_to_column, number),
            "`": (s.cursor_to_column, number),
            "d": (s.cursor_to_line, number),
            "A": (s.cursor_up, count),
            "B": (s.cursor_down, count),
            "e": (s.cursor_down, count),
            "C": (s.cursor_forward, count),
            "a": (s.cursor_forward, count),
            "D": (s.cursor_back, count),
            "E": (s.cursor_down1, count),
            "F": (s.cursor_up1, count),
            "K": (s.erase_in_line, number),
            "J": (s.erase_in_display, number),
            "X": (s.erase_characters, count),
            "@": (s.insert_characters, count),
            "P": (s.delete_characters, count),
            "L": (s.insert_lines, count),
            "M": (s.delete_lines, count),
            "S": (s.scroll_up, count),
            "T": (s.scroll_down, count),
            "I": (s.tab_forward, count),
            "Z": (s.tab_backward, count),
            "b": (s.repeat_last_character, count),
            "r": (s.set_margins, margins),
            "h": (s.set_mode, parse_params),
            "l": (s.reset_mode, parse_params),
            "n": (s.report_device_status, number),
            "c": (s.report_device_attributes, number),
            "g": (s.clear_tab_stop, number),
            "s": (s.save_cursor, no_params),
            "u": (s.restore_cursor, no_params),
            "t": (s.report_window_size, number),
        }

    def _apply_csi(self, final: str, params: str) -> None:
        """Apply a plain CSI (no prefix or intermediates) through the table."""
        entry = self._csi.get(final)
        if entry is not None:
            method, args_for = entry
            args = args_for(params)
            if args is not None:
                method(*args)

    def _csi_other(self, prefix: str, params: str, inter: str, final: str) -> None:
        """CSI with a private prefix, intermediates or unusual parameter bytes."""
        s = self._screen
        if prefix == "?":
            if inter == "":
                if final == "h":
                    s.set_mode(*parse_params(params), private=True)
                elif final == "l":
                    s.reset_mode(*parse_params(params), private=True)
                elif final == "n":
                    s.report_device_status(first_param(params), private=True)
                elif final == "J":
                    s.erase_in_display(first_param(params))
                elif final == "K":
                    s.erase_in_line(first_param(params))
                # ?u (kitty keyboard query), ?s/?r (XTSAVE/XTRESTORE), ?m are consumed.
            elif inter == "$" and final == "p":
                s.report_mode(first_param(params), private=True)
        elif prefix == ">":
            if inter == "" and final == "c":
                s.report_device_attributes(first_param(params), secondary=True)
            elif inter == "" and final == "q":
                s.report_version()
            # >m (XTMODKEYS), >u (kitty push) and the rest are consumed.
        elif prefix == "":
            if inter == "$" and final == "p":
                s.report_mode(first_param(params), private=False)
            elif inter == "!" and final == "p":
                s.soft_reset()
            elif inter == "" and ":" not in params:
                self._apply_csi(final, params)
            # " q" (cursor style) and other intermediates are consumed.
        # "<" and "=" prefixed sequences (kitty keyboard pop/set, DA3) are consumed.

    def _esc(self, inter: str, final: str) -> None:
        s = self._screen
        if inter == "":
            if final == "7":
                s.save_cursor()
            elif final == "8":
                s.restore_cursor()
            elif final == "D":
                s.index()
            elif final == "E":
                s.next_line()
            elif final == "M":
                s.reverse_index()
            elif final == "H":
                s.set_tab_stop()
            elif final == "c":
                s.reset()
            elif final == "Z":
                s.report_device_attributes(0)
            # ESC = / ESC > (keypad modes) and a stray ST are consumed.
        elif inter in ("(", ")"):
            s.define_charset(final, inter)
        elif inter == "#" and final == "8":
            s.alignment_display()
