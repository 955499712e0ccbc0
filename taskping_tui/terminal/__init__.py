"""The embedded terminal: PTY child, screen emulation, key encoding and the TerminalView widget.

The model (`process`, `parser`, `screen`, `session`, `keys`, `palette`) imports no Textual; only `view`
(the widget) and `driver` (the app's input driver) do. The names below are loaded on first use, so
`import taskping_tui.terminal.keys` does not pull in Textual through this package's `__init__`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOMES = {
    "Cell": "screen",
    "ChildProcess": "process",
    "CommandNotFoundError": "process",
    "ExitStatus": "process",
    "MouseAction": "keys",
    "MouseReport": "keys",
    "TerminalPalette": "palette",
    "TerminalScreen": "screen",
    "TerminalSession": "session",
    "TerminalView": "view",
    "encode_focus": "keys",
    "encode_key": "keys",
    "encode_mouse": "keys",
    "encode_paste": "keys",
    "palette_for": "palette",
}

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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
