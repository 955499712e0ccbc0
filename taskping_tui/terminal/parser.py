"""A regex-tokenising escape-sequence parser that drives :class:`TerminalScreen`.

pyte's generator state machine handles one character per step (~1 MB/s). Here one compiled
pattern splits decoded text into tokens -- a run of printable text, an SGR, a CSI, an OSC, a
DCS/APC/PM/SOS string, a short ESC sequence or a C0 control -- so printable runs reach the screen
as whole strings and each escape sequence costs one regex match plus one dispatch.

UTF-8 is decoded incrementally; an escape sequence cut by a read boundary is kept and completed
by the next :meth:`TerminalParser.feed`. Over-long unterminated strings (OSC/DCS/...) are
discarded up to their terminator instead of being buffered without limit.
"""

from __future__ import annotations

import codecs
import logging
import re
from typing import TYPE_CHECKING, Callable, Optional

if TYPE_CHECKING:  # pragma: no cover - import cycle only for type checkers
    from taskping_tui.terminal.screen import TerminalScreen

logger = logging.getLogger(__name__)

# Group numbers below are what ``match.lastindex`` reports for each alternative. Escape sequences
# and controls swallow the printable run that follows them, which halves the number of tokens.
_PRINTABLE = r"[^\x00-\x1f\x7f-\x9f]"
_TOKEN = re.compile(
    rf"({_PRINTABLE}+)"  # 1: printable text
    rf"|\x1b\[([0-9;:]*)m({_PRINTABLE}*)"  # 2,3: SGR + text
    rf"|\x1b\[([0-9;]*)([@-~])({_PRINTABLE}*)"  # 4,5,6: CSI without prefix/intermediates + text
    r"|\x1b\[([<=>?]?)([0-?]*)([ -/]*)([@-~])"  # 7..10: any other CSI
    rf"|(\r\n|[\x00-\x1a\x1c-\x1f])({_PRINTABLE}*)"  # 11,12: C0 control (CR LF together) + text
    r"|\x1b\]([^\x07\x1b]*)(?:\x07|\x1b\\|(?=\x1b[^\\]))"  # 13: OSC (BEL or ST; ESC aborts)
    r"|\x1b[P_^X]([^\x1b]*)(?:\x1b\\|(?=\x1b[^\\]))"  # 14: DCS / APC / PM / SOS
    r"|\x1b([ -/]*)([0-OQ-WYZ\\`-~])"  # 15,16: ESC sequence
    r"|(\x1b)"  # 17: ESC that starts nothing complete (yet)
)
_TEXT, _SGR, _CSI, _CSI_ANY, _CTRL, _OSC, _STRING, _ESC, _LONE_ESC = 1, 3, 6, 10, 12, 13, 14, 16, 17

# A sequence start that may still complete when more bytes arrive.
_INCOMPLETE = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*\x1b?|[P_^X][^\x1b]*\x1b?|[ -/]*)\Z"
)
_OSC_END = re.compile(r"\x07|\x1b\\")
_STRING_END = re.compile(r"\x1b\\")

#: Longest unterminated sequence kept across reads; longer strings are skipped to their end.
MAX_PENDING = 65536
_MAX_PARAM = 65535
_PARAM_CACHE_SIZE = 4096

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
        self._csi: dict[str, Callable[[str], None]] = self._build_csi_table()
        self._controls: dict[str, Callable[[], None]] = self._build_control_table()

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
        """Apply already-decoded text to the screen. Never raises."""
        if self._pending:
            text = self._pending + text
            self._pending = ""
        if self._skip_end is not None:
            text = self._skip_string(text)
        if text:
            self._run(text)

    # ------------------------------------------------------------------ core loop
    def _run(self, text: str) -> None:
        screen = self._screen
        cursor = screen.cursor  # the screen keeps this object for its whole life
        draw = screen.draw
        sgr = screen.sgr
        csi = self._csi
        controls = self._controls
        tokens = _TOKEN.finditer(text)
        while True:
            try:
                for m in tokens:
                    kind = m.lastindex
                    if kind == _SGR:
                        params = m[2]
                        nxt = screen._style.trans.get(params)  # cached SGR transition
                        if nxt is None:
                            sgr(params)
                        else:
                            screen._style = nxt
                        if m[3]:
                            draw(m[3])
                    elif kind == _CSI:
                        final = m[5]
                        if final == "G":  # CHA: hot in Claude Code's inline redraws
                            params = m[4]
                            column = int(params) if params.isdigit() and len(params) < 6 else first_param(params)
                            column = column - 1 if column > 0 else 0
                            cursor.x = column if column < screen.columns else screen.columns - 1
                        elif final == "H" and not screen._origin:  # CUP outside origin mode
                            params = m[4]
                            values = _param_cache.get(params) or parse_params(params) if params else ()
                            row = values[0] - 1 if values and values[0] > 0 else 0
                            column = values[1] - 1 if len(values) > 1 and values[1] > 0 else 0
                            cursor.y = row if row < screen.lines else screen.lines - 1
                            cursor.x = column if column < screen.columns else screen.columns - 1
                        else:
                            handler = csi.get(final)
                            if handler is not None:
                                handler(m[4])
                        if m[6]:
                            draw(m[6])
                    elif kind == _CTRL:
                        control = controls.get(m[11])
                        if control is not None:
                            control()
                        if m[12]:
                            draw(m[12])
                    elif kind == _TEXT:
                        draw(m[1])
                    elif kind == _CSI_ANY:
                        self._csi_other(m[7], m[8], m[9], m[10])
                    elif kind == _OSC:
                        screen.operating_system_command(m[13])
                    elif kind == _ESC:
                        self._esc(m[15], m[16])
                    elif kind == _LONE_ESC:
                        if self._hold_incomplete(text, m.start()):
                            break
                    # _STRING (DCS/APC/PM/SOS) is consumed without effect.
                return
            except Exception:
                logger.debug("terminal sequence ignored after handler error", exc_info=True)
                screen.recover()

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

    def _build_csi_table(self) -> dict[str, Callable[[str], None]]:
        s = self._screen

        def count(method: Callable[[Optional[int]], None]) -> Callable[[str], None]:
            def handler(params: str) -> None:
                method(first_param(params) or 1)

            return handler

        def cup(params: str) -> None:
            if not params:
                s.cursor_position()
                return
            values = parse_params(params)
            s.cursor_position(values[0], values[1] if len(values) > 1 else None)

        def cha(params: str) -> None:
            s.cursor_to_column(first_param(params))

        def vpa(params: str) -> None:
            s.cursor_to_line(first_param(params))

        def el(params: str) -> None:
            s.erase_in_line(first_param(params))

        def ed(params: str) -> None:
            s.erase_in_display(first_param(params))

        def margins(params: str) -> None:
            values = parse_params(params) if params else ()
            s.set_margins(values[0] if values else None, values[1] if len(values) > 1 else None)

        def set_modes(params: str) -> None:
            s.set_mode(*parse_params(params))

        def reset_modes(params: str) -> None:
            s.reset_mode(*parse_params(params))

        def dsr(params: str) -> None:
            s.report_device_status(first_param(params))

        def da1(params: str) -> None:
            s.report_device_attributes(first_param(params))

        def tbc(params: str) -> None:
            s.clear_tab_stop(first_param(params))

        def save(params: str) -> None:
            if not params:
                s.save_cursor()

        def restore(params: str) -> None:
            if not params:
                s.restore_cursor()

        def window_ops(params: str) -> None:
            s.report_window_size(first_param(params))

        return {
            "H": cup,
            "f": cup,
            "G": cha,
            "`": cha,
            "d": vpa,
            "A": count(s.cursor_up),
            "B": count(s.cursor_down),
            "e": count(s.cursor_down),
            "C": count(s.cursor_forward),
            "a": count(s.cursor_forward),
            "D": count(s.cursor_back),
            "E": count(s.cursor_down1),
            "F": count(s.cursor_up1),
            "K": el,
            "J": ed,
            "X": count(s.erase_characters),
            "@": count(s.insert_characters),
            "P": count(s.delete_characters),
            "L": count(s.insert_lines),
            "M": count(s.delete_lines),
            "S": count(s.scroll_up),
            "T": count(s.scroll_down),
            "I": count(s.tab_forward),
            "Z": count(s.tab_backward),
            "b": count(s.repeat_last_character),
            "r": margins,
            "h": set_modes,
            "l": reset_modes,
            "n": dsr,
            "c": da1,
            "g": tbc,
            "s": save,
            "u": restore,
            "t": window_ops,
        }

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
            elif inter == "" and ":" not in params and final in self._csi:
                self._csi[final](params)
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
