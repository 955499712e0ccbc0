"""Notification mail through a real SMTP server (aiosmtpd on 127.0.0.1): delivery, TLS, retries, restarts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from taskping_tui.config import MailConfig, SmtpConfig
from taskping_tui.mail.compose import NotificationFacts
from taskping_tui.mail.outbox import Outbox
from taskping_tui.mail.sender import SmtpSender
from taskping_tui.store import CRASH_WHILE_SENDING_WARNING, OutboxRow, Store
from tests.support.smtp_fixtures import PASSWORD, RECIPIENT, SmtpServer, SmtpServerFactory

FAST_RETRY = dict(retry_base_seconds=0.05, retry_cap_seconds=0.2)
WHEN = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)


def turn_finished(
    prompt: str = "fix the login test",
    answer: str = "Done: 12 tests pass.",
    session_id: str = "sess-1",
    offset: float = 0.0,
) -> NotificationFacts:
    return NotificationFacts(
        kind="turn_finished",
        summary="The agent finished its turn.",
        session_id=session_id,
        cwd="/home/ann/webshop",
        prompt=prompt,
        last_assistant_message=answer,
        time=WHEN + timedelta(seconds=offset),
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "state" / "store.sqlite3")
    yield opened
    opened.close()


class Recorder:
    """Collects (id, state) from outbox callbacks, as the Notifications panel would."""

    def __init__(self) -> None:
        self.events: list[tuple[int, str]] = []

    def __call__(self, row: OutboxRow) -> None:
        self.events.append((row.id, row.state))

    def states(self, outbox_id: int) -> list[str]:
        return [state for each, state in self.events if each == outbox_id]


async def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def state_of(store: Store, outbox_id: int) -> str:
    row = store.get_outbox(outbox_id)
    assert row is not None
    return row.state


@pytest.fixture
async def running() -> AsyncIterator[Callable[[Outbox], Outbox]]:
    started: list[Outbox] = []

    def start(outbox: Outbox) -> Outbox:
        outbox.start()
        started.append(outbox)
        return outbox

    yield start
    for outbox in started:
        await outbox.stop(grace_seconds=1.0)


def make_outbox(store: Store, server: SmtpServer, mail: MailConfig | None = None, **options) -> Outbox:
    mail = mail or server.mail_config()
    sender = SmtpSender(mail, ssl_context=server.client_ssl_context())
    return Outbox(store, mail, sender=sender, host_name="devbox", **{**FAST_RETRY, **options})


# -- delivery ----------------------------------------------------------------------------------------


async def test_mail_arrives_with_headers_both_parts_and_is_recorded(
    store: Store, smtp_server: SmtpServer, running
) -> None:
    outbox = make_outbox(store, smtp_server)
    recorder = Recorder()
    outbox.add_listener(recorder)
    row = outbox.enqueue(turn_finished())
    assert row.state == "queued"
    running(outbox)
    await wait_until(lambda: state_of(store, row.id) == "sent")

    assert recorder.states(row.id) == ["queued", "sending", "sent"]
    [received] = smtp_server.messages
    assert received.rcpt_tos == [RECIPIENT]
    message = received.message
    token = row.token
    assert message["Subject"] == f"[TaskPing #{token}] Turn finished — webshop: fix the login test"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-TaskPing-Session"] == "sess-1"
    assert message["Message-ID"] == row.message_id
    assert message.get_body(("plain",)).get_content().count("Done: 12 tests pass.") == 1
    assert "Done: 12 tests pass." in message.get_body(("html",)).get_content()
    assert store.token_status(token).state == "active"
    assert store.token_for_message_ids([message["Message-ID"]]) == token
    sent = store.get_outbox(row.id)
    assert sent is not None and sent.sent_at is not None and sent.attempts == 1


async def test_later_mails_thread_under_the_first(store: Store, smtp_server: SmtpServer, running) -> None:
    outbox = running(make_outbox(store, smtp_server))
    first = outbox.enqueue(turn_finished())
    await wait_until(lambda: state_of(store, first.id) == "sent")
    second = outbox.enqueue(turn_finished(prompt="now the signup test", offset=60))
    await wait_until(lambda: state_of(store, second.id) == "sent")
    first_mail, second_mail = (each.message for each in smtp_server.messages)
    assert second_mail["In-Reply-To"] == first_mail["Message-ID"]
    assert second_mail["References"] == first_mail["Message-ID"]
    assert second.token == first.token


async def test_starttls_with_self_signed_cert_and_auth(
    store: Store, smtp_server_factory: SmtpServerFactory, running
) -> None:
    server = smtp_server_factory(security="starttls", auth=True)
    outbox = running(make_outbox(store, server))
    row = outbox.enqueue(turn_finished())
    await wait_until(lambda: state_of(store, row.id) == "sent")
    assert len(server.messages) == 1
    assert server.authenticator.attempts == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_implicit_tls(store: Store, smtp_server_factory: SmtpServerFactory, running) -> None:
    server = smtp_server_factory(security="tls", auth=True)
    outbox = running(make_outbox(store, server))
    row = outbox.enqueue(turn_finished())
    await wait_until(lambda: state_of(store, row.id) == "sent")
    assert len(server.messages) == 1


async def test_untrusted_certificate_fails_without_sending(
    store: Store, smtp_server_factory: SmtpServerFactory, running
) -> None:
    server = smtp_server_factory(security="starttls", auth=True)
    mail = server.mail_config()
    outbox = running(Outbox(store, mail, sender=SmtpSender(mail), **FAST_RETRY))  # default trust store
    row = outbox.enqueue(turn_finished())
    await wait_until(lambda: state_of(store, row.id) == "failed")
    failed = store.get_outbox(row.id)
    assert failed is not None and "certificate" in failed.last_error and failed.attempts == 1
    assert server.messages == [] and server.authenticator.attempts == 0


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_starttls_setting_never_logs_in_over_plain_text(
    store: Store, smtp_server_factory: SmtpServerFactory, running
) -> None:
    server = smtp_server_factory(auth=True)  # offers AUTH but no STARTTLS
    mail = server.mail_config(smtp=SmtpConfig(host=server.host, port=server.port, security="starttls"))
    outbox = running(Outbox(store, mail, **FAST_RETRY))
    row = outbox.enqueue(turn_finished())
    await wait_until(lambda: state_of(store, row.id) == "failed")
    failed = store.get_outbox(row.id)
    assert failed is not None and "STARTTLS" in failed.last_error
    assert server.authenticator.attempts == 0, "the password never went over the wire"
    assert server.messages == []


async def test_security_none_to_a_remote_host_is_refused(store: Store, running) -> None:
    mail = MailConfig(
        enabled=True,
        address="bot@example.org",
        recipients=[RECIPIENT],
        password="pw",
        smtp=SmtpConfig(host="smtp.example.org", port=25, security="none"),
    )
    outbox = running(Outbox(store, mail, **FAST_RETRY))
    row = outbox.enqueue(turn_finished())
    await wait_until(lambda: state_of(store, row.id) == "failed")
    failed = store.get_outbox(row.id)
    assert failed is not None and 'security = "none" is only allowed for a loopback host' in failed.last_error


# -- errors and retries ------------------------------------------------------------------------------


async def test_server_down_then_back_delivers_after_retries(
    store: Store, smtp_server_factory: SmtpServerFactory, running
) -> None:
    server = smtp_server_factory(start=False)
    outbox = make_outbox(store, server)
    recorder = Recorder()
    outbox.add_listener(recorder)
    running(outbox)
    row = outbox.enqueue(turn_finished())
    await wait_until(lambda: recorder.states(row.id).count("retrying") >= 2)
    retrying = store.get_outbox(row.id)
    assert retrying is not None and "cannot talk to" in retrying.last_error
    server.start()
    await wait_until(lambda: state_of(store, row.id) == "sent")
    assert len(server.messages) == 1


async def test_421_is_retried_then_delivered(store: Store, smtp_server: SmtpServer, running) -> None:
    smtp_server.handler.answer_next_data_with("421 4.3.2 Service shutting down, try later")
    outbox = make_outbox(store, smtp_server)
    recorder = Recorder()
    outbox.add_listener(recorder)
    running(outbox)
    row = outbox.enqueue(turn_finished())
    await wait_until(lambda: state_of(store, row.id) == "sent")
    assert recorder.states(row.id) == ["queued", "sending", "retrying", "sending", "sent"]
    assert len(smtp_server.messages) == 1


@pytest.mark.parametrize("reply", ["550 5.7.1 Message rejected as spam", "554 5.6.0 Content refused"])
async def test_5xx_fails_at_once_with_the_servers_words(
    store: Store, smtp_server: SmtpServer, running, reply: str
) -> None:
    smtp_server.handler.answer_next_data_with(reply)
    outbox = running(make_outbox(store, smtp_server))
    row = outbox.enqueue(turn_finished())
    await wait_until(lambda: state_of(store, row.id) == "failed")
    await asyncio.sleep(0.3)  # several retry periods: there must be none
    failed = store.get_outbox(row.id)
    assert failed is not None and reply.split(" ", 1)[1] in failed.last_error and failed.attempts == 1
    assert smtp_server.handler.data_commands == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_wrong_password_535_fails_and_resend_works_after_fixing_it(
    store: Store, smtp_server_factory: SmtpServerFactory, running
) -> None:
    server = smtp_server_factory(auth=True)
    mail = server.mail_config(password="wrong", password_env="TP_TEST_SMTP_PASSWORD")
    outbox = running(Outbox(store, mail, sender=SmtpSender(mail), **FAST_RETRY))
    row = outbox.enqueue(turn_finished())
    await wait_until(lambda: state_of(store, row.id) == "failed")
    failed = store.get_outbox(row.id)
    assert failed is not None and "login" in failed.last_error and "535" in failed.last_error
    assert "wrong" not in failed.last_error
    assert server.messages == []

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TP_TEST_SMTP_PASSWORD", PASSWORD)
        assert outbox.resend(row.id) is not None
        await wait_until(lambda: state_of(store, row.id) == "sent")
    assert len(server.messages) == 1
    assert outbox.resend(row.id) is None, "a sent mail cannot be re-sent"


async def test_some_recipients_refused_counts_as_sent_with_a_warning(
    store: Store, smtp_server: SmtpServer, running
) -> None:
    smtp_server.handler.refused_recipients["gone@phone.example"] = "550 5.1.1 No such user"
    mail = smtp_server.mail_config(recipients=[RECIPIENT, "gone@phone.example"])
    outbox = running(make_outbox(store, smtp_server, mail))
    row = outbox.enqueue(turn_finished())
    await wait_until(lambda: state_of(store, row.id) == "sent")
    sent = store.get_outbox(row.id)
    assert sent is not None and "gone@phone.example" in sent.warning and "550" in sent.warning
    assert smtp_server.messages[0].rcpt_tos == [RECIPIENT]


async def test_all_recipients_refused_is_permanent(store: Store, smtp_server: SmtpServer, running) -> None:
    smtp_server.handler.refused_recipients[RECIPIENT] = "550 5.1.1 No such user"
    outbox = running(make_outbox(store, smtp_server))
    row = outbox.enqueue(turn_finished())
    await wait_until(lambda: state_of(store, row.id) == "failed")
    failed = store.get_outbox(row.id)
    assert failed is not None and "refused every recipient" in failed.last_error
    assert smtp_server.messages == []


async def test_mails_behind_a_retrying_one_keep_their_order(store: Store, smtp_server: SmtpServer, running) -> None:
    smtp_server.handler.answer_next_data_with("451 4.3.0 Temporary failure")
    outbox = make_outbox(store, smtp_server, retry_base_seconds=0.2, retry_cap_seconds=0.3)
    first = outbox.enqueue(turn_finished(prompt="first", session_id="a"))
    second = outbox.enqueue(turn_finished(prompt="second", session_id="b"))
    running(outbox)
    await wait_until(lambda: state_of(store, second.id) == "sent")
    assert state_of(store, first.id) == "sent"
    assert [m.message["Subject"].rsplit(": ", 1)[1] for m in smtp_server.messages] == ["first", "second"]


# -- restarts ----------------------------------------------------------------------------------------


async def test_pending_mail_is_sent_after_restart_exactly_once(
    tmp_path: Path, smtp_server: SmtpServer, running
) -> None:
    path = tmp_path / "store.sqlite3"
    with Store.open(path) as first_run:
        row = make_outbox(first_run, smtp_server).enqueue(turn_finished())  # app quits before the worker runs
    assert smtp_server.messages == []
    for _ in range(2):  # two more starts: the mail goes out on the first, and never again
        with Store.open(path) as next_run:
            outbox = running(make_outbox(next_run, smtp_server))
            await wait_until(lambda: state_of(next_run, row.id) == "sent")
            await asyncio.sleep(0.2)
            await outbox.stop()
    assert len(smtp_server.messages) == 1


async def test_mail_interrupted_while_sending_is_resent_with_warning(
    tmp_path: Path, smtp_server: SmtpServer, running
) -> None:
    path = tmp_path / "store.sqlite3"
    with Store.open(path) as crashed:
        row = make_outbox(crashed, smtp_server).enqueue(turn_finished())
        crashed.claim_for_sending(row.id)  # the app dies during the SMTP transaction
    with Store.open(path) as restarted:
        assert restarted.recovery.outbox_resent == (row.id,)
        outbox = make_outbox(restarted, smtp_server)
        recorder = Recorder()
        outbox.add_listener(recorder)
        running(outbox)
        await wait_until(lambda: state_of(restarted, row.id) == "sent")
        sent = restarted.get_outbox(row.id)
        assert sent is not None and sent.warning == CRASH_WHILE_SENDING_WARNING
        assert recorder.states(row.id)[0] == "retrying", "the panel hears about the recovered mail at start"
    assert len(smtp_server.messages) == 1


# -- rate limit --------------------------------------------------------------------------------------


class ManualClock:
    """A clock tests move by hand; ``sleep`` returns once the clock has been moved far enough."""

    def __init__(self, now: float) -> None:
        self.now = now
        self._moved = asyncio.Event()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self._moved.set()

    async def sleep(self, seconds: float) -> None:
        target = self.now + seconds
        while self.now < target:
            self._moved.clear()
            await self._moved.wait()


async def test_burst_over_the_rate_limit_is_coalesced_into_one_mail(
    tmp_path: Path, smtp_server: SmtpServer, running
) -> None:
    clock = ManualClock(1_800_000_000.0)
    with Store.open(tmp_path / "store.sqlite3", clock=clock) as store:
        mail = smtp_server.mail_config(max_mails_per_minute=1)
        outbox = running(make_outbox(store, smtp_server, mail, sleep=clock.sleep))
        first = outbox.enqueue(turn_finished(prompt="task one", answer="answer one"))
        await wait_until(lambda: state_of(store, first.id) == "sent")

        clock.advance(5)
        held = outbox.enqueue(turn_finished(prompt="task two", answer="answer two", offset=5))
        assert held.next_try_at == first.scheduled_at + 60
        clock.advance(5)
        joined = outbox.enqueue(turn_finished(prompt="task three", answer="answer three", offset=10))
        assert joined.id == held.id and joined.notification_count == 2
        await asyncio.sleep(0.2)
        assert len(smtp_server.messages) == 1, "held back by the rate limit"

        clock.advance(50)
        await wait_until(lambda: state_of(store, held.id) == "sent")
        assert len(smtp_server.messages) == 2
        burst = smtp_server.messages[1].message
        assert burst["Subject"].endswith("Turn finished (+1 earlier) — webshop: task three")
        text = burst.get_body(("plain",)).get_content()
        assert text.index("answer three") < text.index("answer two")
        assert burst["In-Reply-To"] == smtp_server.messages[0].message["Message-ID"]


async def test_rate_limit_is_per_session(tmp_path: Path, smtp_server: SmtpServer, running) -> None:
    clock = ManualClock(1_800_000_000.0)
    with Store.open(tmp_path / "store.sqlite3", clock=clock) as store:
        mail = smtp_server.mail_config(max_mails_per_minute=1)
        outbox = running(make_outbox(store, smtp_server, mail, sleep=clock.sleep))
        rows = [outbox.enqueue(turn_finished(session_id=f"session-{n}")) for n in range(3)]
        await wait_until(lambda: all(state_of(store, row.id) == "sent" for row in rows))
        assert len(smtp_server.messages) == 3
        assert len({row.token for row in rows}) == 3


# -- pieces ------------------------------------------------------------------------------------------


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    from taskping_tui.mail.outbox import backoff_delay

    assert backoff_delay(1, base=10, cap=900, jitter=0.5) == 10
    assert backoff_delay(3, base=10, cap=900, jitter=0.5) == 40
    assert backoff_delay(3, base=10, cap=900, jitter=0.0) == 20
    assert backoff_delay(3, base=10, cap=900, jitter=0.999) < 60
    assert backoff_delay(20, base=10, cap=900, jitter=0.999) == 900


async def test_temporary_errors_for_too_long_end_in_failed(
    store: Store, smtp_server_factory: SmtpServerFactory, running
) -> None:
    server = smtp_server_factory(start=False)
    outbox = running(make_outbox(store, server, give_up_after_seconds=0.3))
    row = outbox.enqueue(turn_finished())
    await wait_until(lambda: state_of(store, row.id) == "failed")
    failed = store.get_outbox(row.id)
    assert failed is not None and failed.last_error.startswith("gave up after")


async def test_stop_lets_a_send_in_progress_finish(store: Store, smtp_server: SmtpServer) -> None:
    outbox = make_outbox(store, smtp_server)
    recorder = Recorder()
    outbox.add_listener(recorder)
    row = outbox.enqueue(turn_finished())
    outbox.start()
    await wait_until(lambda: "sending" in recorder.states(row.id))
    await outbox.stop(grace_seconds=5.0)
    assert state_of(store, row.id) == "sent"
    assert len(smtp_server.messages) == 1
