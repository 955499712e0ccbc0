#!/usr/bin/env python3
"""Re-record the raw byte streams used by tests/unit/terminal/test_screen_streams.py.

Each program runs under a real pseudo-terminal of 80x24 (TERM=xterm-256color, LANG=C.UTF-8,
a throw-away HOME with a minimal .vimrc) while scripted keys are sent; everything the program
writes is saved verbatim as <name>.bin next to this script. Run from the repo root:

    .venv/bin/python tests/data/streams/record_streams.py
"""

from __future__ import annotations

import os
import select
import sys
import tempfile
import time
from pathlib import Path

from ptyprocess import PtyProcess

HERE = Path(__file__).resolve().parent
COLUMNS, LINES = 80, 24

SAMPLE_TEXT = "".join(f"line {n:02d}: the quick brown fox jumps over the lazy dog\n" for n in range(1, 61))

CLAUDE_LIKE = r"""
import sys, time
w = sys.stdout.write
w("\x1b[?25l\x1b[?2004h")
w("\x1b[38;5;174m\u273b\x1b[39m Welcome to \x1b[1mClaude-like\x1b[22m!\r\n\r\n")
frames = ["\u00b7", "\u2722", "\u2733", "\u2736", "\u273b", "\u273d"]
for i, glyph in enumerate(frames):
    if i:
        w("\x1b[2K\x1b[1A\x1b[2K\x1b[1A\x1b[2K\x1b[G")
    w(f"\x1b[38;5;174m{glyph}\x1b[39m \x1b[38;5;174mThinking\u2026\x1b[39m \x1b[2m({i}s \u00b7 esc to interrupt)\x1b[22m\r\n")
    w("\x1b[38;2;136;136;136m\u256d" + "\u2500" * 40 + "\u256e\x1b[39m\r\n")
    w("\x1b[38;2;136;136;136m\u2502\x1b[39m > draft" + "\x1b[42G" + "\x1b[38;2;136;136;136m\u2502\x1b[39m")
    sys.stdout.flush()
    time.sleep(0.05)
w("\x1b[2K\x1b[1A\x1b[2K\x1b[1A\x1b[2K\x1b[G")
w("\x1b[38;5;114m\u25cf\x1b[39m Done. Edited \x1b[1mapp.py\x1b[22m (+3 \x1b[32madded\x1b[39m, -1 \x1b[31mremoved\x1b[39m)\r\n")
w("\x1b[3G\x1b[2m\u23bf  tests pass\x1b[22m\r\n")
w("\x1b[?2004l\x1b[?25h")
sys.stdout.flush()
"""


def _environment(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PS1": "$ ",
        "LESS": "",
        "LESSHISTFILE": "-",
        "VIMINIT": f"source {home / '.vimrc'}",
    }


def record(argv: list[str], keys: list[tuple[float, bytes]], cwd: Path, env: dict[str, str]) -> bytes:
    """Run argv under a pty, send each key after its delay, return every byte it wrote."""
    proc = PtyProcess.spawn(argv, cwd=str(cwd), env=env, dimensions=(LINES, COLUMNS))
    output = bytearray()

    def drain(seconds: float) -> None:
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            ready, _, _ = select.select([proc.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(proc.fd, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                output.extend(chunk)

    for delay, key in keys:
        drain(delay)
        proc.write(key)
    drain(1.0)
    if proc.isalive():
        proc.terminate(force=True)
    return bytes(output)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="taskping-record-") as tmp:
        home = Path(tmp)
        (home / ".vimrc").write_text("set nocompatible\nset noswapfile\nset viminfo=\nsyntax off\nset laststatus=1\n")
        sample = home / "sample.txt"
        sample.write_text(SAMPLE_TEXT)
        env = _environment(home)
        streams = {
            "vim_edit": (
                ["vim", "-N", "sample.txt"],
                [(1.0, b"jj"), (0.3, b"dd"), (0.3, b"Otyped by the test\x1b"), (0.5, b"")],
            ),
            "less_file": (
                ["less", "sample.txt"],
                [(0.8, b" "), (0.5, b"/line 50\r"), (0.5, b"")],
            ),
            "alt_screen": (
                ["sh", "-c", "printf 'before alt\\n'; vim -N sample.txt; printf 'after alt\\n'"],
                [(1.0, b":q\r"), (0.8, b"")],
            ),
            "claude_like": (
                [sys.executable, "-c", CLAUDE_LIKE],
                [(1.5, b"")],
            ),
        }
        for name, (argv, keys) in streams.items():
            data = record(argv, keys, home, env)
            (HERE / f"{name}.bin").write_bytes(data)
            print(f"{name}: {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
