"""MailWatcher state logic against a scripted fake session: cursor, retries, backoff, redaction, stop."""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from taskping_tui.config import ImapConfig, MailConfig
from taskping_tui.mail.imap_client import ConnectionDead, IdleResult, LoginRefused, SelectedMailbox
from taskping_tui.mail.watcher import (
    Backoff,
    FetchedMail,
    MailWatcher,
    WatcherSetupError,
    WatcherState,
    WatcherStatus,
    WatcherTimings,
    is_loopback_host,
)

pytestmark = pytest.mark.timeout(10)

PASSWORD = "s3cret-Passw0rd"
TIMINGS = WatcherTimings(
    idle_refresh_seconds=5.0,
    keepalive_seconds=5.0,
    response_timeout_seconds=1.0,
    backoff_initial_seconds=0.02,
    backoff_max_seconds=0.16,
    handler_retry_seconds=0.02,
    handler_max_attempts=3,
)


@dataclass
class FakeServer:
    """One mailbox plus fault switches; hands out a new FakeSession per connection."""

    uidvalidity: int = 100
    mails: dict[int, bytes] = field(default_factory=dict)
    next_uid: int = 1
    seen: set[int] = field(default_factory=set)
    idle_capable: bool = True
    connect_errors: list[Exception] = field(default_factory=list)
    store_errors: list[Exception] = field(default_factory=list)
    sessions: list[FakeSession] = field(default_factory=list)
    contexts: list[ssl.SSLContext | None] = field(default_factory=list)
    news: asyncio.Event = field(default_factory=asyncio.Event)
    vanish_before_fetch: set[int] = field(default_factory=set)
    body_fetches: list[int] = field(default_factory=list)

    def add(self, raw: bytes) -> int:
        uid = self.next_uid
        self.mails[uid] = raw
        self.next_uid += 1
        self.news.set()
        return uid

    def renumber(self) -> None:
        """Like a server migration: same mails, UIDs from 1, a new UIDVALIDITY; connections dropped."""
        self.uidvalidity += 1
        self.mails = {index: raw for index, raw in enumerate(self.mails.values(), start=1)}
        self.next_uid = len(self.mails) + 1
        self.seen.clear()
        self.drop_connections()

    def drop_connections(self) -> None:
        for session in self.sessions:
            session.dropped.set()

    def factory(self, host: str, port: int, context: ssl.SSLContext | None, timeout: float) -> FakeSession:
        self.contexts.append(context)
        session = FakeSession(self)
        self.sessions.append(session)
        return session


@dataclass
class FakeSession:
    server: FakeServer
    dropped: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False
    noops: int = 0

    @property
    def is_dead(self) -> bool:
        return self.dropped.is_set()

    def _check(self) -> None:
        if self.dropped.is_set():
            raise ConnectionDead("connection closed by the server")

    async def connect(self) -> None:
        if self.server.connect_errors:
            raise self.server.connect_errors.pop(0)

    async def login(self, user: str, password: str) -> None:
        self._check()

    async def send_id(self, **fields: str) -> None:
        self._check()

    def has_capability(self, name: str) -> bool:
        return name != "IDLE" or self.server.idle_capable

    async def select(self, mailbox: str) -> SelectedMailbox:
        self._check()
        return SelectedMailbox(self.server.uidvalidity, self.server.next_uid, len(self.server.mails))

    async def highest_uid(self) -> int:
        return max(self.server.mails, default=0)

    async def noop(self) -> None:
        self._check()
        self.noops += 1

    async def uids_after(self, last_uid: int) -> list[int]:
        self._check()
        return sorted(uid for uid in self.server.mails if uid > last_uid)

    async def fetch_size(self, uid: int) -> int | None:
        self._check()
        if uid in self.server.vanish_before_fetch:
            return None
        raw = self.server.mails.get(uid)
        return None if raw is None else len(raw)

    async def fetch_body(self, uid: int, expected_size: int) -> bytes | None:
        self._check()
        self.server.body_fetches.append(uid)
        return self.server.mails.get(uid)

    async def mark_seen(self, uid: int) -> None:
        self._check()
        if self.server.store_errors:
            error = self.server.store_errors.pop(0)
            self.dropped.set()
            raise error
        self.server.seen.add(uid)

    async def idle(self, *, round_seconds: float, silence_seconds: float) -> IdleResult:
        self._check()
        news = asyncio.ensure_future(self.server.news.wait())
        dropped = asyncio.ensure_future(self.dropped.wait())
        done, pending = await asyncio.wait(
            {news, dropped}, timeout=min(round_seconds, silence_seconds), return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        self._check()
        if news in done:
            self.server.news.clear()
            return IdleResult(pushes=(b"1 EXISTS",))
        return IdleResult(pushes=())

    async def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True


class MemoryStore:
    def __init__(self, cursor: tuple[int, int] | None = None, failures: int = 0) -> None:
        self.cursor = cursor
        self.failures = failures

    def load_cursor(self, mailbox_key: str) -> tuple[int, int] | None:
        return self.cursor

    def save_cursor(self, mailbox_key: str, uidvalidity: int, last_uid: int) -> None:
        if self.failures:
            self.failures -= 1
            raise OSError("disk I/O error")
        self.cursor = (uidvalidity, last_uid)


@dataclass
class Harness:
    server: FakeServer
    store: MemoryStore
    handled: list[FetchedMail] = field(default_factory=list)
    statuses: list[WatcherStatus] = field(default_factory=list)
    watcher: MailWatcher | None = None

    async def handler(self, mail: FetchedMail) -> None:
        self.handled.append(mail)

    async def until(self, condition: Callable[[], bool], what: str, timeout: float = 3.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; statuses: {[s.text for s in self.statuses]}")
            await asyncio.sleep(0.005)

    def states(self) -> list[WatcherState]:
        return [status.state for status in self.statuses]


def make_watcher(
    harness: Harness,
    *,
    handler: Callable[[FetchedMail], object] | None = None,
    timings: WatcherTimings = TIMINGS,
    **imap: object,
) -> MailWatcher:
    config = ImapConfig(**{"host": "127.0.0.1", "port": 143, "security": "none", **imap})  # type: ignore[arg-type]
    watcher = MailWatcher(
        config,
        "me@example.test",
        PASSWORD,
        harness.store,
        handler or harness.handler,  # type: ignore[arg-type]
        on_status=harness.statuses.append,
        timings=timings,
        rng=random.Random(1),
        session_factory=harness.server.factory,  # type: ignore[arg-type]
    )
    harness.watcher = watcher
    return watcher


@pytest.fixture
async def harness() -> Harness:
    return Harness(FakeServer(), MemoryStore())


async def run_until(harness: Harness, watcher: MailWatcher, condition: Callable[[], bool], what: str) -> None:
    watcher.start()
    try:
        await harness.until(condition, what)
    finally:
        await watcher.stop()


# -- pure helpers ---------------------------------------------------------------------------------


def test_backoff_doubles_with_jitter_up_to_the_cap_and_resets() -> None:
    backoff = Backoff(1.0, 8.0, random.Random(3))
    delays = [backoff.next_delay() for _ in range(6)]
    ceilings = [1, 2, 4, 8, 8, 8]
    assert all(ceiling / 2 <= delay <= ceiling for delay, ceiling in zip(delays, ceilings, strict=True)), delays
    assert len(set(delays)) == len(delays), "jitter must spread reconnects"
    backoff.reset()
    assert 0.5 <= backoff.next_delay() <= 1.0


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"])
def test_loopback_hosts_are_recognised(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["imap.gmail.com", "10.0.0.1", "192.168.1.2", "localhost.example.com"])
async def test_plain_imap_to_a_remote_host_is_refused(host: str) -> None:
    with pytest.raises(WatcherSetupError, match="in clear"):
        MailWatcher(
            ImapConfig(host=host, security="none"),
            "me",
            PASSWORD,
            MemoryStore(),
            Harness(FakeServer(), MemoryStore()).handler,
        )


async def test_tls_with_certificate_checks_is_the_default(harness: Harness) -> None:
    harness.server.add(b"Subject: x\r\n\r\n")
    watcher = make_watcher(harness, security="tls", host="imap.example.com", port=993)
    await run_until(harness, watcher, lambda: WatcherState.IDLE in harness.states(), "idle")
    context = harness.server.contexts[0]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert watcher.mailbox_key == "me@example.test@imap.example.com:993/INBOX"


async def test_from_config_uses_username_or_address_as_login(harness: Harness) -> None:
    mail = MailConfig(address="bot@example.test", imap=ImapConfig(host="imap.example.test"))
    watcher = MailWatcher.from_config(mail, PASSWORD, harness.store, harness.handler)
    assert watcher.mailbox_key == "bot@example.test@imap.example.test:993/INBOX"


# -- cursor ---------------------------------------------------------------------------------------


async def test_first_start_skips_existing_mail_and_saves_the_cursor_at_once(harness: Harness) -> None:
    for index in range(3):
        harness.server.add(f"Subject: old {index}\r\n\r\n".encode())
    watcher = make_watcher(harness)
    watcher.start()
    await harness.until(lambda: WatcherState.IDLE in harness.states(), "idle")
    assert harness.store.cursor == (100, 3)
    harness.server.add(b"Subject: new\r\n\r\n")
    await harness.until(lambda: len(harness.handled) == 1, "the new mail")
    await watcher.stop()
    assert [(m.uidvalidity, m.uid) for m in harness.handled] == [(100, 4)]
    assert harness.store.cursor == (100, 4) and harness.server.seen == {4}


async def test_saved_cursor_resumes_and_catches_up_on_mail_that_came_while_offline(harness: Harness) -> None:
    for index in range(5):
        harness.server.add(f"Subject: {index}\r\n\r\n".encode())
    harness.store.cursor = (100, 3)
    watcher = make_watcher(harness)
    await run_until(harness, watcher, lambda: len(harness.handled) == 2, "two missed mails")
    assert [m.uid for m in harness.handled] == [4, 5]


async def test_uidvalidity_change_while_running_does_not_replay_and_warns(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    for index in range(4):
        harness.server.add(f"Subject: old {index}\r\n\r\n".encode())
    harness.store.cursor = (100, 4)
    watcher = make_watcher(harness)
    watcher.start()
    await harness.until(lambda: WatcherState.IDLE in harness.states(), "idle")
    del harness.server.mails[1], harness.server.mails[2]
    with caplog.at_level(logging.WARNING):
        harness.server.renumber()  # the two old mails are now UIDs 1-2 of validity 101
        await harness.until(lambda: harness.store.cursor == (101, 2), "the new cursor")
        harness.server.add(b"Subject: new\r\n\r\n")
        await harness.until(lambda: len(harness.handled) == 1, "the new mail")
    await watcher.stop()
    assert [(m.uidvalidity, m.uid) for m in harness.handled] == [(101, 3)]
    assert any("UIDVALIDITY" in r.message and "100" in r.message and "101" in r.message for r in caplog.records)


# -- fetching -------------------------------------------------------------------------------------


async def test_too_big_mail_is_handed_over_without_downloading_it(harness: Harness) -> None:
    watcher = make_watcher(harness, max_mail_bytes=100)
    watcher.start()
    await harness.until(lambda: WatcherState.IDLE in harness.states(), "idle")
    big_raw = b"Subject: big\r\n\r\n" + b"x" * 500
    big = harness.server.add(big_raw)
    small = harness.server.add(b"Subject: small\r\n\r\n")
    await harness.until(lambda: len(harness.handled) == 2, "both mails")
    await watcher.stop()
    assert harness.handled[0] == FetchedMail(100, big, len(big_raw), None, True)
    assert harness.handled[1].raw == b"Subject: small\r\n\r\n" and not harness.handled[1].too_big
    assert harness.server.body_fetches == [small]
    assert harness.server.seen == {big, small}


async def test_mail_that_vanishes_before_fetch_is_skipped(harness: Harness) -> None:
    watcher = make_watcher(harness)
    watcher.start()
    await harness.until(lambda: WatcherState.IDLE in harness.states(), "idle")
    gone = harness.server.add(b"Subject: deleted by webmail\r\n\r\n")
    harness.server.vanish_before_fetch.add(gone)
    kept = harness.server.add(b"Subject: kept\r\n\r\n")
    await harness.until(lambda: len(harness.handled) == 1, "the kept mail")
    await watcher.stop()
    assert [m.uid for m in harness.handled] == [kept]
    assert harness.store.cursor == (100, kept)


# -- handler failures -------------------------------------------------------------------------------


async def test_handler_failing_every_time_is_skipped_after_max_attempts_and_later_mail_flows(
    harness: Harness,
) -> None:
    calls: list[int] = []

    async def broken_for_first(mail: FetchedMail) -> None:
        calls.append(mail.uid)
        if mail.uid == 1:
            raise ValueError("cannot parse this mail")
        await harness.handler(mail)

    watcher = make_watcher(harness, handler=broken_for_first)
    watcher.start()
    await harness.until(lambda: WatcherState.IDLE in harness.states(), "idle")
    harness.server.add(b"Subject: poison\r\n\r\n")
    harness.server.add(b"Subject: fine\r\n\r\n")
    await harness.until(lambda: len(harness.handled) == 1, "the second mail")
    skipped_error = next(s.last_error for s in harness.statuses if s.last_error and "skipped" in s.last_error)
    await watcher.stop()
    assert calls == [1, 1, 1, 2], "three attempts at UID 1 (in order, before UID 2), then UID 2"
    assert "cannot parse this mail" in skipped_error
    assert harness.server.seen == {2}, "the skipped mail stays unread for a human to look at"
    assert harness.store.cursor == (100, 2)


async def test_handler_error_stays_visible_until_a_later_mail_succeeds(harness: Harness) -> None:
    outcomes = iter([RuntimeError("db locked"), None])

    async def flaky(mail: FetchedMail) -> None:
        error = next(outcomes)
        if error:
            raise error
        await harness.handler(mail)

    watcher = make_watcher(harness, handler=flaky)
    watcher.start()
    await harness.until(lambda: WatcherState.IDLE in harness.states(), "idle")
    harness.server.add(b"Subject: x\r\n\r\n")
    await harness.until(lambda: bool(watcher.status.last_error), "the error")
    assert "db locked" in (watcher.status.last_error or "") and watcher.status.state is WatcherState.IDLE
    await harness.until(lambda: len(harness.handled) == 1, "the retry")
    await harness.until(lambda: watcher.status.last_error is None, "the error to clear")
    await watcher.stop()


async def test_cancellation_inside_the_handler_is_not_swallowed(harness: Harness) -> None:
    async def cancelled(mail: FetchedMail) -> None:
        raise asyncio.CancelledError

    watcher = make_watcher(harness, handler=cancelled)
    task = watcher.start()
    await harness.until(lambda: WatcherState.IDLE in harness.states(), "idle")
    harness.server.add(b"Subject: x\r\n\r\n")
    await harness.until(task.done, "the watcher to end")
    assert task.cancelled() and harness.store.cursor == (100, 0) and not harness.server.seen


# -- connection faults ------------------------------------------------------------------------------


async def test_failed_connections_retry_with_new_sessions_and_growing_delays(harness: Harness) -> None:
    harness.server.connect_errors = [ConnectionDead(f"cannot connect: refused {n}") for n in range(4)]
    watcher = make_watcher(harness)
    await run_until(harness, watcher, lambda: WatcherState.IDLE in harness.states(), "idle")
    delays = [s.retry_in for s in harness.statuses if s.state is WatcherState.RECONNECTING]
    assert len(delays) == 4 and len({id(s) for s in harness.server.sessions}) == 5
    assert all(d is not None for d in delays)
    assert [0.01 <= d <= 0.02 for d in delays[:1]] == [True] and max(delays) > 0.04  # type: ignore[operator]
    reconnecting = [s for s in harness.statuses if s.state is WatcherState.RECONNECTING]
    assert reconnecting[-1].last_error == "cannot connect: refused 3"
    assert harness.statuses[-2].state is WatcherState.IDLE and harness.statuses[-2].last_error is None
    assert all(session.closed for session in harness.server.sessions)


async def test_backoff_starts_small_again_after_a_healthy_connection(harness: Harness) -> None:
    harness.server.connect_errors = [ConnectionDead("down") for _ in range(4)]
    watcher = make_watcher(harness)
    watcher.start()
    await harness.until(lambda: WatcherState.IDLE in harness.states(), "idle")
    mark = len(harness.statuses)
    harness.server.drop_connections()
    await harness.until(lambda: WatcherState.RECONNECTING in harness.states()[mark:], "reconnect")
    await watcher.stop()
    delay = next(s.retry_in for s in harness.statuses[mark:] if s.state is WatcherState.RECONNECTING)
    assert delay is not None and delay <= TIMINGS.backoff_initial_seconds


async def test_seen_flag_lost_with_the_connection_is_set_after_reconnecting(harness: Harness) -> None:
    harness.server.store_errors = [ConnectionDead("connection closed by the server")]
    watcher = make_watcher(harness)
    watcher.start()
    await harness.until(lambda: WatcherState.IDLE in harness.states(), "idle")
    uid = harness.server.add(b"Subject: x\r\n\r\n")
    await harness.until(lambda: uid in harness.server.seen, "\\Seen after the reconnect")
    await watcher.stop()
    assert [m.uid for m in harness.handled] == [uid], "handled once; only the flag was retried"
    assert len(harness.server.sessions) == 2


async def test_store_failure_reconnects_instead_of_ending_the_watcher(harness: Harness) -> None:
    watcher = make_watcher(harness)
    watcher.start()
    await harness.until(lambda: WatcherState.IDLE in harness.states(), "idle")
    harness.store.failures = 1
    harness.server.add(b"Subject: x\r\n\r\n")
    await harness.until(lambda: harness.store.cursor == (100, 1), "the cursor to be saved eventually")
    assert watcher.running
    await watcher.stop()
    assert any(s.last_error and "disk I/O error" in s.last_error for s in harness.statuses)
    assert [m.uid for m in harness.handled] == [1, 1], "handed over again after the failed save (gate dedups)"


async def test_password_never_appears_in_status_or_logs(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    harness.server.connect_errors = [
        LoginRefused(f"login refused for me: NO bad password {PASSWORD}"),
        RuntimeError(f"weird failure mentioning {PASSWORD}"),
    ]
    watcher = make_watcher(harness)
    with caplog.at_level(logging.DEBUG):
        await run_until(harness, watcher, lambda: WatcherState.IDLE in harness.states(), "idle")
    texts = [f"{s.detail} {s.last_error}" for s in harness.statuses] + [r.getMessage() for r in caplog.records]
    assert any("***" in text for text in texts)
    assert not any(PASSWORD in text for text in texts)


async def test_polling_when_the_server_has_no_idle(harness: Harness) -> None:
    harness.server.idle_capable = False
    watcher = make_watcher(harness, poll_seconds=1.0)
    watcher.start()
    await harness.until(lambda: WatcherState.POLLING in harness.states(), "polling")
    harness.server.add(b"Subject: polled\r\n\r\n")
    await harness.until(lambda: len(harness.handled) == 1, "the polled mail", timeout=2.5)
    await watcher.stop()
    assert WatcherState.IDLE not in harness.states()
    assert harness.server.sessions[0].noops >= 1, "each poll asks the server to refresh its view first"


async def test_stop_closes_the_session_and_reports_stopped(harness: Harness) -> None:
    watcher = make_watcher(harness)
    task = watcher.start()
    await harness.until(lambda: WatcherState.IDLE in harness.states(), "idle")
    await watcher.stop()
    assert task.done() and not watcher.running
    assert harness.server.sessions[0].closed
    assert watcher.status.state is WatcherState.STOPPED
    await watcher.stop()  # twice is fine


async def test_mail_delivered_while_fetching_is_handled_without_waiting_for_a_push(harness: Harness) -> None:
    """A real server announces such a mail during our FETCH, not in the IDLE that follows: the notice is
    gone, so only a fresh search before idling finds it (issue 13 item 12: it waited 21-25 s)."""
    harness.server.add(b"first")
    delivered_during_fetch: list[int] = []

    async def handler(mail: FetchedMail) -> None:
        harness.handled.append(mail)
        if mail.uid == 1:
            delivered_during_fetch.append(harness.server.add(b"second"))
            harness.server.news.clear()  # the EXISTS went to the command in progress

    watcher = make_watcher(harness, handler=handler)
    harness.store.cursor = (100, 0)
    started = time.monotonic()
    await run_until(harness, watcher, lambda: len(harness.handled) == 2, "the mail delivered during the fetch")
    assert [mail.uid for mail in harness.handled] == [1, *delivered_during_fetch]
    assert time.monotonic() - started < TIMINGS.idle_refresh_seconds / 2  # not the next IDLE round
