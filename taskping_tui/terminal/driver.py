"""A Textual terminal driver that delivers a bare Esc without Textual's ESCDELAY wait.

A legacy terminal (GNOME Terminal/VTE, xterm, Terminal.app, tmux by default) sends the Esc key as a
lone ESC byte, which is also how every escape sequence starts. Textual's input thread therefore holds a
lone ESC for ESCDELAY (100 ms) before calling it the Escape key, and because its select() loop only
wakes every 100 ms the user waits 100-200 ms. Claude Code interrupts a turn on Esc and rewinds on
Esc Esc, so that lag is felt.

A key press arrives in one read: a terminal writes a whole escape sequence at once. So when a read ends
exactly on ESC and nothing follows within `LONE_ESCAPE_WINDOW_SECONDS`, the ESC is the Escape key and is
delivered then. Everything else is left to Textual's own parser: a sequence split across reads still
parses (its next byte arrives within the window and Textual's normal delay applies again), ESC+letter in
one read is still Alt+letter, a kitty-protocol terminal never sends a lone ESC, and inside a bracketed
paste a trailing ESC keeps the full delay because it is most likely the start of the paste-end marker.

The only Textual internal relied on is the parser's pending-timeout deadline (`Parser._timeout_time`,
fired by `Parser.tick()`). It is checked on a throwaway parser before each input thread starts; if it
does not behave as expected the driver logs one warning and runs Textual's stock input loop.
"""

from __future__ import annotations

import logging
import os
import selectors
import sys
from codecs import getincrementaldecoder
from collections.abc import Iterable
from dataclasses import dataclass

from textual import constants, events
from textual.driver import Driver
from textual.message import Message

logger = logging.getLogger(__name__)

LONE_ESCAPE_WINDOW_SECONDS = 0.015
"""How long to wait after a read that ends on ESC before treating that ESC as the Escape key.

Bytes of one escape sequence are written by the terminal together, so locally they follow within
microseconds; 15 ms also covers a sequence cut by a busy machine or an ssh hop while staying well under
what a person notices (tmux 3.5 and vim users commonly run 10-50 ms)."""

IDLE_POLL_SECONDS = 0.1
"""Longest select() wait: how often the input thread checks whether it was asked to stop (as Textual)."""

READ_SIZE = 4096
ESC = "\x1b"
PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"


@dataclass
class PasteTracker:
    """Follows bracketed-paste markers in decoded input, including markers cut across reads."""

    inside: bool = False
    _tail: str = ""

    def update(self, text: str) -> bool:
        """Account for `text` (the next decoded read) and return whether input is now inside a paste."""
        window = self._tail + text
        start = window.rfind(PASTE_START)
        end = window.rfind(PASTE_END)
        if start != end:  # equal only when neither marker is present
            self.inside = start > end
        # Shorter than a marker, so a marker is never counted twice, yet long enough to complete one.
        self._tail = window[-(len(PASTE_START) - 1) :]
        return self.inside


def _textual_parser_supports_early_escape() -> bool:
    """Check on a throwaway parser that a lone ESC arms `_timeout_time` and that expiring it yields Escape."""
    try:
        from textual._time import get_time
        from textual._xterm_parser import XTermParser

        parser = XTermParser()
        premature = list(parser.feed(ESC))
        deadline = getattr(parser, "_timeout_time", None)
        if premature or not isinstance(deadline, float):
            return False
        parser._timeout_time = get_time()
        keys = [event.key for event in parser.tick() if isinstance(event, events.Key)]
        return keys == ["escape"]
    except Exception:
        logger.debug("probing Textual's input parser failed", exc_info=True)
        return False


if sys.platform != "win32":
    from textual._parser import ParseError
    from textual._time import get_time
    from textual._xterm_parser import XTermParser
    from textual.drivers.linux_driver import LinuxDriver

    class PromptEscapeDriver(LinuxDriver):
        """Textual's LinuxDriver, except that a bare Esc is delivered as soon as it is unambiguous."""

        lone_escape_window: float = LONE_ESCAPE_WINDOW_SECONDS
        """Seconds of silence after a read ending on ESC before it counts as the Escape key."""

        def run_input_thread(self) -> None:
            """Read and parse input until asked to stop (runs in Textual's input thread)."""
            if not _textual_parser_supports_early_escape():
                logger.warning(
                    "Textual's input parser no longer works as expected; the Esc key falls back to "
                    "Textual's %.0f ms ESCDELAY",
                    constants.ESCAPE_DELAY * 1000,
                )
                super().run_input_thread()
                return
            self._read_and_parse_input()

        def _read_and_parse_input(self) -> None:
            parser = XTermParser(self._debug)
            decode = getincrementaldecoder("utf-8")().decode
            paste = PasteTracker()
            # select(), like Textual: kqueue/epoll do not reliably support ttys (macOS).
            selector = selectors.SelectSelector()
            selector.register(self.fileno, selectors.EVENT_READ)
            try:
                while not self.exit_event.is_set():
                    if selector.select(self._select_timeout(parser)):
                        data = os.read(self.fileno, READ_SIZE)
                        if not data:  # end of input (stdin was a pipe or file)
                            self._dispatch(parser.feed(""))
                            return
                        text = decode(data)
                        if text:  # empty when the read ended inside a UTF-8 character
                            self._dispatch(parser.feed(text))
                            in_paste = paste.update(text)
                            if text.endswith(ESC) and not in_paste:
                                self._expect_lone_escape(parser)
                    self._dispatch(parser.tick())
            finally:
                selector.close()
                if not parser.is_eof:
                    try:
                        for _event in parser.feed(""):
                            pass
                    except (EOFError, ParseError):
                        pass

        def _expect_lone_escape(self, parser: XTermParser) -> None:
            """Bring the parser's pending ESC deadline forward to the lone-ESC window."""
            deadline = get_time() + self.lone_escape_window
            pending = parser._timeout_time
            if pending is not None and deadline < pending:
                parser._timeout_time = deadline

        @staticmethod
        def _select_timeout(parser: XTermParser) -> float:
            """Wake exactly at the parser's pending deadline (Textual polls every 100 ms instead)."""
            deadline = parser._timeout_time
            if deadline is None:
                return IDLE_POLL_SECONDS
            return min(IDLE_POLL_SECONDS, max(0.0, deadline - get_time()))

        def _dispatch(self, messages: Iterable[Message]) -> None:
            for message in messages:
                self.process_message(message)


def driver_class() -> type[Driver] | None:
    """The driver to pass as `App(driver_class=...)`, or None to let Textual choose.

    None on platforms other than Linux and macOS, and when TEXTUAL_DRIVER names a driver explicitly
    (Textual's own override, used by `textual run --dev` and textual-serve).
    """
    if constants.DRIVER is not None:
        return None
    if sys.platform.startswith("linux") or sys.platform == "darwin":
        return PromptEscapeDriver
    return None
