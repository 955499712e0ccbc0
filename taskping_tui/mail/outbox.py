"""The outbox: every notification is stored first, then sent in order, retried, and never lost.

Life of a mail (each step a committed store transaction before the next action):

    enqueue → queued ─claim→ sending ─┬→ sent
                                     ├→ retrying (temporary error; exponential backoff with jitter) → sending …
                                     └→ failed   (permanent error, or temporary ones for too long) ─resend→ queued

* Order: mails go out oldest first. A mail in ``retrying`` means the server is in trouble, so the mails
  behind it wait for it instead of overtaking it.
* Rate limit: at most ``mail.max_mails_per_minute`` mails per session per minute. A notification over
  the limit waits in ``queued`` until the window frees up, and further notifications of that session join
  the waiting mail (re-rendered, newest first) instead of becoming mails of their own.
* Restart: pending mail is sent on the next start. A mail found in ``sending`` (the app died during the
  SMTP transaction) is sent again with a visible warning — see :mod:`taskping_tui.store`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from taskping_tui.config import MailConfig
from taskping_tui.mail.compose import NotificationFacts, compose_notification
from taskping_tui.mail.sender import SendResult, SmtpSender
from taskping_tui.store import Clock, OutboxRow, Store

logger = logging.getLogger(__name__)

OutboxListener = Callable[[OutboxRow], None]
Sleep = Callable[[float], Awaitable[None]]

DEFAULT_RETRY_BASE_SECONDS = 10.0
DEFAULT_RETRY_CAP_SECONDS = 15 * 60.0
DEFAULT_GIVE_UP_AFTER_SECONDS = 24 * 3600.0
RATE_WINDOW_SECONDS = 60.0


class MailSender(Protocol):
    async def send(self, message: bytes, *, sender: str, recipients: Sequence[str]) -> SendResult: ...


def backoff_delay(attempts: int, *, base: float, cap: float, jitter: float) -> float:
    """Seconds before try ``attempts + 1``: base·2^(attempts-1), ×0.5–1.5 jitter, never above ``cap``."""
    exponential = base * (2.0 ** max(0, attempts - 1))
    return min(cap, min(cap, exponential) * (0.5 + jitter))


class Outbox:
    """Queue notifications with :meth:`enqueue`; :meth:`start` runs the sending worker on the loop.

    ``ssl_context`` (when no ``sender`` is given) replaces the system trust store for the SMTP server's
    certificate, e.g. a private CA; certificates are always validated.
    """

    def __init__(
        self,
        store: Store,
        mail: MailConfig,
        *,
        sender: MailSender | None = None,
        ssl_context: ssl.SSLContext | None = None,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        host_name: str | None = None,
        retry_base_seconds: float = DEFAULT_RETRY_BASE_SECONDS,
        retry_cap_seconds: float = DEFAULT_RETRY_CAP_SECONDS,
        give_up_after_seconds: float = DEFAULT_GIVE_UP_AFTER_SECONDS,
    ) -> None:
        self.store = store
        self.mail = mail
        self.sender: MailSender = sender or SmtpSender(mail, ssl_context=ssl_context)
        self.clock: Clock = clock or store.clock
        self._sleep = sleep
        self._jitter = jitter
        self.host_name = host_name
        self.retry_base_seconds = retry_base_seconds
        self.retry_cap_seconds = retry_cap_seconds
        self.give_up_after_seconds = give_up_after_seconds
        self._listeners: list[OutboxListener] = []
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    # -- listeners ----------------------------------------------------------------------------------

    def add_listener(self, listener: OutboxListener) -> None:
        """``listener(row)`` is called after every committed state change of an outbox row."""
        self._listeners.append(listener)

    def _emit(self, row: OutboxRow | None) -> None:
        if row is None:
            return
        for listener in list(self._listeners):
            try:
                listener(row)
            except Exception:
                logger.exception("outbox listener failed")

    # -- enqueue / resend ---------------------------------------------------------------------------

    def enqueue(self, facts: NotificationFacts) -> OutboxRow:
        """Store a notification mail (committed) and wake the worker; joins a waiting mail when rate-limited."""
        now = self.clock()
        token = self.store.ensure_session_token(facts.session_id, self.mail.token_ttl_hours * 3600.0, now=now)
        merged = self._join_waiting_mail(facts, token.token, now)
        if merged is not None:
            row = merged
        else:
            composed = compose_notification(
                facts,
                token=token.token,
                mail=self.mail,
                thread_root=self.store.first_message_id(facts.session_id),
                host_name=self.host_name,
            )
            row = self.store.enqueue_mail(
                session_id=facts.session_id,
                token=token.token,
                kind=composed.kind,
                subject=composed.subject,
                sender=self.mail.address,
                recipients=self.mail.recipients,
                message_id=composed.message_id,
                message=composed.as_bytes(),
                facts=[facts.to_json()],
                scheduled_at=self._rate_limited_time(facts.session_id, now),
                now=now,
            )
        self._emit(row)
        self._wake.set()
        return row

    def _join_waiting_mail(self, facts: NotificationFacts, token: str, now: float) -> OutboxRow | None:
        waiting = self.store.untried_mail_for_session(facts.session_id)
        if waiting is None or waiting.token != token:
            return None
        notifications = [facts, *(NotificationFacts.from_json(each) for each in waiting.facts)]
        composed = compose_notification(
            notifications,
            token=token,
            mail=self.mail,
            message_id=waiting.message_id,
            thread_root=self.store.first_message_id(facts.session_id),
            host_name=self.host_name,
        )
        facts_json = [each.to_json() for each in sorted(notifications, key=lambda n: n.time, reverse=True)]
        return self.store.replace_queued_mail(
            waiting.id,
            kind=composed.kind,
            subject=composed.subject,
            message=composed.as_bytes(),
            facts=facts_json,
            now=now,
        )

    def _rate_limited_time(self, session_id: str, now: float) -> float:
        """Now, or when the session's last-minute window has room for one more mail."""
        limit = max(1, self.mail.max_mails_per_minute)
        recent = self.store.scheduled_times_since(session_id, now - RATE_WINDOW_SECONDS)
        if len(recent) < limit:
            return now
        return max(now, recent[-limit] + RATE_WINDOW_SECONDS)

    def resend(self, outbox_id: int) -> OutboxRow | None:
        """Queue a failed mail again (the panel's re-send key); None when it is not failed."""
        row = self.store.requeue_failed(outbox_id, now=self.clock())
        if row is not None:
            logger.info("outbox mail %d queued again by the user", outbox_id)
            self._emit(row)
            self._wake.set()
        return row

    # -- worker -------------------------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        """Run the worker as a task on the running loop (idempotent)."""
        if self._task is None or self._task.done():
            self._stopping = False
            for outbox_id in self.store.recovery.outbox_resent:
                self._emit(self.store.get_outbox(outbox_id))
            self._task = asyncio.create_task(self.run(), name="taskping-outbox")
        return self._task

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Let a send in progress finish (up to ``grace_seconds``), then end the worker."""
        task = self._task
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), grace_seconds)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        except Exception:
            logger.exception("outbox worker ended with an error")
        self._task = None

    async def run(self) -> None:
        """Send due mails forever (until :meth:`stop`)."""
        while not self._stopping:
            self._wake.clear()
            try:
                if await self.send_next_due():
                    continue
                if self._stopping:
                    break
                delay = self.seconds_until_next_due()
            except Exception:
                # e.g. the disk is full: keep the worker alive and try again later instead of going silent.
                logger.exception("outbox worker error; trying again in %.0f s", self.retry_base_seconds)
                delay = self.retry_base_seconds
            await self._wait(delay)

    def next_due(self, now: float | None = None) -> OutboxRow | None:
        """The oldest mail that may be sent now; a retrying mail holds back everything behind it."""
        now = self.clock() if now is None else now
        for row in self.store.pending_outbox():
            if row.next_try_at <= now:
                return row
            if row.state == "retrying":
                return None
        return None

    def seconds_until_next_due(self, now: float | None = None) -> float | None:
        now = self.clock() if now is None else now
        soonest: float | None = None
        for row in self.store.pending_outbox():
            soonest = row.next_try_at if soonest is None else min(soonest, row.next_try_at)
            if row.state == "retrying":
                break
        return None if soonest is None else max(0.0, soonest - now)

    async def send_next_due(self) -> bool:
        """Send the next due mail, if any; True when one was tried."""
        row = self.next_due()
        if row is None:
            return False
        await self._send(row)
        return True

    async def _send(self, row: OutboxRow) -> None:
        claimed = self.store.claim_for_sending(row.id, now=self.clock())
        if claimed is None:
            return
        self._emit(claimed)
        try:
            result = await self.sender.send(claimed.message, sender=claimed.sender, recipients=claimed.recipients)
        except Exception as error:  # a bug must not leave the mail stuck in "sending" until the next start
            logger.exception("sending outbox mail %d crashed", claimed.id)
            result = SendResult("permanent", f"internal error while sending: {type(error).__name__}: {error}")
        self._emit(self._record_result(claimed, result))

    def _record_result(self, row: OutboxRow, result: SendResult) -> OutboxRow | None:
        now = self.clock()
        if result.ok:
            # Ids only: the subject carries the user's prompt text, and logs hold no mail text.
            logger.info("outbox mail %d sent (token %s, Message-ID %s)", row.id, row.token, row.message_id)
            return self.store.mark_sent(row.id, warning=result.warning, now=now)
        if result.outcome == "temporary" and now - row.created_at < self.give_up_after_seconds:
            delay = backoff_delay(
                row.attempts, base=self.retry_base_seconds, cap=self.retry_cap_seconds, jitter=self._jitter()
            )
            logger.info("outbox mail %d: %s; next try in %.0f s", row.id, result.message, delay)
            return self.store.mark_retrying(row.id, error=result.message, next_try_at=now + delay, now=now)
        if result.outcome == "temporary":
            hours = self.give_up_after_seconds / 3600.0
            error = f"gave up after {row.attempts} tries in {hours:g} h; last error: {result.message}"
        else:
            error = result.message
        logger.warning("outbox mail %d failed: %s", row.id, error)
        return self.store.mark_failed(row.id, error=error, now=now)

    async def _wait(self, timeout: float | None) -> None:
        """Until :meth:`enqueue` / :meth:`resend` / :meth:`stop` wakes us, or ``timeout`` seconds pass."""
        waiters: list[asyncio.Future[object]] = [asyncio.ensure_future(self._wake.wait())]
        if timeout is not None:
            waiters.append(asyncio.ensure_future(self._sleep(timeout)))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
