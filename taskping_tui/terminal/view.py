"""TerminalView: the Textual widget that shows a TerminalSession and feeds it the user's input.

Painting: the session parses output as it arrives; the view repaints at most ~60 times a second,
and only the rows the screen marked dirty plus the rows the cursor left and entered. Each row is
rendered once into a cached Strip (cells merged into runs, rich Styles cached by attribute tuple).
While the child holds synchronized output (?2026h) painting waits, for at most SYNC_HOLD_LIMIT.
While the child floods the pane (more than FLOOD_BYTES parsed per frame: `cat` of a log, a long
diff) frames come at most every FLOOD_FRAME_INTERVAL, so the loop's time goes to parsing instead of
painting screens nobody can read. A frame that may show the echo of a key typed in the last
KEY_ECHO_WINDOW seconds (the cursor's row changed, or the cursor moved) is not held and goes to
Textual at once; the frame after the flood stops comes FLOOD_QUIET after its last byte was parsed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.theme import Theme
from textual.widget import Widget

from taskping_tui.terminal.cells import Cell
from taskping_tui.terminal.keys import (
    MouseAction,
    MouseReport,
    encode_focus,
    encode_key,
    encode_mouse,
    encode_paste,
)
from taskping_tui.terminal.palette import TerminalPalette, palette_for
from taskping_tui.terminal.process import CommandNotFoundError, ExitStatus
from taskping_tui.terminal.protocol import PackedRow
from taskping_tui.terminal.session import DEFAULT_SCROLLBACK, ScreenFactory, ScreenView, TerminalSession

logger = logging.getLogger(__name__)

FRAME_INTERVAL = 1 / 60
FLOOD_FRAME_INTERVAL = 1 / 10
FLOOD_BYTES = 16 * 1024  # parsed since the last frame: the child is flooding
KEY_ECHO_WINDOW = 0.05  # after a key press, a frame that changes the cursor's row is not held
FLOOD_QUIET = 0.004  # no output for this long after the child's writes were all parsed: the flood is over
SYNC_HOLD_LIMIT = 0.15
ACTIVITY_INTERVAL = 0.1  # well below any silence timeout the agent tracker uses
WHEEL_LINES = 3
MOVED_ROWS_KEPT = 256  # Strips of recently painted rows, reused when a row only scrolled
DEFAULT_SIZE = (24, 80)  # rows, cols until the widget has been laid out

SCROLLBACK_UP_KEYS = frozenset({"shift+pageup"})
SCROLLBACK_DOWN_KEYS = frozenset({"shift+pagedown"})
RESTART_KEY = "enter"

_style_key = itemgetter(slice(1, None))  # every Cell field but data (one slice: faster than nine lookups)
_StyleKey = tuple[str, str, bool, bool, bool, bool, bool, bool, bool]


class CellStyles:
    """rich Styles for cell attribute tuples, resolved against the theme's terminal palette."""

    def __init__(self, palette: TerminalPalette) -> None:
        self.palette = palette
        self._cache: dict[tuple[_StyleKey, bool], Style] = {}
        self.default = Style(color=palette.foreground, bgcolor=palette.background)
        self.indicator = Style(color=palette.background, bgcolor=palette.foreground, bold=True)

    def get(self, key: _StyleKey, cursor: bool = False) -> Style:
        style = self._cache.get((key, cursor))
        if style is None:
            style = self._build(key, cursor)
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache[(key, cursor)] = style
        return style

    def _build(self, key: _StyleKey, cursor: bool) -> Style:
        fg_name, bg_name, bold, italics, underscore, strikethrough, reverse, blink, dim = key
        fg = self.palette.resolve(fg_name, is_background=False)
        bg = self.palette.resolve(bg_name, is_background=True)
        if reverse != cursor:  # the cursor is drawn as the cell in reverse video
            fg, bg = bg, fg
        return Style(
            color=fg,
            bgcolor=bg,
            bold=bold or None,
            italic=italics or None,
            underline=underscore or None,
            strike=strikethrough or None,
            blink=blink or None,
            dim=dim or None,
        )


def _segments_for(cells: Sequence[Sequence[object]], styles: CellStyles, cursor: bool = False) -> list[Segment]:
    segments: list[Segment] = []
    for key, run in groupby(cells, _style_key):
        text = "".join([cell[0] for cell in run])  # type: ignore[misc]
        if text:  # a run made only of wide-char stubs ("") has nothing to draw
            segments.append(Segment(text, styles.get(key, cursor)))
    return segments


def _segments_between(
    cells: Sequence[Sequence[object]], styles: CellStyles, start: int, stop: int, cursor: bool = False
) -> list[Segment]:
    """Segments of cells ``start:stop``: straight from a mirrored row's style runs, or cell by cell."""
    if isinstance(cells, PackedRow):
        return [Segment(text, styles.get(key, cursor)) for text, key in cells.runs(start, stop) if text]
    return _segments_for(cells[start:stop] if start or stop < len(cells) else cells, styles, cursor)


def render_row(cells: Sequence[Sequence[object]], width: int, styles: CellStyles, cursor_x: int | None = None) -> Strip:
    """One screen row as a Strip exactly `width` cells wide, with the cursor cell reversed."""
    size = len(cells)
    if cursor_x is None or not 0 <= cursor_x < size:
        segments = _segments_between(cells, styles, 0, size)
    else:
        if cursor_x > 0 and cells[cursor_x][0] == "" and cells[cursor_x - 1][0]:
            cursor_x -= 1  # on the right half of a wide character: reverse the whole character
        end = cursor_x + 1
        if end < size and cells[end][0] == "":
            end += 1
        segments = [
            *_segments_between(cells, styles, 0, cursor_x),
            *_segments_between(cells, styles, cursor_x, end, cursor=True),
            *_segments_between(cells, styles, end, size),
        ]
    return Strip(segments).adjust_cell_length(width, styles.default)


class TerminalView(Widget, can_focus=True):
    """A terminal pane: shows a child program through TerminalScreen and forwards input to it."""

    DEFAULT_CSS = """
    TerminalView {
        width: 1fr;
        height: 1fr;
    }
    """

    @dataclass
    class TitleChanged(Message):
        """The child set its window title (OSC 0/2)."""

        title: str

    class Bell(Message):
        """The child rang the bell (BEL)."""

    @dataclass
    class ChildExited(Message):
        """The child ended: `status` is its exit code, or `signal` the signal that killed it."""

        status: int | None
        signal: int | None

    @dataclass
    class OutputActivity(Message):
        """The child wrote `nbytes` bytes since the last such message (sent at most every ACTIVITY_INTERVAL s)."""

        nbytes: int

    @dataclass
    class StartFailed(Message):
        """The command could not be started (`reason`: "command not found" or the OS error); shown in the pane."""

        reason: str

    @dataclass
    class Started(Message):
        """A child was started."""

        pid: int

    def __init__(
        self,
        *,
        scrollback: int = DEFAULT_SCROLLBACK,
        screen_factory: ScreenFactory | None = None,
        name: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's parameter name
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        rows, cols = DEFAULT_SIZE
        self._session = TerminalSession(
            rows,
            cols,
            scrollback=scrollback,
            screen_factory=screen_factory,
            on_screen_changed=self._on_screen_changed,
            on_title=self._on_title,
            on_bell=self._on_bell,
            on_exit=self._on_exit,
        )
        self._argv: list[str] | None = None
        self._env: dict[str, str | None] | None = None
        self._cwd: str | None = None
        self._not_found_hint = ""
        self._waiting_for_restart = False
        self._start_when_sized = False
        self._styles: CellStyles | None = None
        self._strips: dict[int, Strip] = {}
        self._moved_rows: dict[int, tuple[Sequence[Cell], Strip]] = {}  # id(row) -> (its cells, Strip)
        self._paint_handle: asyncio.TimerHandle | None = None
        self._last_paint = 0.0
        self._bytes_at_last_paint = 0
        self._flood_hold = False
        self._quiet_mark = -1  # bytes_parsed when the session last caught up with a flood
        self._sync_since: float | None = None
        self._painted_cursor: tuple[int, int] | None = None
        self._scroll_offset = 0
        self._history_seen = 0
        self._last_activity_post = 0.0
        self._activity_bytes_posted = 0
        self._activity_handle: asyncio.TimerHandle | None = None
        self._mouse_button = 0
        self.last_key_time = 0.0

    # ------------------------------------------------------------------ public API
    @property
    def session(self) -> TerminalSession:
        return self._session

    @property
    def terminal_screen(self) -> ScreenView:
        """The emulated screen (named so because Widget.screen is Textual's Screen)."""
        return self._session.screen

    @property
    def pid(self) -> int | None:
        return self._session.pid if self._session.running else None

    @property
    def running(self) -> bool:
        return self._session.running

    @property
    def lines_scrolled_back(self) -> int:
        """How many lines the view is scrolled back from the live screen (0 = live)."""
        return self._scroll_offset

    def start(
        self,
        argv: Sequence[str],
        env: Mapping[str, str | None] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        not_found_hint: str = "",
        initial_size: tuple[int, int] | None = None,
    ) -> int | None:
        """Run `argv` in the pane. Returns the pid, or None if it could not start (shown in the pane).

        `initial_size` (rows, columns) lets a pane that is not laid out yet (hidden behind another one)
        start at once at that size; without it the start waits until the pane has a size.
        """
        self._argv = list(argv)
        self._env = dict(env) if env is not None else None
        self._cwd = os.fspath(cwd) if cwd is not None else None
        self._not_found_hint = not_found_hint
        width, height = self.size
        if (width <= 0 or height <= 0) and initial_size is not None and min(initial_size) > 0:
            self._session.resize(*initial_size)
            return self._start_child()
        if width <= 0 or height <= 0:
            # Not laid out yet: start once the size is known, so the child never begins at a
            # made-up size (many programs read it only once).
            self._start_when_sized = True
            return None
        return self._start_child()

    @property
    def argv(self) -> list[str] | None:
        """The command the pane runs, and runs again on restart."""
        return list(self._argv) if self._argv is not None else None

    @argv.setter
    def argv(self, argv: Sequence[str]) -> None:
        self._argv = list(argv)

    def restart(self) -> None:
        """End the child if it runs, then start the same command again."""
        if self._argv is None:
            return
        self.run_worker(self._restart(), group="terminal-restart", exclusive=True)

    def write(self, data: bytes) -> None:
        """Send bytes to the child as if typed (used by the command injector)."""
        self._session.write(data)

    def paste(self, text: str) -> None:
        """Paste text, bracketed if the child asked for it."""
        self._session.write(encode_paste(text, bracketed=self.terminal_screen.bracketed_paste))

    async def stop(self, grace: float = 1.0) -> None:
        """End the child: SIGHUP to its session, SIGKILL after `grace` seconds."""
        await self._session.stop(grace)

    # ------------------------------------------------------------------ child lifecycle
    def _start_child(self) -> int | None:
        assert self._argv is not None
        self._start_when_sized = False
        self._waiting_for_restart = False
        self._scroll_offset = 0
        self._fit_session_to_widget()
        try:
            pid = self._session.start(self._argv, env=self._env, cwd=self._cwd)
        except CommandNotFoundError as error:
            self._show_message(self._not_found_text(error.command))
            self.post_message(self.StartFailed("command not found"))
            return None
        except OSError as error:
            self._show_message(f"\x1b[1mCould not start {shlex.join(self._argv)}\x1b[0m\r\n{error}\r\n")
            self.post_message(self.StartFailed(f"could not start: {error.strerror or error}"))
            return None
        self._history_seen = 0
        self._invalidate_all()
        self.post_message(self.Started(pid))
        return pid

    async def _restart(self) -> None:
        if self._session.running:
            await self._session.stop()
        self._start_child()

    def _not_found_text(self, command: str) -> str:
        lines = [f"\x1b[1mCommand not found: {command}\x1b[0m", ""]
        if self._not_found_hint:
            lines += [self._not_found_hint, ""]
        lines.append(f"Press {RESTART_KEY.capitalize()} to try again.")
        return "\r\n".join(lines) + "\r\n"

    def _show_message(self, text: str) -> None:
        """Print a message of ours into the pane (the child is not running) and offer a restart."""
        self._waiting_for_restart = True
        screen = self.terminal_screen
        screen.feed(b"\x1b[0m\x1b[?25l" + text.encode())
        self._invalidate_all()

    def _on_exit(self, status: ExitStatus) -> None:
        self._waiting_for_restart = True
        prefix = "\r\n" if self.terminal_screen.cursor.x else ""
        self.terminal_screen.feed(
            f"\x1b[0m{prefix}\x1b[7m[{status.describe()} — press {RESTART_KEY.capitalize()} to restart]"
            "\x1b[0m\x1b[?25l".encode()
        )
        self._on_screen_changed()
        self.post_message(self.ChildExited(status.code, status.signal))

    def _on_title(self, title: str) -> None:
        self.post_message(self.TitleChanged(title))

    def _on_bell(self) -> None:
        self.post_message(self.Bell())

    # ------------------------------------------------------------------ size
    def _fit_session_to_widget(self) -> None:
        width, height = self.size
        if width > 0 and height > 0:
            self._session.resize(height, width)

    def on_resize(self, event: events.Resize) -> None:
        screen = self.terminal_screen
        unchanged = (self.size.height, self.size.width) == (screen.lines, screen.columns)
        self._fit_session_to_widget()
        if not unchanged:  # shown again at the size it had when hidden: the rows already painted stand
            self._invalidate_all()
        if self._start_when_sized and self.size.width > 0 and self.size.height > 0:
            self._start_when_sized = False
            self._start_child()

    # ------------------------------------------------------------------ painting
    def on_mount(self) -> None:
        self._styles = CellStyles(palette_for(self.app.current_theme))
        self.app.theme_changed_signal.subscribe(self, self._on_theme_changed)

    def _on_theme_changed(self, theme: Theme) -> None:
        self._styles = CellStyles(palette_for(theme))
        self._moved_rows.clear()  # its Strips carry the old colours; everything else it checks per row
        self._invalidate_all()

    async def on_unmount(self) -> None:
        if self._activity_handle is not None:
            self._activity_handle.cancel()
            self._activity_handle = None
        if self._paint_handle is not None:
            self._paint_handle.cancel()
            self._paint_handle = None
        # No orphans: whatever way the app goes down, the child goes with it.
        if self._session.running:
            await self._session.stop(grace=0.5)
        self._session.close()

    def _invalidate_all(self) -> None:
        self._strips.clear()
        self.terminal_screen.dirty.clear()
        self._painted_cursor = None
        self.refresh()

    def _on_screen_changed(self) -> None:
        now = time.monotonic()
        self._report_activity(now)
        echo_due = self._echo_due(now)
        # A key's echo goes to Textual at once (its own update timer still paces the frames).
        delay = 0.0 if echo_due else max(0.0, self._last_paint + FRAME_INTERVAL - now)
        if self._paint_handle is not None and (self._flood_hold or echo_due):
            if echo_due:
                self._paint_handle.cancel()
                self._paint_handle = None
            elif self._session.caught_up:
                # Every byte the child wrote is parsed: paint soon unless more arrives meanwhile.
                self._paint_handle.cancel()
                self._quiet_mark = self._session.bytes_parsed
                delay = max(delay, FLOOD_QUIET)
                self._paint_handle = None
            self._flood_hold = self._paint_handle is not None
        if self._paint_handle is None and self.is_mounted:
            self._paint_handle = asyncio.get_running_loop().call_later(delay, self._paint)

    def _report_activity(self, now: float) -> None:
        """Post OutputActivity at most every ACTIVITY_INTERVAL; bytes parsed in between follow at its end."""
        unreported = self._session.bytes_parsed - self._activity_bytes_posted
        if unreported <= 0 or self._activity_handle is not None:
            return
        wait = self._last_activity_post + ACTIVITY_INTERVAL - now
        if wait > 0:
            self._activity_handle = asyncio.get_running_loop().call_later(wait, self._post_pending_activity)
            return
        self._last_activity_post = now
        self._activity_bytes_posted += unreported
        self.post_message(self.OutputActivity(unreported))

    def _post_pending_activity(self) -> None:
        self._activity_handle = None
        self._report_activity(time.monotonic())

    def _hold_for_synchronized_output(self, now: float) -> float:
        """Seconds to keep waiting because the child is mid-frame (?2026h); 0 to paint now."""
        if not self.terminal_screen.synchronized_output:
            self._sync_since = None
            return 0.0
        if self._sync_since is None:
            self._sync_since = now
        return max(0.0, self._sync_since + SYNC_HOLD_LIMIT - now)

    def _cursor_cell(self) -> tuple[int, int] | None:
        """(x, y) where the cursor is drawn, or None when it is hidden or the pane is not focused."""
        screen = self.terminal_screen
        if screen.cursor.hidden or not self.has_focus or self._scroll_offset:
            return None
        return min(screen.cursor.x, screen.columns - 1), screen.cursor.y

    def _hold_for_flood(self, now: float) -> float:
        """Seconds to wait before the next frame because the child floods the pane; 0 to paint now.

        A flood: at least FLOOD_BYTES parsed since the last frame, no key typed in the last
        KEY_ECHO_WINDOW that may have echoed, and the child still writing -- not quiet since the
        session caught up.
        """
        parsed = self._session.bytes_parsed
        flooding = (
            parsed - self._bytes_at_last_paint >= FLOOD_BYTES
            and parsed != self._quiet_mark
            and not self._session.output_paused
            and not self._echo_due(now)
        )
        if not flooding:
            return 0.0
        return max(0.0, self._last_paint + FLOOD_FRAME_INTERVAL - now)

    def _echo_due(self, now: float) -> bool:
        """Whether the next frame may show the echo of a key typed just now.

        Echoes land on the cursor's row or move the cursor; a flood elsewhere on the screen (an
        agent redrawing its output above the prompt) does not count, so it stays paced.
        """
        if now - self.last_key_time >= KEY_ECHO_WINDOW:
            return False
        screen = self.terminal_screen
        return screen.cursor.y in screen.dirty or self._cursor_cell() != self._painted_cursor

    def _paint(self) -> None:
        self._paint_handle = None
        if not self.is_mounted:
            return
        now = time.monotonic()
        hold = self._hold_for_synchronized_output(now)
        flood_hold = 0.0 if hold else self._hold_for_flood(now)
        self._flood_hold = flood_hold > 0
        hold = hold or flood_hold
        if hold > 0:
            self._paint_handle = asyncio.get_running_loop().call_later(hold, self._paint)
            return
        self._last_paint = now
        self._bytes_at_last_paint = self._session.bytes_parsed
        self._quiet_mark = -1
        screen = self.terminal_screen
        rows = set(screen.dirty)
        screen.dirty.clear()
        cursor = self._cursor_cell()
        if cursor != self._painted_cursor:
            for position in (cursor, self._painted_cursor):
                if position is not None:
                    rows.add(position[1])
            self._painted_cursor = cursor
        for y in rows:
            self._strips.pop(y, None)
        if self._scroll_offset:
            self._follow_history_while_scrolled()
            self.refresh()
            return
        width = self.size.width
        regions = [Region(0, y, width, 1) for y in rows if 0 <= y < self.size.height]
        if regions:
            self.refresh(*regions)

    def _follow_history_while_scrolled(self) -> None:
        """Keep the same lines in view while new output pushes rows into the scrollback."""
        grown = self.terminal_screen.history_len() - self._history_seen
        self._history_seen += grown
        if grown > 0:
            self._scroll_offset = min(self._scroll_offset + grown, self.terminal_screen.history_len())

    def render_line(self, y: int) -> Strip:
        styles = self._styles
        width = self.size.width
        if styles is None:
            return Strip.blank(width)
        if self._scroll_offset:
            return self._render_scrolled_line(y, width, styles)
        strip = self._strips.get(y)
        if strip is None or strip.cell_length != width:
            screen = self.terminal_screen
            if y >= screen.lines:
                strip = Strip.blank(width, styles.default)
            else:
                cursor = self._painted_cursor
                cursor_x = cursor[0] if cursor is not None and cursor[1] == y else None
                strip = self._render_screen_row(screen.buffer[y], width, styles, cursor_x)
            self._strips[y] = strip
        return strip

    def _render_screen_row(self, row: Sequence[Cell], width: int, styles: CellStyles, cursor_x: int | None) -> Strip:
        """render_row, reusing the Strip of a row that only moved (scrolled) since it was rendered.

        The screen moves row lists when it scrolls, so a row's Strip is looked up by the list's
        id and used only if the row still holds the same cells (a reused id or an edited row
        fails that check). No reference to the row itself is kept: the screen reuses rows that
        nothing else refers to.
        """
        if cursor_x is not None:
            return render_row(row, width, styles, cursor_x)
        cache = self._moved_rows
        cached = cache.get(id(row))
        # A mirror's rows never change once received: the same object is the same cells.
        mirrored = isinstance(row, PackedRow)
        if (
            cached is not None
            and cached[1].cell_length == width
            and (cached[0] is row if mirrored else cached[0] == row)
        ):
            return cached[1]
        strip = render_row(row, width, styles)
        if len(cache) >= MOVED_ROWS_KEPT:
            cache.clear()
        cache[id(row)] = (row if mirrored else list(row), strip)
        return strip

    def _render_scrolled_line(self, y: int, width: int, styles: CellStyles) -> Strip:
        screen = self.terminal_screen
        kept = screen.history_len()
        index = kept - self._scroll_offset + y
        if index < kept:
            row = screen.history_row(index)
            strip = render_row(row, width, styles) if row is not None else Strip.blank(width, styles.default)
        elif index - kept < screen.lines:
            strip = render_row(screen.buffer[index - kept], width, styles)
        else:
            strip = Strip.blank(width, styles.default)
        if y == 0:
            label = f" scrollback −{self._scroll_offset} "
            if len(label) < width:
                strip = Strip.join([strip.crop(0, width - len(label)), Strip([Segment(label, styles.indicator)])])
        return strip

    # ------------------------------------------------------------------ scrollback
    def _scrollback_available(self) -> bool:
        screen = self.terminal_screen
        return not screen.in_alternate_screen and screen.history_len() > 0

    def scroll_back(self, lines: int) -> None:
        """Move the view `lines` up (positive) or down (negative) through the scrollback."""
        screen = self.terminal_screen
        if screen.in_alternate_screen:
            lines = -self._scroll_offset
        offset = max(0, min(self._scroll_offset + lines, screen.history_len()))
        if offset == self._scroll_offset:
            return
        if not self._scroll_offset:
            self._history_seen = screen.history_len()
        self._scroll_offset = offset
        self._invalidate_all()

    def _return_to_live(self) -> None:
        if self._scroll_offset:
            self._scroll_offset = 0
            self._invalidate_all()

    # ------------------------------------------------------------------ keyboard and paste
    async def on_key(self, event: events.Key) -> None:
        event.prevent_default()
        event.stop()
        key = event.key
        if self._waiting_for_restart and not self._session.running:
            if key == RESTART_KEY:
                self._start_child()
            return
        page = max(1, self.size.height - 1)
        if key in SCROLLBACK_UP_KEYS and self._scrollback_available():
            self.scroll_back(page)
            return
        if key in SCROLLBACK_DOWN_KEYS and self._scroll_offset:
            self.scroll_back(-page)
            return
        data = encode_key(key, event.character, app_cursor_keys=self.terminal_screen.app_cursor_keys)
        if data is None:
            return
        self.last_key_time = time.monotonic()
        self._return_to_live()
        self._session.write(data)

    def on_paste(self, event: events.Paste) -> None:
        event.prevent_default()
        event.stop()
        if not self._session.running:
            return
        self.last_key_time = time.monotonic()
        self._return_to_live()
        self.paste(event.text)

    # ------------------------------------------------------------------ focus
    def on_focus(self, event: events.Focus) -> None:
        self._report_focus(True)
        self._repaint_cursor()

    def on_blur(self, event: events.Blur) -> None:
        self._report_focus(False)
        self._repaint_cursor()

    def _report_focus(self, focused: bool) -> None:
        if self._session.running and self.terminal_screen.focus_reporting:
            self._session.write(encode_focus(focused))

    def _repaint_cursor(self) -> None:
        if self.is_mounted:
            self._on_screen_changed()

    # ------------------------------------------------------------------ mouse
    def _forward_mouse(self, event: events.MouseEvent, action: MouseAction, button: int) -> bool:
        """Send the event to a child that tracks the mouse; False when the child is not tracking."""
        screen = self.terminal_screen
        if not screen.mouse_tracking or not self._session.running:
            return False
        offset = event.get_content_offset_capture(self)
        report = MouseReport(
            action,
            x=max(0, min(offset.x, screen.columns - 1)),
            y=max(0, min(offset.y, screen.lines - 1)),
            button=button,
            shift=event.shift,
            meta=event.meta,
            ctrl=event.ctrl,
        )
        data = encode_mouse(report, tracking=screen.mouse_tracking, sgr=screen.mouse_sgr)
        if data is not None:
            self._session.write(data)
        return True

    def on_mouse_down(self, event: events.MouseDown) -> None:
        self._mouse_button = event.button
        if self._forward_mouse(event, MouseAction.PRESS, event.button):
            self.capture_mouse()
            event.stop()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        button = event.button or self._mouse_button
        self._mouse_button = 0
        if self._forward_mouse(event, MouseAction.RELEASE, button):
            self.release_mouse()
            event.stop()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        button = self._mouse_button if event.button else 0
        if self._forward_mouse(event, MouseAction.MOVE, button):
            event.stop()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        if not self._forward_mouse(event, MouseAction.WHEEL_UP, 0) and self._scrollback_available():
            self.scroll_back(WHEEL_LINES)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        if not self._forward_mouse(event, MouseAction.WHEEL_DOWN, 0):
            self.scroll_back(-WHEEL_LINES)
