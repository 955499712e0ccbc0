"""A thin, fail-fast layer over one aioimaplib 2.0.3 connection.

aioimaplib leaves a command waiting forever when the connection dies under it (kick, BYE, silent
drop), and a few of its calls (UID STORE, UID FETCH, IDLE start) have no overall timeout at all.
Every call here is therefore raced against the connection-lost callback and a deadline; either one
turns into :class:`ConnectionDead`, after which the session is useless and the caller builds a new one.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import ssl
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

import aioimaplib

logger = logging.getLogger(__name__)

T = TypeVar("T")

_UIDVALIDITY_RE = re.compile(rb"\[UIDVALIDITY (\d+)\]", re.IGNORECASE)
_UIDNEXT_RE = re.compile(rb"\[UIDNEXT (\d+)\]", re.IGNORECASE)
_EXISTS_RE = re.compile(rb"^(\d+) EXISTS", re.IGNORECASE)
_FETCH_UID_RE = re.compile(rb"\bUID (\d+)", re.IGNORECASE)
_FETCH_SIZE_RE = re.compile(rb"\bRFC822\.SIZE (\d+)", re.IGNORECASE)
_FETCH_BODY_RE = re.compile(rb"\bBODY\[\] \{(\d+)\}$", re.IGNORECASE)
_ATOM_SPECIALS_RE = re.compile(r'[\s(){%*"\\\]]')

# Slowest transfer rate we still wait for when downloading a mail body, on top of the response timeout.
MIN_BODY_BYTES_PER_SECOND = 16_384


class ImapError(Exception):
    """Base class for everything this module raises."""


class ConnectionDead(ImapError):
    """The connection is gone or silent; build a new session."""


class ImapRefused(ImapError):
    """The server answered NO or BAD to a command the watcher cannot do without."""


class LoginRefused(ImapRefused):
    """The server refused the credentials."""


@dataclass(frozen=True)
class SelectedMailbox:
    """What SELECT told us about the mailbox."""

    uidvalidity: int
    uidnext: int | None
    exists: int


@dataclass(frozen=True)
class IdleResult:
    """How one IDLE round ended: with server pushes worth a re-sync, or quietly (timeout / keepalive only)."""

    pushes: tuple[bytes, ...]

    @property
    def has_news(self) -> bool:
        return bool(self.pushes)


def encode_mailbox_name(name: str) -> str:
    """Mailbox name as an IMAP argument: modified UTF-7 (RFC 3501 §5.1.3), quoted when needed."""
    encoded: list[str] = []
    pending: list[str] = []

    def flush_pending() -> None:
        if pending:
            utf16 = "".join(pending).encode("utf-16-be")
            encoded.append("&" + base64.b64encode(utf16).decode("ascii").rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush_pending()
            encoded.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush_pending()
    text = "".join(encoded)
    return aioimaplib.quoted(text) if _ATOM_SPECIALS_RE.search(text) or not text else text


def quote_if_needed(value: str) -> str:
    """An astring argument: bare when it is a plain atom, quoted otherwise (e.g. a login with a space)."""
    return aioimaplib.quoted(value) if _ATOM_SPECIALS_RE.search(value) or not value else value


def _is_keepalive(line: bytes) -> bool:
    """`* OK Still here` and similar: proof of life, no news."""
    return line.upper().startswith(b"OK")


def _is_bye(line: bytes) -> bool:
    return line.upper().startswith(b"BYE")


def _text_lines(lines: list[Any]) -> list[bytes]:
    return [bytes(line) for line in lines if isinstance(line, (bytes, bytearray))]


def _describe(response: Any) -> str:
    lines = _text_lines(list(getattr(response, "lines", []) or []))
    text = lines[-1].decode("utf-8", "replace") if lines else ""
    return f"{getattr(response, 'result', '?')} {text}".strip()


class ImapSession:
    """One IMAP connection. Not reusable: after any ConnectionDead, close it and make a new one."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext | None,
        response_timeout: float,
    ) -> None:
        self.host = host
        self.port = port
        self._ssl_context = ssl_context
        self._response_timeout = response_timeout
        self._client: aioimaplib.IMAP4 | None = None
        self._lost: asyncio.Future[None] | None = None
        self._lost_reason = ""
        self._closed = False
        self._failed = False

    # -- connection -------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open TCP (and TLS) and wait for the server greeting."""
        loop = asyncio.get_running_loop()
        self._lost = loop.create_future()
        self._client = aioimaplib.IMAP4(
            host=self.host,
            port=self.port,
            timeout=self._response_timeout,
            conn_lost_cb=self._on_connection_lost,
            ssl_context=self._ssl_context,
        )
        try:
            await self._guard(self._client.wait_hello_from_server(), "the server greeting")
        except (OSError, ssl.SSLError) as error:
            raise self._dead(f"cannot connect to {self.host}:{self.port}: {error}") from error
        except aioimaplib.AioImapException as error:
            raise self._dead(f"bad greeting from {self.host}:{self.port}: {error}") from error

    def _on_connection_lost(self, error: Exception | None) -> None:
        self._lost_reason = (
            f"connection closed by the server or network ({error})" if error else ("connection closed by the server")
        )
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)

    @property
    def is_dead(self) -> bool:
        return self._closed or self._failed or (self._lost is not None and self._lost.done())

    def _dead(self, reason: str) -> ConnectionDead:
        """Mark this session unusable (no LOGOUT attempt on close: the link is gone) and describe why."""
        self._failed = True
        return ConnectionDead(reason)

    @property
    def client(self) -> aioimaplib.IMAP4:
        if self._client is None:
            raise self._dead("not connected")
        return self._client

    def has_capability(self, name: str) -> bool:
        return self._client is not None and self._client.has_capability(name)

    async def _guard(self, awaitable: Awaitable[T], what: str, timeout: float | None = -1.0) -> T:
        """Await ``awaitable`` unless the connection dies or ``timeout`` passes first (-1: the default)."""
        if self._lost is None:
            raise self._dead("not connected")
        if self._lost.done():
            raise self._dead(self._lost_reason)
        limit = self._response_timeout if timeout == -1.0 else timeout
        task: asyncio.Future[T] = asyncio.ensure_future(awaitable)
        try:
            waiting: set[asyncio.Future[Any]] = {task, self._lost}
            done, _ = await asyncio.wait(waiting, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if task in done:
            return task.result()
        task.cancel()
        if self._lost.done():
            raise self._dead(f"{self._lost_reason} while waiting for {what}")
        raise self._dead(f"no answer to {what} within {limit:g} s")

    async def _command(self, awaitable: Awaitable[Any], what: str, timeout: float | None = -1.0) -> Any:
        """A command whose NO/BAD answer is an error; aioimaplib timeouts count as a dead connection."""
        try:
            response = await self._guard(awaitable, what, timeout)
        except (TimeoutError, aioimaplib.CommandTimeout) as error:
            raise self._dead(f"no answer to {what} within the response timeout") from error
        except aioimaplib.Abort as error:
            raise self._dead(f"{what} failed: {error}") from error
        if response.result != "OK":
            raise ImapRefused(f"{what} refused: {_describe(response)}")
        return response

    # -- session set-up -----------------------------------------------------------------------------

    async def login(self, user: str, password: str) -> None:
        try:
            response = await self._guard(self.client.login(quote_if_needed(user), password), "LOGIN")
        except TimeoutError as error:
            raise self._dead("no answer to LOGIN within the response timeout") from error
        except aioimaplib.Abort as error:
            raise self._dead(f"LOGIN failed: {error}") from error
        if response.result != "OK":
            # The server's text (e.g. "[AUTHENTICATIONFAILED] Authentication failed.") never holds the password.
            raise LoginRefused(f"login refused for {user}: {_describe(response)}")
        # What counts is the post-login list (aioimaplib merges it into the pre-login one): a server may
        # drop IDLE for this account. Servers that do not volunteer it in the LOGIN answer are asked.
        for line in _text_lines(response.lines):
            if line.upper().startswith(b"[CAPABILITY ") or line.upper().startswith(b"CAPABILITY "):
                self.client.protocol.capabilities = set(line.strip(b"[]").decode("ascii", "replace").split()[1:])
                break
        else:
            await self._command(self.client.protocol.capability(), "CAPABILITY")

    async def send_id(self, **fields: str) -> None:
        """RFC 2971 ID; 163 Mail refuses SELECT without it. A refusal is logged, not fatal."""
        if not self.has_capability("ID"):
            logger.info("server %s does not advertise ID; not sending it", self.host)
            return
        try:
            await self._command(self.client.id(**fields), "ID")
        except ImapRefused as error:
            logger.warning("%s", error)

    async def select(self, mailbox: str) -> SelectedMailbox:
        response = await self._command(self.client.select(encode_mailbox_name(mailbox)), f"SELECT {mailbox}")
        uidvalidity = uidnext = None
        exists = 0
        for line in _text_lines(response.lines):
            if match := _UIDVALIDITY_RE.search(line):
                uidvalidity = int(match.group(1))
            elif match := _UIDNEXT_RE.search(line):
                uidnext = int(match.group(1))
            elif match := _EXISTS_RE.match(line):
                exists = int(match.group(1))
        if uidvalidity is None:
            raise ImapRefused(f"SELECT {mailbox} gave no UIDVALIDITY; cannot track mail safely")
        return SelectedMailbox(uidvalidity=uidvalidity, uidnext=uidnext, exists=exists)

    # -- mailbox operations -------------------------------------------------------------------------

    async def noop(self) -> None:
        await self._command(self.client.noop(), "NOOP")

    async def uids_after(self, last_uid: int) -> list[int]:
        """UIDs greater than ``last_uid``, ascending. `UID n:*` also matches the highest UID when it is < n."""
        response = await self._command(self.client.uid_search("UID", f"{last_uid + 1}:*", charset=None), "UID SEARCH")
        uids = {int(token) for line in _text_lines(response.lines)[:-1] for token in line.split() if token.isdigit()}
        return sorted(uid for uid in uids if uid > last_uid)

    async def highest_uid(self) -> int:
        """The highest UID in the mailbox (0 when empty); for servers whose SELECT lacks UIDNEXT."""
        response = await self._command(self.client.uid_search("UID", "*", charset=None), "UID SEARCH")
        uids = [int(token) for line in _text_lines(response.lines)[:-1] for token in line.split() if token.isdigit()]
        return max(uids, default=0)

    async def fetch_size(self, uid: int) -> int | None:
        """RFC822.SIZE of one mail; None when it no longer exists."""
        response = await self._command(
            self.client.uid("fetch", str(uid), "(UID RFC822.SIZE)"), f"UID FETCH {uid} RFC822.SIZE"
        )
        for line in _text_lines(response.lines):
            uid_match = _FETCH_UID_RE.search(line)
            size_match = _FETCH_SIZE_RE.search(line)
            if uid_match and size_match and int(uid_match.group(1)) == uid:
                return int(size_match.group(1))
        return None

    async def fetch_body(self, uid: int, expected_size: int) -> bytes | None:
        """The whole raw mail without setting \\Seen (BODY.PEEK[]); None when it no longer exists."""
        timeout = self._response_timeout + expected_size / MIN_BODY_BYTES_PER_SECOND
        response = await self._command(
            self.client.uid("fetch", str(uid), "(UID BODY.PEEK[])"), f"UID FETCH {uid} BODY.PEEK[]", timeout
        )
        return _body_from_fetch(list(response.lines), uid)

    async def mark_seen(self, uid: int) -> None:
        await self._command(
            self.client.uid("store", str(uid), "+FLAGS.SILENT", r"(\Seen)"), f"UID STORE {uid} +FLAGS (\\Seen)"
        )

    async def idle(self, *, round_seconds: float, silence_seconds: float) -> IdleResult:
        """One IDLE round: returns at the first push worth a re-sync, after ``silence_seconds`` without any
        data, or after ``round_seconds`` in all. DONE must then be answered within the response timeout,
        which is what proves a quiet connection is still alive."""
        client = self.client
        queue = client.protocol.idle_queue
        while not queue.empty():  # leftovers of an earlier round; the re-sync after it covered them
            queue.get_nowait()
        try:
            idle_future = await self._guard(client.idle_start(timeout=round_seconds + 3600.0), "IDLE")
        except aioimaplib.Abort as error:
            raise self._dead(f"IDLE failed: {error}") from error
        loop = asyncio.get_running_loop()
        deadline = loop.time() + round_seconds
        pushes: list[bytes] = []
        while not pushes:
            wait = min(silence_seconds, deadline - loop.time())
            if wait <= 0:
                break
            try:
                lines = await self._guard(client.wait_server_push(timeout=wait), "an IDLE push", timeout=None)
            except TimeoutError:
                break  # silence: end the round and let DONE probe the connection
            if lines == aioimaplib.STOP_WAIT_SERVER_PUSH:
                break
            text = _text_lines(lines)
            if bye := next((line for line in text if _is_bye(line)), None):
                raise self._dead("server closed the connection: " + bye[3:].strip().decode("utf-8", "replace"))
            pushes.extend(line for line in text if not _is_keepalive(line))
        client.idle_done()
        response = await self._guard(idle_future, "the end of IDLE (DONE)")
        if response.result != "OK":
            raise self._dead(f"IDLE ended badly: {_describe(response)}")
        return IdleResult(pushes=tuple(pushes))

    # -- shutdown -----------------------------------------------------------------------------------

    async def close(self, *, logout_timeout: float = 2.0) -> None:
        """LOGOUT when the connection still looks healthy, then drop everything aioimaplib left running."""
        if self._closed:
            return
        self._closed = True
        client = self._client
        if client is None:
            return
        try:
            if self._lost is not None and not self._lost.done() and client.protocol.state in ("AUTH", "SELECTED"):
                if client.has_pending_idle():
                    client.idle_done()
                await asyncio.wait_for(client.logout(), logout_timeout)
        except (TimeoutError, aioimaplib.AioImapException, OSError) as error:
            logger.debug("LOGOUT on %s:%s failed: %s", self.host, self.port, error)
        finally:
            self._abandon(client)

    def abort(self) -> None:
        """Drop the connection at once, without talking to the server."""
        self._closed = True
        if self._client is not None:
            self._abandon(self._client)

    @staticmethod
    def _abandon(client: aioimaplib.IMAP4) -> None:
        if getattr(client, "_idle_waiter", None) is not None:
            client._idle_waiter.cancel()
        pending = [*client.tasks, *client.protocol.tasks]
        connect_task = getattr(client, "_client_task", None)
        if connect_task is not None:
            pending.append(connect_task)
        for task in pending:
            if not task.done():
                task.cancel()
        transport = client.protocol.transport
        if transport is not None:
            transport.abort()


def _body_from_fetch(lines: list[Any], uid: int) -> bytes | None:
    """The BODY[] literal of ``uid`` in a FETCH response, wherever the server put the UID item."""
    for index, line in enumerate(lines):
        if not isinstance(line, bytes) or not _FETCH_BODY_RE.search(line):
            continue
        if index + 1 >= len(lines) or not isinstance(lines[index + 1], bytearray):
            continue
        uid_match = _FETCH_UID_RE.search(line)
        if uid_match is None and index + 2 < len(lines) and isinstance(lines[index + 2], bytes):
            uid_match = _FETCH_UID_RE.search(lines[index + 2])
        if uid_match is None or int(uid_match.group(1)) == uid:
            return bytes(lines[index + 1])
    return None
