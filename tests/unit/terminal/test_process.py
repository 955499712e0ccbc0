"""ChildProcess: a real program on a PTY, driven by the asyncio loop."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from taskping_tui.terminal.process import (
    ChildProcess,
    CommandNotFoundError,
    ExitStatus,
    process_is_running,
)


class Child:
    """A ChildProcess plus everything it reported, with small waiting helpers."""

    def __init__(self, argv: list[str], **kwargs: object) -> None:
        self.output = bytearray()
        self.exits: list[ExitStatus] = []
        self.output_at_exit = b""
        self.process = ChildProcess(argv, on_data=self.output.extend, on_exit=self._exited, **kwargs)  # type: ignore[arg-type]

    def _exited(self, status: ExitStatus) -> None:
        self.exits.append(status)
        self.output_at_exit = bytes(self.output)

    @property
    def text(self) -> str:
        return self.output.decode(errors="replace")

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; output so far: {self.text!r}")
            await asyncio.sleep(0.01)

    async def wait_for_text(self, needle: str, timeout: float = 5.0) -> None:
        await self.wait_until(lambda: needle in self.text, timeout)


async def test_typed_text_is_echoed_and_ctrl_d_ends_cat_with_status_0() -> None:
    child = Child(["cat"])
    pid = child.process.start()
    assert pid > 0 and child.process.running
    child.process.write(b"hello pane\r")
    await child.wait_for_text("hello pane\r\nhello pane")
    child.process.write(b"\x04")
    status = await asyncio.wait_for(child.process.wait(), 5)
    assert status == ExitStatus(code=0, signal=None)
    assert child.exits == [status]
    assert not child.process.running


async def test_child_sees_terminal_type_truecolor_and_extra_env(tmp_path: Path) -> None:
    child = Child(
        ["sh", "-c", 'echo "T=$TERM C=$COLORTERM X=$EXTRA_VAR D=$(pwd)"'],
        env={"EXTRA_VAR": "42"},
        cwd=tmp_path,
    )
    child.process.start()
    await child.process.wait()
    assert f"T=xterm-256color C=truecolor X=42 D={tmp_path}" in child.output_at_exit.decode()


async def test_resize_reaches_child_as_sigwinch_and_stty_size() -> None:
    script = 'trap \'echo "winch $(stty size)"\' WINCH; echo "start $(stty size)"; while :; do sleep 0.02; done'
    child = Child(["bash", "--norc", "--noprofile", "-c", script], rows=24, cols=80)
    child.process.start()
    await child.wait_for_text("start 24 80")
    child.process.resize(31, 101)
    await child.wait_for_text("winch 31 101")
    assert child.process.size == (31, 101)
    await child.process.terminate(grace=0.5)


async def test_exit_code_and_signal_are_reported_once() -> None:
    exited = Child(["sh", "-c", "exit 3"])
    exited.process.start()
    assert await exited.process.wait() == ExitStatus(code=3, signal=None)

    killed = Child(["sh", "-c", "kill -TERM $$"])
    killed.process.start()
    status = await killed.process.wait()
    assert status == ExitStatus(code=None, signal=signal.SIGTERM)
    assert status.describe() == "killed by SIGTERM"
    await asyncio.sleep(0.05)
    assert len(exited.exits) == 1 and len(killed.exits) == 1


async def test_all_output_written_before_exit_is_delivered_before_the_exit_callback() -> None:
    child = Child(["sh", "-c", "seq 1 3000"])
    child.process.start()
    await child.process.wait()
    assert child.output_at_exit.split()[-1] == b"3000"


async def test_unknown_command_raises_a_clear_error() -> None:
    child = Child(["taskping-no-such-program-xyz", "--flag"])
    with pytest.raises(CommandNotFoundError) as info:
        child.process.start()
    assert info.value.command == "taskping-no-such-program-xyz"
    assert "command not found" in str(info.value)
    assert child.process.pid is None


async def test_large_write_never_blocks_and_arrives_complete_in_order(tmp_path: Path) -> None:
    target = tmp_path / "received"
    payload = b"".join(b"%07d|" % i for i in range(60_000))  # 480 KB, far beyond the PTY buffer
    child = Child(["sh", "-c", f"stty raw -echo; head -c {len(payload)} > {target}; echo done"])
    child.process.start()
    await asyncio.sleep(0.2)  # let stty apply before the bytes arrive
    started = time.monotonic()
    for start in range(0, len(payload), 100_000):
        child.process.write(payload[start : start + 100_000])
    assert time.monotonic() - started < 0.1
    assert child.process.pending_output > 0
    await child.process.wait()
    assert target.read_bytes() == payload
    assert child.process.pending_output == 0


async def test_terminate_ends_the_whole_session_including_background_jobs() -> None:
    # `set -m` puts the background sleep in its own process group, like an interactive shell's job;
    # the second one also ignores SIGHUP and must be killed after the grace period.
    script = "set -m; sleep 1000 & echo bg=$!; (trap '' HUP; exec sleep 1001) & echo hup=$!; wait"
    child = Child(["bash", "--norc", "--noprofile", "-c", script])
    pid = child.process.start()
    await child.wait_for_text("hup=")
    await child.wait_until(lambda: "\n" in child.text.split("hup=", 1)[1])
    background = int(child.text.split("bg=", 1)[1].split()[0])
    ignores_hup = int(child.text.split("hup=", 1)[1].split()[0])
    assert all(process_is_running(p) for p in (pid, background, ignores_hup))
    assert os.getpgid(background) != os.getpgid(pid)

    started = time.monotonic()
    status = await child.process.terminate(grace=0.3)
    assert time.monotonic() - started < 2.0
    assert status is not None and status.signal == signal.SIGHUP
    for p in (pid, background, ignores_hup):
        assert not process_is_running(p), f"process {p} survived"


async def test_terminate_after_natural_exit_is_harmless() -> None:
    child = Child(["true"])
    child.process.start()
    await child.process.wait()
    assert await child.process.terminate(grace=0.2) == ExitStatus(code=0, signal=None)
    child.process.write(b"ignored after exit")
    assert len(child.exits) == 1
