"""End-to-end harness shared by bench/throughput and bench/latency: the app as a user runs it.

An *outer* tmux server (private socket) plays the user's terminal: a detached 170x45 session whose
windows run the programs under test. `capture-pane` of the outer window shows what the user would
see, so "the end marker is visible" or "the key's echo is painted" means: the app (or the nested
tmux client) has parsed the child's output, painted it and the outer terminal has drawn that paint.

Windows of the outer server:
  ours    `python -m taskping_tui --config <mail off> -- <command>`, sidebar shown; its pane is
          124x42 at 170x45;
  nested  a tmux client attached to an *inner* server whose window is the same size as our pane,
          i.e. a second terminal emulator that parses and paints into the outer terminal too.
A detached tmux session (its own server, nothing attached) is the bare-emulator reference.

All commands go through one tmux control-mode client per server, so polling costs a pipe write and
not a process start (which would steal CPU from the program being measured on a 2-core machine).
"""

from __future__ import annotations

import os
import select
import shlex
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTER_COLUMNS, OUTER_LINES = 170, 45
COMMAND_TIMEOUT = 20.0
MAIL_OFF_CONFIG = "[notify]\ntoast = false\ndesktop = false\n\n[mail]\nenabled = false\n"


class HarnessError(RuntimeError):
    """A component did not start or answer in time: the run has no valid numbers."""


def isolated_env(home: Path) -> dict[str, str]:
    """An environment whose config, state and runtime dirs all live under `home`."""
    env = {name: os.environ[name] for name in ("PATH", "LANG", "LC_ALL", "TMPDIR") if name in os.environ}
    for name, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_RUNTIME_DIR", "run"),
    ):
        (home / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
        env[name] = str(home / sub)
    env.update(HOME=str(home), TERM="xterm-256color", LANG=env.get("LANG", "C.UTF-8"), PS1="$ ")
    return env


def write_mail_off_config(home: Path) -> Path:
    config = home / "config.toml"
    config.write_text(MAIL_OFF_CONFIG)
    config.chmod(0o600)
    return config


def app_command(config: Path, child: str) -> str:
    """Shell command line that runs the app (from this checkout) with `child` in its pane."""
    return (
        f"cd {shlex.quote(str(ROOT))} && exec {shlex.quote(sys.executable)} -m taskping_tui "
        f"--config {shlex.quote(str(config))} -- {child}"
    )


class TmuxServer:
    """A private tmux server driven through one control-mode client; close() always ends it."""

    def __init__(
        self,
        socket: Path,
        env: dict[str, str],
        session: str,
        columns: int,
        lines: int,
        command: str,
        options: tuple[str, ...] = (),
    ) -> None:
        self.socket = socket
        self.env = env
        self.session = session
        self.proc: subprocess.Popen[bytes] | None = None
        self._buffer = b""  # the last, unfinished line
        self._lines: deque[bytes] = deque()
        conf = socket.with_suffix(".conf")
        conf.write_text(
            "".join(
                f"{option}\n"
                for option in (
                    "set -g status off",
                    "set -g history-limit 10000",
                    "set -g escape-time 0",
                    "set -g default-terminal tmux-256color",
                    f"set -g default-size {columns}x{lines}",
                    *options,
                )
            )
        )
        self._run(
            "-f",
            str(conf),
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            str(columns),
            "-y",
            str(lines),
            "-c",
            str(ROOT),
            command,
        )
        self.proc = subprocess.Popen(
            ["tmux", "-S", str(socket), "-C", "attach", "-f", "no-output", "-t", session],  # never %output
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            bufsize=0,
        )
        try:
            self._wait_until_attached()
        except BaseException:
            self.close()
            raise

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            ["tmux", "-S", str(self.socket), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            raise HarnessError(f"tmux {' '.join(args[:3])}… failed: {result.stderr.strip()}")

    def _readline(self, deadline: float, waiting_for: str) -> bytes:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while not self._lines:  # lines split off once per read: linear in what tmux sends
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HarnessError(f"tmux: no answer to {waiting_for} within {COMMAND_TIMEOUT:g} s")
            readable, _, _ = select.select([fd], [], [], remaining)
            if readable:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise HarnessError(f"tmux: the control client ended while waiting for {waiting_for}")
                *complete, self._buffer = (self._buffer + chunk).split(b"\n")
                self._lines.extend(complete)
        return self._lines.popleft()

    def _wait_until_attached(self) -> None:
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while not self._readline(deadline, "attach").startswith(b"%session-changed"):
            pass

    def command(self, line: str) -> list[str]:
        """Run one tmux command through the control client; its output lines."""
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        deadline = time.monotonic() + COMMAND_TIMEOUT
        block: list[str] | None = None
        while True:
            text = self._readline(deadline, repr(line)).decode(errors="replace")
            if text.startswith("%begin"):
                block = [] if text.split()[-1] == "1" else None
            elif text.startswith(("%end", "%error")):
                if block is not None:
                    if text.startswith("%error"):
                        raise HarnessError(f"tmux: {line!r} failed: {block}")
                    return block
            elif block is not None:
                block.append(text)

    def pin_size(self, columns: int, lines: int) -> None:
        """Keep the window at this size whatever size the clients attached to it are."""
        self.command(f"resize-window -t {self.session} -x {columns} -y {lines}")

    def new_window(self, name: str, command: str) -> None:
        self.command(f"new-window -d -n {name} -c {shlex.quote(str(ROOT))} {shlex.quote(command)}")

    def capture(self, target: str) -> list[str]:
        return self.command(f"capture-pane -p -t {shlex.quote(target)}")

    def send_keys(self, target: str, *keys: str) -> None:
        self.command(f"send-keys -t {shlex.quote(target)} " + " ".join(shlex.quote(key) for key in keys))

    def send_literal(self, target: str, text: str) -> None:
        self.command(f"send-keys -t {shlex.quote(target)} -l {shlex.quote(text)}")

    def pane_pid(self, target: str) -> int:
        return int(self.command(f"display-message -p -t {shlex.quote(target)} '#{{pane_pid}}'")[0])

    def wait_for(self, target: str, text: str, timeout: float, what: str, poll: float = 0.005) -> float:
        """Poll the pane until `text` is on it; seconds waited. HarnessError after `timeout`."""
        started = time.perf_counter()
        while not any(text in line for line in self.capture(target)):
            if time.perf_counter() - started > timeout:
                screen = "\n".join(self.capture(target))
                raise HarnessError(f"{what}: {text!r} not shown within {timeout:g} s; the pane shows:\n{screen}")
            time.sleep(poll)
        return time.perf_counter() - started

    def close(self) -> None:
        subprocess.run(
            ["tmux", "-S", str(self.socket), "kill-server"],
            env=self.env,
            capture_output=True,
            check=False,
            timeout=COMMAND_TIMEOUT,
        )
        if self.proc is not None:
            if self.proc.stdin is not None:
                try:
                    self.proc.stdin.close()
                except OSError:
                    pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc = None


def emulator_pids(app_pid: int) -> list[int]:
    """The app's emulator processes (children running taskping_tui.terminal.emulator)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ppid = int(Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()[1])
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == app_pid and b"taskping_tui.terminal.emulator" in command:
            found.append(int(entry))
    return found
