"""Desktop notifications through the outer terminal: the right escape for each terminal, safely built."""

from __future__ import annotations

import pytest
from textual.app import App

from taskping_tui.agent.local_notify import (
    NotifyMethod,
    TerminalNotifier,
    choose_method,
    notification_bytes,
    notification_sequence,
)


@pytest.mark.parametrize(
    ("env", "method"),
    [
        ({"TERM_PROGRAM": "iTerm.app", "TERM": "xterm-256color"}, NotifyMethod.OSC9),
        ({"TERM_PROGRAM": "WezTerm", "TERM": "xterm-256color"}, NotifyMethod.OSC9),
        ({"TERM_PROGRAM": "ghostty", "TERM": "xterm-ghostty"}, NotifyMethod.OSC9),
        ({"LC_TERMINAL": "iTerm2", "TERM": "xterm-256color"}, NotifyMethod.OSC9),
        ({"TERM": "xterm-kitty", "KITTY_WINDOW_ID": "1"}, NotifyMethod.OSC99),
        ({"TERM": "rxvt-unicode-256color"}, NotifyMethod.OSC777),
        ({"TERM": "foot"}, NotifyMethod.OSC777),
        ({"TERM": "xterm-256color"}, NotifyMethod.BEL),
        ({"TERM": "linux"}, NotifyMethod.BEL),
        ({}, NotifyMethod.BEL),
        ({"TERM": "tmux-256color", "TMUX": "/tmp/tmux-0/default,1,0", "TERM_PROGRAM": "tmux"}, NotifyMethod.BEL),
        ({"TERM": "screen-256color", "TERM_PROGRAM": "iTerm.app"}, NotifyMethod.BEL),
    ],
)
def test_method_follows_the_outer_terminal(env: dict[str, str], method: NotifyMethod) -> None:
    assert choose_method(env) is method


def test_osc9_bytes() -> None:
    data = notification_bytes("TaskPing", "Turn finished", {"TERM_PROGRAM": "iTerm.app"})
    assert data == b"\x1b]9;TaskPing: Turn finished\x07"


def test_osc777_bytes_keep_title_and_body_apart() -> None:
    data = notification_bytes("TaskPing", "a;b done", {"TERM": "foot"})
    assert data == b"\x1b]777;notify;TaskPing;a,b done\x07"


def test_osc99_sends_title_then_body() -> None:
    data = notification_bytes("TaskPing", "Needs permission", {"TERM": "xterm-kitty"})
    assert data == (
        b"\x1b]99;i=taskping:d=0:p=title;TaskPing\x1b\\\x1b]99;i=taskping:d=1:p=body;Needs permission\x1b\\"
    )


def test_bel_elsewhere() -> None:
    assert notification_bytes("TaskPing", "x", {"TERM": "xterm"}) == b"\x07"


def test_agent_text_cannot_smuggle_escape_sequences_out() -> None:
    hostile = "done\x07\x1b]52;c;ZXZpbA==\x07\x1b[2J\n\x9b"
    frames = {
        NotifyMethod.OSC9: ("\x1b]9;", "\x07"),
        NotifyMethod.OSC777: ("\x1b]777;notify;", "\x07"),
        NotifyMethod.OSC99: ("\x1b]99;i=taskping:d=0:p=title;", "\x1b\\"),
    }
    for method, (head, tail) in frames.items():
        sequence = notification_sequence("T", hostile, method)
        assert sequence.startswith(head) and sequence.endswith(tail)
        inner = sequence[len(head) : -len(tail)]
        if method is NotifyMethod.OSC99:
            inner = inner.replace("\x1b\\\x1b]99;i=taskping:d=1:p=body;", "|", 1)
        assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in inner), repr(inner)
        assert "done" in inner and "ZXZpbA==" in inner


def test_long_text_is_capped_and_unicode_kept() -> None:
    data = notification_bytes("TaskPing", "完成 " * 500, {"TERM_PROGRAM": "iTerm.app"})
    assert len(data.decode()) < 260 and "完成".encode() in data


class RecordingDriver:
    is_headless = False

    def __init__(self) -> None:
        self.written: list[str] = []
        self.flushed = 0

    def write(self, data: str) -> None:
        self.written.append(data)

    def flush(self) -> None:
        self.flushed += 1


def test_notifier_writes_through_the_textual_driver() -> None:
    app: App[object] = App()
    driver = RecordingDriver()
    app._driver = driver  # type: ignore[assignment]
    notifier = TerminalNotifier(app, env={"TERM_PROGRAM": "WezTerm"})
    assert notifier.notify("TaskPing", "Turn finished")
    assert driver.written == ["\x1b]9;TaskPing: Turn finished\x07"] and driver.flushed == 1


async def test_notifier_does_nothing_in_a_headless_app() -> None:
    app: App[object] = App()
    async with app.run_test():
        assert TerminalNotifier(app, env={"TERM_PROGRAM": "WezTerm"}).notify("T", "b") is False
    assert TerminalNotifier(App(), env={}).notify("T", "b") is False
