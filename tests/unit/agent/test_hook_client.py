"""`taskping-tui hook`: forwards a hook's JSON to the app, and never stalls or breaks Claude Code."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from taskping_tui.agent.events import HookEvent
from taskping_tui.agent.hook_client import as_one_line, socket_path_from_args
from taskping_tui.agent.hooks import InstanceDir
from taskping_tui.agent.socket_server import HookSocketServer

STOP_PAYLOAD = {
    "session_id": "3c36439f-c878-476a-bea5-eb09c398698f",
    "transcript_path": "/home/u/.claude/projects/p/3c36439f.jsonl",
    "cwd": "/home/u/p",
    "hook_event_name": "Stop",
    "stop_hook_active": False,
    "last_assistant_message": "Done.\nAll tests pass.",
}
CLIENT = [sys.executable, "-m", "taskping_tui.agent.hook_client"]


def run_client(
    socket_path: Path | str, stdin: bytes, timeout: float = 5.0
) -> tuple[subprocess.CompletedProcess[bytes], float]:
    started = time.monotonic()
    result = subprocess.run(
        [*CLIENT, "--socket", str(socket_path)], input=stdin, capture_output=True, timeout=timeout, check=False
    )
    return result, time.monotonic() - started


def test_app_gone_socket_missing_exits_zero_fast_and_silent(tmp_path: Path) -> None:
    result, elapsed = run_client(tmp_path / "nothing.sock", json.dumps(STOP_PAYLOAD).encode())
    assert result.returncode == 0
    assert result.stdout == b"" and result.stderr == b""
    assert elapsed < 1.0


def test_stale_socket_file_with_no_listener_exits_zero_fast(tmp_path: Path) -> None:
    path = tmp_path / "stale.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()  # the file stays, nobody listens: connect is refused
    result, elapsed = run_client(path, json.dumps(STOP_PAYLOAD).encode())
    assert result.returncode == 0 and result.stdout == b"" and elapsed < 1.0


def test_app_hung_not_reading_does_not_hold_the_hook(tmp_path: Path) -> None:
    path = tmp_path / "hung.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen(1)  # accepts into the backlog but never reads
    try:
        big = json.dumps({**STOP_PAYLOAD, "last_assistant_message": "x" * 3_000_000}).encode()
        result, elapsed = run_client(path, big)
    finally:
        listener.close()
    assert result.returncode == 0 and result.stdout == b""
    assert elapsed < 1.0


def test_stdin_that_never_closes_does_not_hold_the_hook(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    started = time.monotonic()
    process = subprocess.Popen(
        [*CLIENT, "--socket", str(tmp_path / "x.sock")], stdin=read_end, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    os.close(read_end)
    try:
        os.write(write_end, b'{"hook_event_name": "Stop"')
        out, err = process.communicate(timeout=5)
    finally:
        os.close(write_end)
    assert process.returncode == 0 and out == b"" and err == b""
    assert time.monotonic() - started < 1.0


def test_bad_arguments_still_exit_zero() -> None:
    result = subprocess.run([*CLIENT, "--bogus"], input=b"{}", capture_output=True, timeout=5, check=False)
    assert result.returncode == 0 and result.stdout == b""


async def test_valid_payload_reaches_the_app_as_one_event(tmp_path: Path) -> None:
    received: list[HookEvent] = []
    with InstanceDir.create(tmp_path / "run") as instance:
        async with HookSocketServer(instance.socket_path, received.append):
            pretty = json.dumps(STOP_PAYLOAD, indent=2).encode()  # multi-line on purpose
            process = await asyncio.create_subprocess_exec(
                *CLIENT,
                "hook",
                "--socket",
                str(instance.socket_path),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            stdout, _ = await process.communicate(pretty)
            assert process.returncode == 0 and stdout == b""
            for _ in range(100):
                if received:
                    break
                await asyncio.sleep(0.01)
    assert len(received) == 1
    event = received[0]
    assert event.event == "Stop"
    assert event.last_assistant_message == "Done.\nAll tests pass."
    assert event.session_id == STOP_PAYLOAD["session_id"]
    assert event.stop_hook_active is False


def test_socket_path_comes_from_flag_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert socket_path_from_args(["hook", "--socket", "/a.sock"]) == "/a.sock"
    assert socket_path_from_args(["--socket=/b.sock"]) == "/b.sock"
    monkeypatch.setenv("TASKPING_HOOK_SOCKET", "/c.sock")
    assert socket_path_from_args([]) == "/c.sock"


def test_payload_is_flattened_to_a_single_line_without_changing_its_meaning() -> None:
    pretty = json.dumps({"a": "line1\nline2", "b": [1, 2]}, indent=2).encode()
    line = as_one_line(pretty)
    assert line.count(b"\n") == 1 and line.endswith(b"\n")
    assert json.loads(line) == {"a": "line1\nline2", "b": [1, 2]}
