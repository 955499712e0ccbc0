"""The aioimaplib layer: argument encoding, FETCH parsing, and dead-connection detection on a real socket."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from taskping_tui.mail.imap_client import (
    ConnectionDead,
    ImapSession,
    _body_from_fetch,
    encode_mailbox_name,
    quote_if_needed,
)

pytestmark = pytest.mark.timeout(10)


@pytest.mark.parametrize(
    ("name", "wire"),
    [
        ("INBOX", "INBOX"),
        ("Entwürfe", "Entw&APw-rfe"),
        ("R&D", "R&-D"),
        ("My Replies", '"My Replies"'),
        ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),  # RFC 3501 §5.1.3 example
    ],
)
def test_mailbox_names_are_sent_in_modified_utf7(name: str, wire: str) -> None:
    assert encode_mailbox_name(name) == wire


@pytest.mark.parametrize(
    ("login", "wire"),
    [("me@example.com", "me@example.com"), ("first last", '"first last"'), ('a"b', '"a\\"b"')],
)
def test_logins_are_quoted_only_when_needed(login: str, wire: str) -> None:
    assert quote_if_needed(login) == wire


def test_body_is_found_whether_uid_comes_before_or_after_the_literal() -> None:
    before = [b"1 FETCH (UID 7 BODY[] {5}", bytearray(b"hello"), b")", b"Fetch completed"]
    after = [b"1 FETCH (BODY[] {5}", bytearray(b"hello"), b" UID 7)", b"Fetch completed"]
    with_flag_noise = [b"3 FETCH (FLAGS (\\Seen))", *before]
    assert _body_from_fetch(before, 7) == b"hello"
    assert _body_from_fetch(after, 7) == b"hello"
    assert _body_from_fetch(with_flag_noise, 7) == b"hello"
    assert _body_from_fetch(before, 8) is None
    assert _body_from_fetch([b"Fetch completed"], 7) is None


ServerScript = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def serve(script: ServerScript) -> AsyncIterator[int]:
    """A one-off IMAP-ish server on loopback running ``script`` per connection; yields its port."""
    writers: list[asyncio.StreamWriter] = []
    handlers: list[asyncio.Task[None]] = []

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        handlers.append(asyncio.current_task())  # type: ignore[arg-type]
        await script(reader, writer)

    server = await asyncio.start_server(tracked, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        for task in handlers:
            task.cancel()
        for writer in writers:
            writer.close()
        await server.wait_closed()


async def greet_then(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, after_login: str) -> None:
    writer.write(b"* OK ready\r\n")
    await writer.drain()
    while line := await reader.readline():
        tag = line.split(b" ", 1)[0]
        if b"CAPABILITY" in line:
            writer.write(b"* CAPABILITY IMAP4rev1 IDLE\r\n" + tag + b" OK done\r\n")
        elif b"LOGIN" in line:
            if after_login == "close":
                writer.close()
                return
            if after_login == "silent":
                await asyncio.sleep(30)
        await writer.drain()


@pytest.mark.parametrize(("behaviour", "message"), [("silent", "no answer to LOGIN within 0.3 s"), ("close", "closed")])
async def test_server_that_goes_silent_or_closes_mid_command_is_reported_dead_quickly(
    behaviour: str, message: str
) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await greet_then(reader, writer, behaviour)

    async for port in serve(script):
        session = ImapSession("127.0.0.1", port, ssl_context=None, response_timeout=0.3)
        await session.connect()
        started = time.monotonic()
        with pytest.raises(ConnectionDead, match=message):
            await session.login("me", "pw")
        assert time.monotonic() - started < 1.0
        assert session.is_dead, "a dead session is aborted on close, never sent LOGOUT"
        session.abort()


async def test_connection_refused_is_a_dead_connection() -> None:
    async for port in serve(lambda reader, writer: asyncio.sleep(0)):  # noqa: B007  (port is used below)
        pass  # server closed: nothing listens on port any more
    session = ImapSession("127.0.0.1", port, ssl_context=None, response_timeout=1.0)
    with pytest.raises(ConnectionDead, match="cannot connect"):
        await session.connect()
    session.abort()


async def test_server_that_never_greets_times_out() -> None:
    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    async for port in serve(mute):
        session = ImapSession("127.0.0.1", port, ssl_context=None, response_timeout=0.3)
        with pytest.raises(ConnectionDead, match="greeting"):
            await session.connect()
        session.abort()
