"""The local Unix socket the hooks report to: one JSON line per connection, own user only."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import struct
from collections.abc import Callable
from pathlib import Path

from taskping_tui.agent.events import HookEvent, parse_hook_event
from taskping_tui.agent.hook_client import MAX_PAYLOAD_BYTES

logger = logging.getLogger(__name__)

# A client that connects and then says nothing is dropped after this long.
READ_TIMEOUT_SECONDS = 2.0
_PEERCRED_FORMAT = "3i"  # struct ucred { pid_t pid; uid_t uid; gid_t gid; }

HookCallback = Callable[[HookEvent], None]


def peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process at the other end of a Unix socket, or None where the OS cannot tell us."""
    so_peercred = getattr(socket, "SO_PEERCRED", None)
    if so_peercred is None:
        return None
    raw = sock.getsockopt(socket.SOL_SOCKET, so_peercred, struct.calcsize(_PEERCRED_FORMAT))
    _pid, uid, _gid = struct.unpack(_PEERCRED_FORMAT, raw)
    return int(uid)


def decode_hook_line(line: bytes) -> HookEvent | None:
    """Parse one line into a HookEvent; None (with a log line, never the payload) when it is not one."""
    try:
        payload = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        logger.warning("dropped a hook message that is not JSON (%d bytes): %s", len(line), exc)
        return None
    event = parse_hook_event(payload)
    if event is None:
        name = payload.get("hook_event_name") if isinstance(payload, dict) else None
        logger.warning("dropped a hook message with unknown event %r", name)
    return event


class HookSocketServer:
    """asyncio Unix socket server delivering each valid hook event to ``on_event``.

    ``socket_path`` must sit in a private (0700) directory, e.g. ``InstanceDir.socket_path``.
    """

    def __init__(
        self,
        socket_path: Path,
        on_event: HookCallback,
        *,
        max_message_bytes: int = MAX_PAYLOAD_BYTES,
        allowed_uid: int | None = None,
    ) -> None:
        self.socket_path = socket_path
        self.on_event = on_event
        self.max_message_bytes = max_message_bytes
        self.allowed_uid = os.getuid() if allowed_uid is None else allowed_uid
        self.events_received = 0
        self.messages_dropped = 0
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._closing = False

    async def start(self) -> Path:
        directory = self.socket_path.parent
        if directory.stat().st_mode & 0o077:
            raise PermissionError(f"{directory} is open to other users; the hook socket needs a 0700 dir")
        self.socket_path.unlink(missing_ok=True)
        self._closing = False
        old_umask = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(
                self._handle_connection, path=str(self.socket_path), limit=self.max_message_bytes + 1
            )
        finally:
            os.umask(old_umask)
        os.chmod(self.socket_path, 0o600)
        logger.info("hook socket listening at %s", self.socket_path)
        return self.socket_path

    async def stop(self) -> None:
        if self._server is None:
            return
        self._closing = True
        self._server.close()
        for writer in list(self._writers):
            writer.close()  # a half-sent message: its reader sees EOF and the handler returns on its own
        if self._handlers:
            await asyncio.wait(list(self._handlers), timeout=1.0)
        await self._server.wait_closed()
        self._server = None
        self.socket_path.unlink(missing_ok=True)

    @property
    def is_serving(self) -> bool:
        return self._server is not None and self._server.is_serving()

    async def __aenter__(self) -> HookSocketServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _handle_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            if not self._peer_allowed(writer):
                self.messages_dropped += 1
                return
            line = await self._read_one_line(reader)
            if line is None:
                self.messages_dropped += 1
                return
            event = decode_hook_line(line)
            if event is None:
                self.messages_dropped += 1
                return
            if self._closing:
                return  # a message cut short by shutdown
            self.events_received += 1
            self._deliver(event)
        finally:
            self._writers.discard(writer)
            if task is not None:
                self._handlers.discard(task)
            writer.close()

    def _peer_allowed(self, writer: asyncio.StreamWriter) -> bool:
        sock = writer.get_extra_info("socket")
        uid = peer_uid(sock) if sock is not None else None
        if uid is None:
            # No SO_PEERCRED here (not Linux): the 0700 directory is what keeps others out.
            return True
        if uid != self.allowed_uid:
            logger.warning("dropped a hook connection from uid %d (expected %d)", uid, self.allowed_uid)
            return False
        return True

    async def _read_one_line(self, reader: asyncio.StreamReader) -> bytes | None:
        try:
            async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            line = exc.partial  # the client closed without a newline: take what it sent
        except asyncio.LimitOverrunError:
            logger.warning("dropped an oversize hook message (> %d bytes)", self.max_message_bytes)
            return None
        except (TimeoutError, ConnectionError) as exc:
            logger.warning("dropped a hook connection that sent no complete message: %r", exc)
            return None
        if len(line) > self.max_message_bytes:
            logger.warning("dropped an oversize hook message (%d bytes)", len(line))
            return None
        return line if line.strip() else None

    def _deliver(self, event: HookEvent) -> None:
        try:
            self.on_event(event)
        except Exception:
            logger.exception("hook event handler failed on %s", event.event)
