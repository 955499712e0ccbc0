"""MailWatcher against a real dovecot: delivery through IDLE, faults (kick, frozen link, UIDVALIDITY
change), exactly-once handling across restarts, handler failures, size limit, TLS and polling."""

from __future__ import annotations

import asyncio
import contextlib
import email
import logging
import random
import ssl
import statistics
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from taskping_tui.config import ImapConfig
from taskping_tui.mail.watcher import (
    CursorStore,
    FetchedMail,
    MailWatcher,
    WatcherState,
    WatcherStatus,
    WatcherTimings,
)
from taskping_tui.store import Store
from tests.support.dovecot_fixtures import HOST, DovecotServer, FreezableProxy, MailUser, MemoryCursorStore, make_mail

pytestmark = [pytest.mark.slow, pytest.mark.timeout(30)]

FAST = WatcherTimings(
    idle_refresh_seconds=30.0,
    keepalive_seconds=10.0,
    response_timeout_seconds=2.0,
    backoff_initial_seconds=0.2,
    backoff_max_seconds=1.0,
    handler_retry_seconds=0.2,
    handler_max_attempts=5,
)


@dataclass
class Recorder:
    """Handler and status callback that remember everything, plus polling waits."""

    mails: list[FetchedMail] = field(default_factory=list)
    handled_at: list[float] = field(default_factory=list)
    statuses: list[WatcherStatus] = field(default_factory=list)

    async def handler(self, mail: FetchedMail) -> None:
        self.mails.append(mail)
        self.handled_at.append(time.monotonic())

    def on_status(self, status: WatcherStatus) -> None:
        self.statuses.append(status)

    def subjects(self) -> list[str]:
        return [subject_of(mail) for mail in self.mails]

    def states(self) -> list[WatcherState]:
        return [status.state for status in self.statuses]

    async def wait_until(self, condition: Callable[[], bool], timeout: float, what: str) -> float:
        start = time.monotonic()
        while not condition():
            if time.monotonic() - start > timeout:
                raise AssertionError(
                    f"timed out after {timeout} s waiting for {what}; statuses: {[s.text for s in self.statuses]}"
                )
            await asyncio.sleep(0.01)
        return time.monotonic() - start

    async def wait_mails(self, count: int, timeout: float = 5.0) -> None:
        await self.wait_until(lambda: len(self.mails) >= count, timeout, f"{count} handled mail(s)")

    async def wait_state(self, state: WatcherState, timeout: float = 5.0, after: int = 0) -> float:
        return await self.wait_until(lambda: state in self.states()[after:], timeout, f"state {state}")


def subject_of(mail: FetchedMail) -> str:
    assert mail.raw is not None
    return str(email.message_from_bytes(mail.raw)["Subject"])


def message_id_of(mail: FetchedMail) -> str:
    assert mail.raw is not None
    return str(email.message_from_bytes(mail.raw)["Message-ID"])


def imap_config(server: DovecotServer, **overrides: object) -> ImapConfig:
    values: dict[str, object] = {"host": HOST, "port": server.imap_port, "security": "none"}
    values.update(overrides)
    return ImapConfig(**values)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def running_watcher(
    server: DovecotServer,
    user: MailUser,
    recorder: Recorder,
    store: CursorStore | None = None,
    *,
    handler: Callable[[FetchedMail], object] | None = None,
    timings: WatcherTimings = FAST,
    wait_for: WatcherState | None = WatcherState.IDLE,
    password: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
    **imap_overrides: object,
) -> AsyncIterator[MailWatcher]:
    watcher = MailWatcher(
        imap_config(server, **imap_overrides),
        user.login,
        password if password is not None else user.password,
        store if store is not None else MemoryCursorStore(),
        handler or recorder.handler,  # type: ignore[arg-type]
        on_status=recorder.on_status,
        timings=timings,
        ssl_context=ssl_context,
        rng=random.Random(7),
    )
    watcher.start()
    try:
        if wait_for is not None:
            await recorder.wait_state(wait_for)
        yield watcher
    finally:
        await watcher.stop()


async def test_lmtp_and_append_delivery_reach_the_handler_through_idle_within_a_second(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    recorder = Recorder()
    latencies: list[float] = []
    async with running_watcher(dovecot, mail_user, recorder):
        for index in range(4):
            raw = make_mail(f"reply {index}")
            delivered = time.monotonic()
            if index % 2 == 0:
                await dovecot.adeliver_lmtp(mail_user, raw)
            else:
                await dovecot.aappend_imap(mail_user, raw)
            await recorder.wait_mails(index + 1)
            latencies.append(recorder.handled_at[-1] - delivered)
            assert WatcherState.IDLE in recorder.states()

    assert recorder.subjects() == ["reply 0", "reply 1", "reply 2", "reply 3"]
    assert all(not mail.too_big and mail.size == len(mail.raw or b"") for mail in recorder.mails)
    assert [mail.uid for mail in recorder.mails] == [1, 2, 3, 4]
    # dovecot itself waits ≈0.5 s before it pushes EXISTS; the on-screen target is ≤ 2 s.
    assert max(latencies) < 2.0, latencies
    assert statistics.median(latencies) < 1.2, latencies
    assert dovecot.flags(mail_user)[1] >= {"\\Seen"}


async def test_first_start_ignores_mail_already_in_the_mailbox(dovecot: DovecotServer, mail_user: MailUser) -> None:
    for index in range(3):
        dovecot.deliver_lmtp(mail_user, make_mail(f"old {index}"))
    recorder = Recorder()
    store = MemoryCursorStore()
    async with running_watcher(dovecot, mail_user, recorder, store) as watcher:
        assert store.cursors[watcher.mailbox_key] == (dovecot.uidvalidity(mail_user), 3)
        await dovecot.adeliver_lmtp(mail_user, make_mail("new"))
        await recorder.wait_mails(1)
        await asyncio.sleep(0.3)
    assert recorder.subjects() == ["new"]
    assert "\\Seen" not in dovecot.flags(mail_user)[1], "old mail must be left alone, unread"


async def test_kick_during_idle_reconnects_and_mail_sent_meanwhile_is_handled_once(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    recorder = Recorder()
    timings = replace(FAST, backoff_initial_seconds=0.6)
    async with running_watcher(dovecot, mail_user, recorder, timings=timings):
        await dovecot.adeliver_lmtp(mail_user, make_mail("before kick"))
        await recorder.wait_mails(1)
        mark = len(recorder.statuses)
        await dovecot.akick(mail_user)
        await recorder.wait_state(WatcherState.RECONNECTING, after=mark)
        await dovecot.adeliver_lmtp(mail_user, make_mail("while disconnected"))
        await recorder.wait_mails(2)
        await recorder.wait_state(WatcherState.IDLE, after=mark)
        await dovecot.adeliver_lmtp(mail_user, make_mail("after reconnect"))
        await recorder.wait_mails(3)
        await asyncio.sleep(0.3)

    assert recorder.subjects() == ["before kick", "while disconnected", "after reconnect"]
    reconnect = next(s for s in recorder.statuses[mark:] if s.state is WatcherState.RECONNECTING)
    assert reconnect.last_error and "closed" in reconnect.last_error
    assert all("\\Seen" in flags for flags in dovecot.flags(mail_user).values())


async def test_silently_frozen_connection_is_detected_within_the_bound_and_recovered(
    dovecot: DovecotServer, mail_user: MailUser, tcp_proxy: FreezableProxy
) -> None:
    recorder = Recorder()
    timings = replace(FAST, keepalive_seconds=0.8, response_timeout_seconds=0.8)
    async with running_watcher(dovecot, mail_user, recorder, timings=timings, port=tcp_proxy.port):
        mark = len(recorder.statuses)
        tcp_proxy.freeze()
        await dovecot.adeliver_lmtp(mail_user, make_mail("sent into the void"))
        detected = await recorder.wait_state(WatcherState.RECONNECTING, timeout=4.0, after=mark)
        # keepalive (0.8 s of silence) + DONE unanswered (0.8 s), plus scheduling slack
        assert detected < 2.2
        await recorder.wait_mails(1, timeout=5.0)

    assert recorder.subjects() == ["sent into the void"]
    assert tcp_proxy.accepted == 2, "the frozen connection must be replaced by a new one"
    reconnect = next(s for s in recorder.statuses[mark:] if s.state is WatcherState.RECONNECTING)
    assert reconnect.last_error and "within 0.8 s" in reconnect.last_error


async def test_network_down_backs_off_with_growing_capped_delays_then_recovers(
    dovecot: DovecotServer, mail_user: MailUser, tcp_proxy: FreezableProxy
) -> None:
    recorder = Recorder()
    timings = replace(
        FAST, keepalive_seconds=0.5, response_timeout_seconds=0.3, backoff_initial_seconds=0.1, backoff_max_seconds=0.4
    )
    async with running_watcher(dovecot, mail_user, recorder, timings=timings, port=tcp_proxy.port):
        mark = len(recorder.statuses)
        tcp_proxy.freeze(new_connections_too=True)
        await recorder.wait_until(
            lambda: sum(s.state is WatcherState.RECONNECTING for s in recorder.statuses[mark:]) >= 4,
            8.0,
            "four failed reconnects",
        )
        await dovecot.adeliver_lmtp(mail_user, make_mail("after the outage"))
        tcp_proxy.thaw()
        await recorder.wait_mails(1, timeout=5.0)

    delays = [s.retry_in for s in recorder.statuses[mark:] if s.state is WatcherState.RECONNECTING]
    assert all(delay is not None and 0.05 <= delay <= 0.4 for delay in delays), delays
    assert delays[0] is not None and delays[0] <= 0.1 and max(d for d in delays if d) > 0.2, delays
    assert recorder.subjects() == ["after the outage"]


async def test_uidvalidity_change_does_not_replay_old_mail_and_finds_new_mail(
    dovecot: DovecotServer, mail_user: MailUser, caplog: pytest.LogCaptureFixture
) -> None:
    store = MemoryCursorStore()
    first = Recorder()
    async with running_watcher(dovecot, mail_user, first, store):
        for index in range(5):
            await dovecot.adeliver_lmtp(mail_user, make_mail(f"old {index}"))
        await first.wait_mails(5)
    old_validity = dovecot.uidvalidity(mail_user)

    # The server renumbers: 2 mails left, now UIDs 1-2 under a new UIDVALIDITY, below our cursor (5).
    dovecot.expunge(mail_user, "1:3")
    new_validity = dovecot.renumber_mailbox(mail_user)
    assert dovecot.mailbox_status(mail_user)["uidnext"] == 3

    second = Recorder()
    with caplog.at_level(logging.WARNING, logger="taskping_tui.mail.watcher"):
        async with running_watcher(dovecot, mail_user, second, store) as watcher:
            assert store.cursors[watcher.mailbox_key] == (new_validity, 2)
            await dovecot.adeliver_lmtp(mail_user, make_mail("new after renumbering"))
            await second.wait_mails(1)
            await asyncio.sleep(0.3)

    assert second.subjects() == ["new after renumbering"]
    assert (second.mails[0].uidvalidity, second.mails[0].uid) == (new_validity, 3)
    assert any("UIDVALIDITY" in record.message and str(old_validity) in record.message for record in caplog.records)


async def test_same_mail_delivered_twice_reaches_the_handler_twice_and_never_again_after_restart(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    store = MemoryCursorStore()
    raw = make_mail("duplicate", message_id="<same-id@example.test>")
    first = Recorder()
    async with running_watcher(dovecot, mail_user, first, store):
        await dovecot.adeliver_lmtp(mail_user, raw)
        await dovecot.adeliver_lmtp(mail_user, raw)
        await first.wait_mails(2)
    assert [mail.uid for mail in first.mails] == [1, 2]
    assert {message_id_of(mail) for mail in first.mails} == {"<same-id@example.test>"}

    second = Recorder()
    async with running_watcher(dovecot, mail_user, second, store):
        await dovecot.adeliver_lmtp(mail_user, make_mail("third"))
        await second.wait_mails(1)
        await asyncio.sleep(0.3)
    assert second.subjects() == ["third"], "UIDs 1 and 2 must not be handed over again"


async def test_restart_with_the_sqlite_store_catches_up_on_mail_that_came_while_closed(
    dovecot: DovecotServer, mail_user: MailUser, tmp_path: Path
) -> None:
    store_path = tmp_path / "state" / "taskping.sqlite3"
    first = Recorder()
    store = Store.open(store_path)
    try:
        async with running_watcher(dovecot, mail_user, first, store):
            await dovecot.adeliver_lmtp(mail_user, make_mail("while open"))
            await first.wait_mails(1)
    finally:
        store.close()
    await dovecot.adeliver_lmtp(mail_user, make_mail("while closed 1"))
    await dovecot.adeliver_lmtp(mail_user, make_mail("while closed 2"))

    second = Recorder()
    store = Store.open(store_path)
    try:
        async with running_watcher(dovecot, mail_user, second, store) as watcher:
            await second.wait_mails(2)
            await asyncio.sleep(0.2)
        assert store.load_cursor(watcher.mailbox_key) == (dovecot.uidvalidity(mail_user), 3)
    finally:
        store.close()
    assert first.subjects() == ["while open"]
    assert second.subjects() == ["while closed 1", "while closed 2"]


async def test_killed_after_commit_before_seen_is_not_handled_twice_on_restart(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    cursor_store = MemoryCursorStore()
    committed: dict[str, int] = {}  # the app's store: Message-ID → times an outcome was committed
    calls: list[tuple[int, int]] = []
    watcher_task: asyncio.Task[None] | None = None

    async def gate_that_dies_after_commit(mail: FetchedMail) -> None:
        calls.append((mail.uidvalidity, mail.uid))
        message_id = message_id_of(mail)
        if message_id not in committed:  # dedup by Message-ID, as the real gate does
            committed[message_id] = committed.get(message_id, 0) + 1
            assert watcher_task is not None
            watcher_task.cancel()  # "kill -9" right after the commit, before \Seen and the cursor
            await asyncio.sleep(0)

    recorder = Recorder()
    async with running_watcher(dovecot, mail_user, recorder, cursor_store, handler=gate_that_dies_after_commit) as w:
        watcher_task = w.start()
        await dovecot.adeliver_lmtp(mail_user, make_mail("run tests", message_id="<cmd-1@example.test>"))
        await recorder.wait_until(watcher_task.done, 5.0, "the watcher to die")
    assert "\\Seen" not in dovecot.flags(mail_user)[1]
    assert cursor_store.cursors[w.mailbox_key][1] == 0

    async def gate(mail: FetchedMail) -> None:
        await gate_that_dies_after_commit(mail)
        await recorder.handler(mail)

    async with running_watcher(dovecot, mail_user, Recorder(), cursor_store, handler=gate) as w:
        await recorder.wait_until(lambda: "\\Seen" in dovecot.flags(mail_user)[1], 5.0, "\\Seen on UID 1")
    assert committed == {"<cmd-1@example.test>": 1}
    assert calls == [calls[0], calls[0]], "the watcher hands the same UID over again; the gate dedups it"
    assert cursor_store.cursors[w.mailbox_key][1] == 1


async def test_handler_exception_is_retried_later_and_the_loop_keeps_running(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    recorder = Recorder()
    attempts: list[str] = []

    async def flaky(mail: FetchedMail) -> None:
        subject = subject_of(mail)
        attempts.append(subject)
        if subject == "first" and attempts.count("first") <= 2:
            raise RuntimeError("database is locked")
        await recorder.handler(mail)

    async with running_watcher(dovecot, mail_user, recorder, handler=flaky) as watcher:
        await dovecot.adeliver_lmtp(mail_user, make_mail("first"))
        await recorder.wait_until(lambda: len(attempts) >= 1, 5.0, "the first attempt")
        await dovecot.adeliver_lmtp(mail_user, make_mail("second"))
        await asyncio.sleep(0.05)
        assert "\\Seen" not in dovecot.flags(mail_user)[1], "a failed mail must not be marked seen"
        await recorder.wait_mails(2, timeout=5.0)
        await asyncio.sleep(0.2)
        assert watcher.running
        assert watcher.status.state is WatcherState.IDLE and watcher.status.last_error is None

    assert attempts == ["first", "first", "first", "second"]
    assert recorder.subjects() == ["first", "second"]
    assert any(s.last_error and "database is locked" in s.last_error for s in recorder.statuses)
    assert all("\\Seen" in flags for flags in dovecot.flags(mail_user).values())


async def test_too_big_mail_reaches_the_handler_without_its_body(dovecot: DovecotServer, mail_user: MailUser) -> None:
    recorder = Recorder()
    async with running_watcher(dovecot, mail_user, recorder, max_mail_bytes=2_000):
        await dovecot.adeliver_lmtp(mail_user, make_mail("huge", "x" * 10_000))
        await dovecot.adeliver_lmtp(mail_user, make_mail("small"))
        await recorder.wait_mails(2)
        await asyncio.sleep(0.2)

    huge, small = recorder.mails
    assert huge.too_big and huge.raw is None and huge.size > 10_000
    assert not small.too_big and small.raw is not None and subject_of(small) == "small"
    assert "\\Seen" in dovecot.flags(mail_user)[huge.uid], "its outcome (rejected) is recorded, so it is done"


async def test_hostile_and_malformed_mail_is_handed_over_verbatim_and_the_watcher_keeps_going(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    odd_mails = [
        b"no headers at all, just a line ending like an IMAP literal {12}\r\n",
        b"Subject: unbalanced (((( parens\r\n\r\n)) * 3 EXISTS\r\nA1 OK fake tagged line\r\n",
        b"Subject: 8-bit \xff\xfe\xc3\x28 garbage\r\n\r\n\x80\x81 body {3}\r\nabc\r\n",
        b"Subject: one very long line\r\n\r\n" + b"x" * 200_000 + b"\r\n",
    ]
    recorder = Recorder()
    async with running_watcher(dovecot, mail_user, recorder) as watcher:
        for raw in odd_mails:
            await dovecot.aappend_imap(mail_user, raw)
        await recorder.wait_mails(len(odd_mails))
        await dovecot.adeliver_lmtp(mail_user, make_mail("normal mail after the odd ones"))
        await recorder.wait_mails(len(odd_mails) + 1)
        assert watcher.status.state is WatcherState.IDLE and watcher.status.last_error is None

    assert [mail.raw for mail in recorder.mails[:-1]] == odd_mails
    assert subject_of(recorder.mails[-1]) == "normal mail after the odd ones"


async def test_tls_connection_with_a_trusted_certificate(dovecot: DovecotServer, mail_user: MailUser) -> None:
    recorder = Recorder()
    trusted = ssl.create_default_context(cafile=str(dovecot.cert_path))
    async with running_watcher(
        dovecot, mail_user, recorder, ssl_context=trusted, security="tls", port=dovecot.imaps_port
    ):
        await dovecot.adeliver_lmtp(mail_user, make_mail("over tls"))
        await recorder.wait_mails(1)
    assert recorder.subjects() == ["over tls"]


async def test_untrusted_certificate_is_refused_with_a_clear_error(dovecot: DovecotServer, mail_user: MailUser) -> None:
    recorder = Recorder()
    async with running_watcher(
        dovecot, mail_user, recorder, wait_for=WatcherState.RECONNECTING, security="tls", port=dovecot.imaps_port
    ) as watcher:
        assert watcher.status.last_error and "CERTIFICATE_VERIFY_FAILED" in watcher.status.last_error
    assert WatcherState.IDLE not in recorder.states()


async def test_wrong_password_is_reported_without_revealing_it(dovecot: DovecotServer, mail_user: MailUser) -> None:
    recorder = Recorder()
    wrong = "Wr0ng-pa55word-xyz"
    # From 127.0.0.2: dovecot then slows down logins from that IP only, not from the other tests' 127.0.0.1.
    proxy = FreezableProxy(HOST, dovecot.imap_port, source_host="127.0.0.2")
    await proxy.start()
    try:
        async with running_watcher(
            dovecot, mail_user, recorder, wait_for=WatcherState.RECONNECTING, password=wrong, port=proxy.port
        ) as watcher:
            error = watcher.status.last_error or ""
    finally:
        await proxy.close()
    assert "login refused" in error and "AUTHENTICATIONFAILED" in error
    assert all(wrong not in (s.last_error or "") + s.detail for s in recorder.statuses)


async def test_server_without_idle_is_polled(dovecot: DovecotServer) -> None:
    user = dovecot.new_user(idle=False)
    recorder = Recorder()
    async with running_watcher(dovecot, user, recorder, wait_for=WatcherState.POLLING, poll_seconds=1.0):
        delivered = time.monotonic()
        await dovecot.adeliver_lmtp(user, make_mail("polled"))
        await recorder.wait_mails(1, timeout=4.0)
        assert recorder.handled_at[0] - delivered < 1.8
    assert recorder.subjects() == ["polled"]
    assert WatcherState.IDLE not in recorder.states()


async def test_mail_delivered_while_an_earlier_one_is_handled_is_not_left_waiting(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    """dovecot announces such a mail during one of our commands, not in the IDLE after them: without a fresh
    search before idling the notice is lost and the mail waits for the keepalive round (10 s here)."""
    recorder = Recorder()
    delivered: dict[str, float] = {}

    async def handler(mail: FetchedMail) -> None:
        await recorder.handler(mail)
        if subject_of(mail) == "first":
            await dovecot.adeliver_lmtp(mail_user, make_mail("during"))
            delivered["during"] = time.monotonic()
            await asyncio.sleep(0.3)  # the rest of this mail's handling (the app: store, panels)

    async with running_watcher(dovecot, mail_user, recorder, handler=handler):
        await dovecot.adeliver_lmtp(mail_user, make_mail("first"))
        await recorder.wait_mails(2, timeout=FAST.keepalive_seconds + 5)
    assert recorder.subjects() == ["first", "during"]
    assert recorder.handled_at[1] - delivered["during"] < 2.0
