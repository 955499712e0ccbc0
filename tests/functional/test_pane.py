"""The terminal pane in a real Textual app: real children, real keys, real exits."""

from __future__ import annotations

import asyncio
import sys

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.pilot import Pilot

from taskping_tui.terminal.process import process_is_running
from taskping_tui.terminal.view import TerminalView
from tests.support.terminal_pane_fixtures import wait_until

# Prints every chunk it reads from its raw terminal as hex, one line per read.
HEX_ECHO = (
    "import os, sys, tty\n"
    "tty.setraw(0)\n"
    "os.write(1, b'ready\\r\\n')\n"
    "while True:\n"
    "    data = os.read(0, 1024)\n"
    "    if data == b'q': break\n"
    "    os.write(1, (data.hex(' ') + '\\r\\n').encode())\n"
)


class PaneApp(App[None]):
    """Only a TerminalView, with the app bindings arranged as taskping-tui arranges them."""

    BINDINGS = [
        # Textual binds ctrl+q (quit) with priority and ctrl+p (palette) with priority by default;
        # both are keys programs in the pane use, so here (as in the real app) they are not priority.
        Binding("ctrl+q", "quit", "Quit", show=False),
        Binding("ctrl+p", "command_palette", "Commands", show=False),
    ]

    def __init__(self, argv: list[str], **start_kwargs: object) -> None:
        super().__init__()
        self.argv = argv
        self.start_kwargs = start_kwargs
        self.messages: list[object] = []

    def compose(self) -> ComposeResult:
        yield TerminalView(id="pane", scrollback=1000)

    def on_mount(self) -> None:
        pane = self.query_one(TerminalView)
        pane.focus()
        pane.start(self.argv, **self.start_kwargs)  # type: ignore[arg-type]

    def on_terminal_view_started(self, message: TerminalView.Started) -> None:
        self.messages.append(message)

    def on_terminal_view_child_exited(self, message: TerminalView.ChildExited) -> None:
        self.messages.append(message)

    def on_terminal_view_title_changed(self, message: TerminalView.TitleChanged) -> None:
        self.messages.append(message)

    def on_terminal_view_bell(self, message: TerminalView.Bell) -> None:
        self.messages.append(message)


def pane_of(pilot: Pilot[None]) -> TerminalView:
    return pilot.app.query_one(TerminalView)


def screen_text(pane: TerminalView) -> str:
    screen = pane.terminal_screen
    return "\n".join(screen.row_text(y).rstrip() for y in range(screen.lines))


def painted_text(pane: TerminalView) -> str:
    """What the widget renders, row by row."""
    return "\n".join(pane.render_line(y).text.rstrip() for y in range(pane.size.height))


async def wait_for_text(pilot: Pilot[None], needle: str, timeout: float = 5.0) -> None:
    pane = pane_of(pilot)
    await wait_until(lambda: needle in screen_text(pane), timeout, what=repr(needle))
    await pilot.pause()


BASH = ["bash", "--norc", "--noprofile"]


async def test_typed_keys_reach_bash_and_the_echo_is_painted() -> None:
    app = PaneApp(BASH, env={"PS1": "$ "})
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_text(pilot, "$")
        await pilot.press(*"echo hi", "space", *"there", "enter")
        await wait_for_text(pilot, "hi there\n")
        pane = pane_of(pilot)
        assert "$ echo hi there" in painted_text(pane)
        assert "\nhi there" in painted_text(pane)
        assert pane.last_key_time > 0


async def test_pane_size_is_the_pty_size_after_an_app_resize() -> None:
    app = PaneApp(BASH, env={"PS1": "$ "})
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_text(pilot, "$")
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        pane = pane_of(pilot)
        assert (pane.terminal_screen.columns, pane.terminal_screen.lines) == (100, 30)
        await pilot.press(*"stty", "space", *"size", "enter")
        await wait_for_text(pilot, "30 100")


async def test_child_starts_at_the_pane_size_even_when_started_before_layout() -> None:
    app = PaneApp(["sh", "-c", "stty size; exec cat"])  # PaneApp starts it in on_mount
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_text(pilot, "30 100")
        assert "24 80" not in screen_text(pane_of(pilot))


async def test_tab_shift_tab_ctrl_keys_and_escape_go_to_the_child_not_to_textual() -> None:
    app = PaneApp([sys.executable, "-c", HEX_ECHO])
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_text(pilot, "ready")
        pane = pane_of(pilot)
        expected = {
            "tab": "09",
            "shift+tab": "1b 5b 5a",
            "ctrl+c": "03",
            "escape": "1b",
            "ctrl+q": "11",
            "ctrl+p": "10",
            "ctrl+underscore": "1f",
            "up": "1b 5b 41",
        }
        for key, hex_bytes in expected.items():
            await pilot.press(key)
            await wait_for_text(pilot, f"\n{hex_bytes}\n")
            assert pane.has_focus, f"{key} moved the focus"
        assert app.is_running


async def test_paste_is_bracketed_once_the_child_asks_for_it() -> None:
    script = "import sys; sys.stdout.write('\\x1b[?2004h'); sys.stdout.flush()\n" + HEX_ECHO
    app = PaneApp([sys.executable, "-c", script])
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_text(pilot, "ready")
        pane = pane_of(pilot)
        from textual import events

        pane.post_message(events.Paste("ls\n"))
        await wait_for_text(pilot, "1b 5b 32 30 30 7e 6c 73 0d 1b 5b 32 30 31 7e")


async def test_shift_pageup_scrolls_back_and_typing_returns_to_the_live_screen() -> None:
    app = PaneApp(["sh", "-c", "seq 1 200; exec cat"])
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_text(pilot, "200")
        pane = pane_of(pilot)
        assert painted_text(pane).splitlines()[0] == "178"
        await pilot.press("shift+pageup")
        assert pane.lines_scrolled_back == 23
        painted = painted_text(pane)
        assert painted.splitlines()[0].startswith("155 ")
        assert painted.splitlines()[1] == "156"
        assert "scrollback −23" in painted.splitlines()[0]
        await pilot.press("shift+pagedown")
        assert pane.lines_scrolled_back == 0
        await pilot.press("shift+pageup", "shift+pageup")
        assert pane.lines_scrolled_back == 46
        await pilot.press("x")
        assert pane.lines_scrolled_back == 0
        assert "scrollback" not in painted_text(pane)
        await wait_for_text(pilot, "x")


async def test_mouse_wheel_scrolls_back_when_the_child_does_not_track_the_mouse() -> None:
    app = PaneApp(["sh", "-c", "seq 1 100; exec cat"])
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_text(pilot, "100")
        pane = pane_of(pilot)
        pane.on_mouse_scroll_up(_wheel_event(pane, up=True))
        assert pane.lines_scrolled_back == 3
        pane.on_mouse_scroll_down(_wheel_event(pane, up=False))
        assert pane.lines_scrolled_back == 0


def _wheel_event(pane: TerminalView, *, up: bool):  # type: ignore[no-untyped-def]
    from textual import events

    cls = events.MouseScrollUp if up else events.MouseScrollDown
    return cls(pane, 5, 5, 0, 0, 0, False, False, False, screen_x=5, screen_y=5)


async def test_wheel_goes_to_a_child_that_tracks_the_mouse() -> None:
    script = "import sys; sys.stdout.write('\\x1b[?1000h\\x1b[?1006h'); sys.stdout.flush()\n" + HEX_ECHO
    app = PaneApp([sys.executable, "-c", script])
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_text(pilot, "ready")
        pane = pane_of(pilot)
        pane.on_mouse_scroll_up(_wheel_event(pane, up=True))
        # ESC [ < 6 4 ; 6 ; 6 M
        await wait_for_text(pilot, "1b 5b 3c 36 34 3b 36 3b 36 4d")
        assert pane.lines_scrolled_back == 0


async def test_child_exit_shows_status_and_enter_restarts() -> None:
    app = PaneApp(["sh", "-c", "echo run-$$; exit 3"])
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_text(pilot, "press Enter to restart")
        pane = pane_of(pilot)
        assert "exited with status 3" in painted_text(pane)
        exits = [m for m in app.messages if isinstance(m, TerminalView.ChildExited)]
        assert [(m.status, m.signal) for m in exits] == [(3, None)]
        first_pid = next(m.pid for m in app.messages if isinstance(m, TerminalView.Started))
        await pilot.press("enter")
        await wait_until(lambda: len([m for m in app.messages if isinstance(m, TerminalView.Started)]) == 2)
        pids = [m.pid for m in app.messages if isinstance(m, TerminalView.Started)]
        assert pids[1] != first_pid
        await wait_for_text(pilot, f"run-{pids[1]}")


async def test_unknown_command_shows_the_install_hint_and_the_app_stays_up() -> None:
    app = PaneApp(["taskping-missing-agent"], not_found_hint="Install it with: npm install -g missing-agent")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        pane = pane_of(pilot)
        painted = painted_text(pane)
        assert "Command not found: taskping-missing-agent" in painted
        assert "Install it with: npm install -g missing-agent" in painted
        assert not pane.running and pane.pid is None
        await pilot.press("enter")  # still not installed: the message stays, nothing crashes
        await pilot.pause()
        assert "Command not found" in painted_text(pane)
        assert app.is_running


async def test_title_and_bell_become_messages() -> None:
    app = PaneApp(["sh", "-c", "printf '\\033]2;busy ⠋\\007\\007'; exec cat"])
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(lambda: any(isinstance(m, TerminalView.Bell) for m in app.messages))
        titles = [m.title for m in app.messages if isinstance(m, TerminalView.TitleChanged)]
        assert titles == ["busy ⠋"]
        await pilot.pause()


async def test_quitting_the_app_leaves_no_orphan_processes() -> None:
    script = "set -m; sleep 600 & echo bg=$!; (trap '' HUP; exec sleep 601) & echo hup=$! end; wait"
    app = PaneApp(["bash", "--norc", "--noprofile", "-c", script])
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_text(pilot, " end")
        pane = pane_of(pilot)
        pid = pane.pid
        assert pid is not None
        text = screen_text(pane)
        background = int(text.split("bg=", 1)[1].split()[0])
        ignores_hup = int(text.split("hup=", 1)[1].split()[0])
        assert all(process_is_running(p) for p in (pid, background, ignores_hup))
        app.exit()
    await asyncio.sleep(0)
    for p in (pid, background, ignores_hup):
        assert not process_is_running(p), f"process {p} outlived the app"
