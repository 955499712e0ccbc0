"""The local hook socket: private, one JSON line per connection, junk dropped, own user only."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
from pathlib import Path

import pytest

from taskping_tui.agent.events import HookEvent
from taskping_tui.agent.hooks import InstanceDir
from taskping_tui.agent.socket_server import HookSocketServer, peer_uid

PERMISSION_REQUEST = {
    "session_id": "s-1",
    "transcript_path": "/t.jsonl",
    "cwd": "/p",
    "permission_mode": "default",
    "hook_event_name": "PermissionRequest",
    "tool_name": "Bash",
    "tool_input": {"command": "touch made_by_tool.txt", "description": "Create a file"},
}


@pytest.fixture
def instance(tmp_path: Path) -> InstanceDir:
    with InstanceDir.create(tmp_path / "run") as created:
        yield created


async def send(path: Path, data: bytes) -> None:
    _reader, writer = await asyncio.open_unix_connection(str(path))
    writer.write(data)
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def settle(server: HookSocketServer, handled: int) -> None:
    for _ in range(200):
        if server.events_received + server.messages_dropped >= handled:
            return
        await asyncio.sleep(0.01)


async def test_socket_is_0600_in_a_0700_dir_and_removed_on_stop(instance: InstanceDir) -> None:
    server = HookSocketServer(instance.socket_path, lambda event: None)
    path = await server.start()
    assert stat.S_ISSOCK(path.stat().st_mode)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    await server.stop()
    assert not path.exists()


async def test_refuses_a_directory_other_users_can_enter(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o755)
    with pytest.raises(PermissionError):
        await HookSocketServer(shared / "hook.sock", lambda event: None).start()


async def test_valid_hook_json_is_parsed_and_delivered(instance: InstanceDir) -> None:
    received: list[HookEvent] = []
    async with HookSocketServer(instance.socket_path, received.append) as server:
        await send(instance.socket_path, json.dumps(PERMISSION_REQUEST).encode() + b"\n")
        await settle(server, 1)
    (event,) = received
    assert event.event == "PermissionRequest"
    assert event.tool_name == "Bash"
    assert event.tool_input == {"command": "touch made_by_tool.txt", "description": "Create a file"}
    assert event.cwd == "/p" and event.session_id == "s-1" and event.raw == PERMISSION_REQUEST


@pytest.mark.parametrize(
    "data",
    [
        b"not json at all\n",
        b"[1, 2, 3]\n",
        b'{"hook_event_name": "NoSuchEvent"}\n',
        b'{"no_event": 1}\n',
        b"\xff\xfe\n",
        b"\n",
    ],
)
async def test_invalid_or_unknown_messages_are_logged_and_dropped(
    instance: InstanceDir, data: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    received: list[HookEvent] = []
    caplog.set_level(logging.WARNING)
    async with HookSocketServer(instance.socket_path, received.append) as server:
        await send(instance.socket_path, data)
        await settle(server, 1)
        assert server.messages_dropped == 1
        # the server keeps serving after junk
        await send(instance.socket_path, json.dumps(PERMISSION_REQUEST).encode() + b"\n")
        await settle(server, 2)
    assert [e.event for e in received] == ["PermissionRequest"]


async def test_oversize_message_is_dropped(instance: InstanceDir, caplog: pytest.LogCaptureFixture) -> None:
    received: list[HookEvent] = []
    caplog.set_level(logging.WARNING)
    async with HookSocketServer(instance.socket_path, received.append, max_message_bytes=1024) as server:
        big = json.dumps({**PERMISSION_REQUEST, "tool_input": {"command": "x" * 5000}}).encode() + b"\n"
        await send(instance.socket_path, big)
        await settle(server, 1)
    assert received == []
    assert server.messages_dropped == 1
    assert "oversize" in caplog.text


async def test_message_without_trailing_newline_is_still_accepted(instance: InstanceDir) -> None:
    received: list[HookEvent] = []
    async with HookSocketServer(instance.socket_path, received.append) as server:
        await send(instance.socket_path, json.dumps(PERMISSION_REQUEST).encode())
        await settle(server, 1)
    assert len(received) == 1


async def test_connections_from_another_uid_are_dropped(
    instance: InstanceDir, caplog: pytest.LogCaptureFixture
) -> None:
    received: list[HookEvent] = []
    caplog.set_level(logging.WARNING)
    # Pretend the app runs as another user: our own connection then has the "wrong" peer uid.
    async with HookSocketServer(instance.socket_path, received.append, allowed_uid=os.getuid() + 1) as server:
        await send(instance.socket_path, json.dumps(PERMISSION_REQUEST).encode() + b"\n")
        await settle(server, 1)
    assert received == []
    assert "uid" in caplog.text


async def test_peer_uid_is_read_from_the_kernel(instance: InstanceDir) -> None:
    seen: list[int | None] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(peer_uid(writer.get_extra_info("socket")))
        writer.close()

    server = await asyncio.start_unix_server(handler, path=str(instance.socket_path))
    async with server:
        await send(instance.socket_path, b"x")
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
    assert seen == [os.getuid()]


async def test_a_failing_handler_does_not_stop_the_server(instance: InstanceDir) -> None:
    calls: list[str] = []

    def flaky(event: HookEvent) -> None:
        calls.append(event.event)
        if len(calls) == 1:
            raise RuntimeError("boom")

    async with HookSocketServer(instance.socket_path, flaky) as server:
        for _ in range(2):
            await send(instance.socket_path, json.dumps(PERMISSION_REQUEST).encode() + b"\n")
        await settle(server, 2)
    assert calls == ["PermissionRequest", "PermissionRequest"]


async def test_silent_client_is_dropped_after_the_read_timeout(
    instance: InstanceDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("taskping_tui.agent.socket_server.READ_TIMEOUT_SECONDS", 0.2)
    async with HookSocketServer(instance.socket_path, lambda event: None) as server:
        _reader, writer = await asyncio.open_unix_connection(str(instance.socket_path))
        await settle(server, 1)
        assert server.messages_dropped == 1
        writer.close()
