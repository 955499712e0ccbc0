"""Fidelity: real programs look the same in our emulator as in tmux, row by row, at 80x24.

Each case runs the same program with the same environment (TERM=xterm-256color in both, a
throw-away HOME with a minimal .vimrc, LANG=C.UTF-8, fixed PS1) once inside a private tmux server
and once under ptyprocess feeding TerminalScreen (whose query answers are written back to the
child, as the pane does). The same keys are sent after the output has settled; then every row's
text (trailing spaces stripped) must be identical.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from ptyprocess import PtyProcess

from taskping_tui.terminal.screen import TerminalScreen

pytestmark = pytest.mark.slow

COLUMNS, LINES = 80, 24
QUIET = 0.25  # output is settled after this long without change
SETTLE_LIMIT = 3.0


@dataclass
class Case:
    name: str
    argv: list[str]
    keys: list[bytes]  # each sent after the previous output settled


def _sample_text() -> str:
    return "".join(f"{n:03d} {'lorem ipsum dolor sit amet ' * (1 + n % 3)}\tend\n" for n in range(1, 121))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("fidelity-home")
    (home / ".vimrc").write_text("set nocompatible\nset noswapfile\nset viminfo=\nset ruler\nsyntax on\n")
    (home / "notes.txt").write_text(_sample_text())
    repo = home / "repo"
    repo.mkdir()
    git_env = _environment(home)
    git_env.update(GIT_AUTHOR_DATE="2026-01-02T03:04:05Z", GIT_COMMITTER_DATE="2026-01-02T03:04:05Z")

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, env=git_env, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("config", "user.name", "Fidelity Test")
    git("config", "user.email", "fidelity@example.test")
    for n in range(30):
        (repo / "file.txt").write_text(f"revision {n}\n")
        git("add", "file.txt")
        git("commit", "-q", "-m", f"change number {n}: adjust the file contents")
        if n % 10 == 0:
            git("tag", f"v0.{n}")
    return home


def _environment(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PS1": "$ ",
        "LESSHISTFILE": "-",
        "PYTHONSTARTUP": "",
        "PYTHON_HISTORY": str(home / ".python_history"),
        "VIMINIT": f"source {home / '.vimrc'}",
    }


CASES = [
    Case("vim", ["vim", "-N", "notes.txt"], [b"", b"10j", b"dd", b"A appended\x1b", b"\x06", b":set nu\r"]),
    Case("less", ["less", "notes.txt"], [b"", b" ", b"/ipsum dolor sit amet lorem\r", b"G", b"g"]),
    Case("git-log", ["git", "-C", "repo", "log", "--color", "--decorate", "--graph"], [b"", b" ", b"k"]),
    Case(
        "python-repl",
        [sys.executable, "-q", "-S", "-i"],
        [
            b"",
            b"1 + 1\r",
            b"print('x' * 100)\r",
            b"for i in range(3):\r",
            b"    print(i)\r",
            b"\r",
            b"'\xc3\xa9\xe4\xb8\xad'\r",
        ],
    ),
]


# ---------------------------------------------------------------- tmux side
class Tmux:
    def __init__(self, home: Path) -> None:
        self.socket = f"taskping-fidelity-{uuid.uuid4().hex[:10]}"
        self.env = _environment(home)
        self.conf = home / f"{self.socket}.conf"
        self.conf.write_text("set -g status off\nset -g default-terminal xterm-256color\nset -g escape-time 0\n")

    def run(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, "-f", str(self.conf), *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout

    def start(self, argv: list[str], cwd: Path) -> None:
        self.run("new-session", "-d", "-x", str(COLUMNS), "-y", str(LINES), "-c", str(cwd), "--", *argv)

    def capture(self) -> list[str]:
        lines = self.run("capture-pane", "-p").split("\n")[:LINES]
        lines += [""] * (LINES - len(lines))
        return [line.rstrip() for line in lines]

    def settle(self) -> list[str]:
        deadline = time.monotonic() + SETTLE_LIMIT
        last = self.capture()
        while time.monotonic() < deadline:
            time.sleep(QUIET)
            now = self.capture()
            if now == last:
                return now
            last = now
        return last

    def send(self, key: bytes) -> None:
        self.run("send-keys", "-l", key.decode())

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], env=self.env, capture_output=True)


def run_in_tmux(case: Case, home: Path) -> list[str]:
    tmux = Tmux(home)
    try:
        tmux.start(case.argv, home)
        rows = tmux.settle()
        for key in case.keys:
            if key:
                tmux.send(key)
                rows = tmux.settle()
        return rows
    finally:
        tmux.close()


# ---------------------------------------------------------------- our side
def run_in_emulator(case: Case, home: Path) -> list[str]:
    proc = PtyProcess.spawn(case.argv, cwd=str(home), env=_environment(home), dimensions=(LINES, COLUMNS))
    screen = TerminalScreen(COLUMNS, LINES)
    screen.on_reply = proc.write

    def settle() -> None:
        deadline = time.monotonic() + SETTLE_LIMIT
        while time.monotonic() < deadline:
            ready, _, _ = select.select([proc.fd], [], [], QUIET)
            if not ready:
                return
            try:
                data = os.read(proc.fd, 65536)
            except OSError:
                return
            if not data:
                return
            screen.feed(data)

    try:
        settle()
        for key in case.keys:
            if key:
                proc.write(key)
                settle()
        return [row.rstrip() for row in screen.display]
    finally:
        proc.terminate(force=True)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_program_looks_the_same_as_in_tmux(case: Case, workdir: Path) -> None:
    theirs = run_in_tmux(case, workdir)
    ours = run_in_emulator(case, workdir)
    assert any(row for row in theirs), "tmux showed nothing: the case itself is broken"
    differences = [(y, ours[y], theirs[y]) for y in range(LINES) if ours[y] != theirs[y]]
    assert differences == [], "\n".join(f"row {y}:\n ours: {a!r}\n tmux: {b!r}" for y, a, b in differences)
