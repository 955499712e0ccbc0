"""The embedded terminal: PTY child, screen emulation, key encoding and the TerminalView widget."""

from taskping_tui.terminal.keys import (
    MouseAction,
    MouseReport,
    encode_focus,
    encode_key,
    encode_mouse,
    encode_paste,
)
from taskping_tui.terminal.palette import TerminalPalette, palette_for
from taskping_tui.terminal.process import ChildProcess, CommandNotFoundError, ExitStatus
from taskping_tui.terminal.screen import Cell, TerminalScreen
from taskping_tui.terminal.session import TerminalSession
from taskping_tui.terminal.view import TerminalView

__all__ = [
    "Cell",
    "ChildProcess",
    "CommandNotFoundError",
    "ExitStatus",
    "MouseAction",
    "MouseReport",
    "TerminalPalette",
    "TerminalScreen",
    "TerminalSession",
    "TerminalView",
    "encode_focus",
    "encode_key",
    "encode_mouse",
    "encode_paste",
    "palette_for",
]
