"""A child program on a pseudo-terminal, driven from the asyncio loop without threads.

ptyprocess does the fork/exec (with exec errors reported back); everything after that — reading,
writing, resizing, exit detection and termination — is done here on the raw master fd so that
nothing ever blocks the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ptyprocess import PtyProcess

from taskping_tui.terminal.ptyio import read_available

logger = logging.getLogger(__name__)

#: Most bytes taken from the PTY per loop turn: the session's slice. The session pauses reading at its
#: own threshold, so what waits unparsed -- ahead of the echo of a key typed during a flood -- stays
#: below that threshold plus one read (64 KiB reads let 80 KiB queue up: 15-20 ms more echo latency).
READ_CHUNK = 16 * 1024
EXIT_POLL_INTERVAL = 0.05  # only used where pidfd_open is unavailable
KILL_WAIT = 1.0  # how long SIGKILLed processes get to disappear

TERMINAL_ENV: dict[str, str] = {"TERM": "xterm-256color", "COLORTERM": "truecolor"}


class CommandNotFoundError(Exception):
    """The program to run is not on PATH (or not executable)."""

    def __init__(self, command: str) -> None:
        super().__init__(f"command not found: {command}")
        self.command = command


@dataclass(frozen=True, slots=True)
class ExitStatus:
    """How the child ended: an exit code, or the signal that killed it."""

    code: int | None
    signal: int | None

    @classmethod
    def from_wait_status(cls, status: int) -> ExitStatus:
        if os.WIFSIGNALED(status):
            return cls(code=None, signal=os.WTERMSIG(status))
        return cls(code=os.waitstatus_to_exitcode(status), signal=None)

    def describe(self) -> str:
        if self.signal is not None:
            try:
                name = signal.Signals(self.signal).name
            except ValueError:
                name = f"signal {self.signal}"
            return f"killed by {name}"
        return f"exited with status {self.code}"


def build_child_env(extra: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """The inherited environment plus the terminal type we emulate, plus the caller's extras.

    An extra whose value is None removes that variable (secrets the child must not inherit).
    """
    env = dict(os.environ)
    env.update(TERMINAL_ENV)
    for name, value in (extra or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def resolve_command(command: str, env: Mapping[str, str]) -> str:
    """Full path of `command` searched on the child's PATH; raises CommandNotFoundError."""
    found = shutil.which(command, path=env.get("PATH", os.defpath))
    if found is None:
        raise CommandNotFoundError(command)
    return found


def _read_stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state is index 0), or None if gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()


def session_members(session_id: int) -> list[tuple[int, int]]:
    """(pid, pgid) of every live process whose session is `session_id` (the child is its leader)."""
    members: list[tuple[int, int]] = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return members
    for entry in entries:
        if not entry.isdigit():
            continue
        fields = _read_stat_fields(int(entry))
        # fields: state ppid pgrp session ...
        if fields is None or len(fields) < 4 or fields[0] == "Z":
            continue
        if int(fields[3]) == session_id:
            members.append((int(entry), int(fields[2])))
    return members


def process_is_running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    fields = _read_stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def _signal_quietly(send: Callable[[int, int], None], target: int, sig: int) -> None:
    try:
        send(target, sig)
    except (ProcessLookupError, PermissionError):
        pass


class ChildProcess:
    """One program running on a PTY whose master fd is serviced by the asyncio loop.

    Callbacks: `on_data(bytes)` for each read (≤ 64 KiB), `on_exit(ExitStatus)` exactly once after the
    child has ended and its remaining output was delivered. With `read_output=False` another
    process reads the master (see :attr:`fd`) and `on_data` is not called until :meth:`take_output`.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        on_data: Callable[[bytes], None],
        on_exit: Callable[[ExitStatus], None],
        rows: int = 24,
        cols: int = 80,
        env: Mapping[str, str | None] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        read_output: bool = True,
    ) -> None:
        if not argv:
            raise ValueError("argv must name a program")
        self.argv: list[str] = list(argv)
        self._on_data = on_data
        self._on_exit = on_exit
        self._rows, self._cols = max(1, rows), max(1, cols)
        self._env = build_child_env(env)
        self._cwd = os.fspath(cwd) if cwd is not None else None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pty: PtyProcess | None = None
        self._fd = -1
        self._pidfd = -1
        self._exit_poll: asyncio.TimerHandle | None = None
        self._read_output = read_output
        self._reading = False
        self._read_paused = False
        self._eof = False
        self._drained = True
        self._pending: deque[memoryview] = deque()
        self._writer_registered = False
        self.exit_status: ExitStatus | None = None
        self._exit_event = asyncio.Event()

    # ----------------------------------------------------------------- start
    def start(self) -> int:
        """Spawn the child; returns its pid. Raises CommandNotFoundError if argv[0] is not found."""
        if self._pty is not None:
            raise RuntimeError("already started")
        self._loop = asyncio.get_running_loop()
        program = resolve_command(self.argv[0], self._env)
        try:
            self._pty = PtyProcess.spawn(
                [program, *self.argv[1:]],
                cwd=self._cwd,
                env=self._env,
                dimensions=(self._rows, self._cols),
            )
        except FileNotFoundError as error:
            raise CommandNotFoundError(self.argv[0]) from error
        except PermissionError as error:
            raise CommandNotFoundError(self.argv[0]) from error
        # We reap and close ourselves; ptyprocess' own close() sleeps in the caller's thread.
        self._pty.delayafterclose = 0
        self._pty.delayafterterminate = 0
        self._fd = self._pty.fd
        os.set_blocking(self._fd, False)
        self._start_reading()
        self._watch_exit()
        logger.info("started %s as pid %d (%dx%d)", self.argv[0], self._pty.pid, self._cols, self._rows)
        return int(self._pty.pid)

    @property
    def pid(self) -> int | None:
        return self._pty.pid if self._pty is not None else None

    @property
    def fd(self) -> int:
        """The PTY master (-1 before start and after the end)."""
        return self._fd

    def take_output(self) -> None:
        """Read the child's output here from now on (the process that did is gone)."""
        self._read_output = True
        self._start_reading()

    @property
    def running(self) -> bool:
        return self._pty is not None and self.exit_status is None

    @property
    def size(self) -> tuple[int, int]:
        """(rows, cols) of the PTY."""
        return self._rows, self._cols

    # ----------------------------------------------------------------- reading
    def _on_readable(self) -> None:
        # Collecting up to READ_CHUNK per loop turn keeps the per-turn overhead low when the child writes a lot.
        output = read_available(self._fd, READ_CHUNK)
        self._drained = output.drained
        if output.data:
            self._on_data(output.data)
        if output.ended:
            self._on_eof()

    def _on_eof(self) -> None:
        self._eof = True
        self._stop_reading()

    def _stop_reading(self) -> None:
        if self._reading and self._loop is not None:
            self._loop.remove_reader(self._fd)
        self._reading = False

    def pause_reading(self) -> None:
        """Stop taking output from the child (backpressure); the kernel buffer then blocks its writes."""
        if self._read_paused:
            return
        self._read_paused = True
        self._stop_reading()

    def resume_reading(self) -> None:
        if not self._read_paused:
            return
        self._read_paused = False
        self._start_reading()

    def _start_reading(self) -> None:
        if self._read_paused or self._reading or not self._read_output or self._eof:
            return
        if self._loop is not None and self._fd >= 0:
            self._loop.add_reader(self._fd, self._on_readable)
            self._reading = True

    @property
    def reading_paused(self) -> bool:
        return self._read_paused

    @property
    def drained(self) -> bool:
        """Whether the last read emptied the kernel's buffer (the child wrote no more than that)."""
        return self._drained or self._eof

    def _drain_output(self) -> None:
        """Deliver what the child wrote before it ended (bounded by the kernel's PTY buffer)."""
        while self._fd >= 0 and not self._eof and self._read_output:
            try:
                data = os.read(self._fd, READ_CHUNK)
            except BlockingIOError:
                return
            except OSError:
                self._eof = True
                return
            if not data:
                self._eof = True
                return
            self._on_data(data)

    # ----------------------------------------------------------------- writing
    def write(self, data: bytes) -> None:
        """Queue bytes for the child's input; never blocks, keeps order across partial writes."""
        if not data:
            return
        if self._fd < 0 or self.exit_status is not None:
            logger.debug("dropping %d bytes written after the child ended", len(data))
            return
        if self._pending:
            self._pending.append(memoryview(bytes(data)))
            return
        try:
            written = os.write(self._fd, data)
        except BlockingIOError:
            written = 0
        except OSError as error:
            logger.warning("writing to the child's terminal failed: %s", error)
            return
        if written < len(data):
            self._pending.append(memoryview(bytes(data))[written:])
            self._register_writer()

    @property
    def pending_output(self) -> int:
        """Bytes accepted by write() that the child has not taken yet."""
        return sum(len(chunk) for chunk in self._pending)

    def _register_writer(self) -> None:
        if not self._writer_registered and self._loop is not None:
            self._loop.add_writer(self._fd, self._on_writable)
            self._writer_registered = True

    def _unregister_writer(self) -> None:
        if self._writer_registered and self._loop is not None:
            self._loop.remove_writer(self._fd)
        self._writer_registered = False

    def _on_writable(self) -> None:
        while self._pending:
            chunk = self._pending[0]
            try:
                written = os.write(self._fd, chunk)
            except BlockingIOError:
                return
            except OSError as error:
                logger.warning("writing to the child's terminal failed: %s", error)
                self._pending.clear()
                break
            if written < len(chunk):
                self._pending[0] = chunk[written:]
                return
            self._pending.popleft()
        self._unregister_writer()

    # ----------------------------------------------------------------- resize
    def resize(self, rows: int, cols: int) -> None:
        """Set the PTY window size; the kernel sends SIGWINCH to the child's foreground group."""
        rows, cols = max(1, rows), max(1, cols)
        if (rows, cols) == (self._rows, self._cols):
            return
        self._rows, self._cols = rows, cols
        if self._pty is not None and self._fd >= 0 and self.exit_status is None:
            try:
                self._pty.setwinsize(rows, cols)
            except OSError as error:
                logger.debug("resize after the child ended: %s", error)

    # ----------------------------------------------------------------- exit
    def _watch_exit(self) -> None:
        assert self._loop is not None and self._pty is not None
        try:
            self._pidfd = os.pidfd_open(self._pty.pid)
        except (AttributeError, OSError):
            self._pidfd = -1
        if self._pidfd >= 0:
            self._loop.add_reader(self._pidfd, self._check_exit)
        else:
            self._exit_poll = self._loop.call_later(EXIT_POLL_INTERVAL, self._poll_exit)

    def _poll_exit(self) -> None:
        self._exit_poll = None
        if not self._check_exit() and self._loop is not None:
            self._exit_poll = self._loop.call_later(EXIT_POLL_INTERVAL, self._poll_exit)

    def _check_exit(self) -> bool:
        """Reap the child if it ended; returns True once it has."""
        if self._pty is None or self.exit_status is not None:
            return True
        try:
            pid, status = os.waitpid(self._pty.pid, os.WNOHANG)
        except ChildProcessError:
            pid, status = self._pty.pid, 0
        if pid == 0:
            return False
        self._finish(ExitStatus.from_wait_status(status))
        return True

    def _finish(self, status: ExitStatus) -> None:
        self.exit_status = status
        self._drain_output()
        self._close_fds()
        logger.info("child %d %s", self.pid, status.describe())
        self._exit_event.set()
        try:
            self._on_exit(status)
        except Exception:
            logger.exception("exit callback failed")

    def _close_fds(self) -> None:
        self._stop_reading()
        self._unregister_writer()
        self._pending.clear()
        if self._exit_poll is not None:
            self._exit_poll.cancel()
            self._exit_poll = None
        if self._pidfd >= 0:
            if self._loop is not None:
                self._loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = -1
        if self._pty is not None and self._fd >= 0:
            # Closing the master hangs up the terminal, as closing a terminal window does:
            # background jobs still attached to it get SIGHUP from the kernel.
            self._pty.fileobj.close()
            self._pty.closed = True
            self._fd = -1

    async def wait(self) -> ExitStatus:
        """Wait until the child has ended."""
        await self._exit_event.wait()
        assert self.exit_status is not None
        return self.exit_status

    async def terminate(self, grace: float = 1.0) -> ExitStatus | None:
        """End the child and everything it started on this terminal: SIGHUP, then SIGKILL after `grace`.

        Background jobs of a shell live in their own process groups of the same session, so every
        group of the session is signalled, not only the child's. Returns the child's exit status
        (None if it was never started).
        """
        if self._pty is None:
            return None
        session_id = self._pty.pid
        if self.exit_status is None or session_members(session_id):
            self._signal_session(session_id, signal.SIGHUP)
            await self._wait_session_gone(session_id, grace)
        if session_members(session_id):
            logger.info("processes of session %d ignored SIGHUP for %.1fs, killing them", session_id, grace)
            self._signal_session(session_id, signal.SIGKILL)
            await self._wait_session_gone(session_id, KILL_WAIT)
        if self.exit_status is None:
            await self._reap_after_kill()
        return self.exit_status

    async def _wait_session_gone(self, session_id: int, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            self._check_exit()
            if self.exit_status is not None and not session_members(session_id):
                return
            await asyncio.sleep(0.02)

    def _signal_session(self, session_id: int, sig: int) -> None:
        """Signal the child's process group and every other group in its session (background jobs)."""
        groups = {session_id} | {pgid for _pid, pgid in session_members(session_id)}
        for pgid in groups:
            _signal_quietly(os.killpg, pgid, sig)
            if sig == signal.SIGHUP:
                _signal_quietly(os.killpg, pgid, signal.SIGCONT)  # stopped jobs must wake to die
        for pid, _pgid in session_members(session_id):
            _signal_quietly(os.kill, pid, sig)  # members that moved to a group outside the scan

    async def _reap_after_kill(self) -> None:
        for _attempt in range(100):
            if self._check_exit():
                return
            await asyncio.sleep(0.01)
        logger.warning("child %s did not die after SIGKILL", self.pid)
