"""The IMAP watcher: turns each new mail in the service mailbox into one handler call, in UID order.

Loop per connection: connect (TLS, or plain to loopback only) → LOGIN → ID (optional) → SELECT →
re-sync → IDLE rounds (or polling when the server has no IDLE). A push is only a hint: every round
ends in a re-sync by `UID SEARCH UID <last+1>:*`. For each new UID, ascending:

    RFC822.SIZE → BODY.PEEK[] (only when small enough) → await handler(mail) → save cursor → \\Seen

The handler commits the mail's outcome in the store before it returns; the cursor (UIDVALIDITY, last
UID) is saved right after, and \\Seen is set last, so a crash between any two steps never loses a
mail and at worst hands the same UID to the handler again (its dedup by Message-ID / UID catches it).
Any connection failure throws the aioimaplib client away and reconnects with capped backoff + jitter.
"""

from __future__ import annotations

import asyncio
import enum
import ipaddress
import logging
import random
import ssl
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from taskping_tui import __version__
from taskping_tui.config import ImapConfig, MailConfig
from taskping_tui.errors import TaskPingError
from taskping_tui.mail.imap_client import (
    ConnectionDead,
    ImapError,
    ImapRefused,
    ImapSession,
    LoginRefused,
    SelectedMailbox,
)

logger = logging.getLogger(__name__)

CLIENT_ID = {"name": "taskping-tui", "version": __version__, "vendor": "taskping-tui"}
# Polling faster than this only burdens the server; IDLE is the fast path.
MIN_POLL_SECONDS = 1.0


class WatcherSetupError(TaskPingError, ValueError):
    """The watcher cannot run with these settings (e.g. a plain-text connection to a remote host)."""


@dataclass(frozen=True)
class FetchedMail:
    """One new mail as the handler receives it. ``raw`` is None exactly when ``too_big`` is True."""

    uidvalidity: int
    uid: int
    size: int
    raw: bytes | None
    too_big: bool


class CursorStore(Protocol):
    """Durable (UIDVALIDITY, last handled UID) per mailbox; implemented by taskping_tui.store."""

    def load_cursor(self, mailbox_key: str) -> tuple[int, int] | None: ...

    def save_cursor(self, mailbox_key: str, uidvalidity: int, last_uid: int) -> None: ...


MailHandler = Callable[[FetchedMail], Awaitable[None]]
# Builds one connection: (host, port, ssl_context or None for plain, response timeout) → session.
SessionFactory = Callable[[str, int, "ssl.SSLContext | None", float], ImapSession]


def default_session_factory(host: str, port: int, ssl_context: ssl.SSLContext | None, timeout: float) -> ImapSession:
    return ImapSession(host, port, ssl_context=ssl_context, response_timeout=timeout)


class WatcherState(enum.StrEnum):
    STARTING = "starting"
    CONNECTING = "connecting"
    IDLE = "idle"
    POLLING = "polling"
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"


@dataclass(frozen=True)
class WatcherStatus:
    """What the UI shows. ``last_error`` never contains the password."""

    state: WatcherState
    detail: str = ""
    retry_in: float | None = None
    last_error: str | None = None
    since: float = field(default_factory=time.time)
    # The last connection ended because the server refused the login: retrying will not help by itself.
    login_refused: bool = False

    @property
    def text(self) -> str:
        parts = [self.detail or self.state.value]
        if self.last_error:
            parts.append(f"last error: {self.last_error}")
        return " — ".join(parts)


StatusCallback = Callable[[WatcherStatus], None]


@dataclass(frozen=True)
class WatcherTimings:
    """Every delay the watcher uses; tests shrink them."""

    # Re-issue IDLE at least this often (Gmail drops clients idling near 10 minutes).
    idle_refresh_seconds: float = 540.0
    # No data at all for this long during IDLE → end the round; the DONE answer then proves the link.
    keepalive_seconds: float = 120.0
    # Connect + greeting, and every command's answer.
    response_timeout_seconds: float = 20.0
    backoff_initial_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    # A handler failure is retried after this (doubling per attempt, capped by backoff_max_seconds) ...
    handler_retry_seconds: float = 2.0
    # ... and after this many failed attempts the mail is skipped (left unread) so it cannot block later mail.
    handler_max_attempts: int = 5


class Backoff:
    """Exponential backoff with "equal jitter": a delay in [d/2, d], d doubling from initial up to max."""

    def __init__(self, initial: float, maximum: float, rng: random.Random | None = None) -> None:
        self.initial = initial
        self.maximum = maximum
        self.attempts = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.maximum, self.initial * (2 ** min(self.attempts, 30)))
        self.attempts += 1
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        self.attempts = 0


def is_loopback_host(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def format_seconds(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"


def make_mailbox_key(login: str, host: str, port: int, mailbox: str) -> str:
    return f"{login}@{host}:{port}/{mailbox}"


@dataclass
class _Cursor:
    uidvalidity: int
    last_uid: int


@dataclass
class _HandlerFailure:
    attempts: int
    retry_at: float


class MailWatcher:
    """Watches one mailbox and calls ``handler`` once per new mail. Run with ``start()``, end with ``stop()``."""

    def __init__(
        self,
        imap: ImapConfig,
        login: str,
        password: str,
        store: CursorStore,
        handler: MailHandler,
        *,
        on_status: StatusCallback | None = None,
        timings: WatcherTimings | None = None,
        ssl_context: ssl.SSLContext | None = None,
        rng: random.Random | None = None,
        session_factory: SessionFactory = default_session_factory,
    ) -> None:
        if imap.security == "none" and not is_loopback_host(imap.host):
            raise WatcherSetupError(
                f"refusing a plain-text IMAP connection to {imap.host}: the password would travel in clear; "
                'use security = "tls" (port 993)'
            )
        self._imap = imap
        self._login = login
        self._password = password
        self._store = store
        self._handler = handler
        self._on_status = on_status
        self._timings = timings or WatcherTimings()
        self._ssl_context = ssl_context
        self._session_factory = session_factory
        self._backoff = Backoff(self._timings.backoff_initial_seconds, self._timings.backoff_max_seconds, rng)
        self._cursor: _Cursor | None = None
        self._failures: dict[tuple[int, int], _HandlerFailure] = {}
        self._unseen_after_crash: set[tuple[int, int]] = set()
        self._connection_error: str | None = None
        self._login_refused = False
        self._handler_error: str | None = None
        self._status = WatcherStatus(WatcherState.STARTING)
        self._task: asyncio.Task[None] | None = None
        self._session: ImapSession | None = None
        self.mailbox_key = make_mailbox_key(login, imap.host, imap.port, imap.mailbox)

    @classmethod
    def from_config(
        cls,
        mail: MailConfig,
        password: str,
        store: CursorStore,
        handler: MailHandler,
        *,
        on_status: StatusCallback | None = None,
        timings: WatcherTimings | None = None,
    ) -> MailWatcher:
        """Build from the [mail] section (login = mail.username or mail.address)."""
        return cls(mail.imap, mail.login, password, store, handler, on_status=on_status, timings=timings)

    # -- public control -----------------------------------------------------------------------------

    @property
    def status(self) -> WatcherStatus:
        return self._status

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> asyncio.Task[None]:
        """Run in a background task on the current loop (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name=f"mail-watcher {self.mailbox_key}")
        return self._task

    async def stop(self) -> None:
        """Stop watching and close the connection (LOGOUT when possible). Safe to call twice."""
        task = self._task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        elif self._session is not None:
            await self._session.close()
        self._set_status(WatcherState.STOPPED, "mail watcher stopped")

    async def run(self) -> None:
        """Watch until cancelled. Never returns on errors: it reports them and reconnects."""
        self._task = self._task or asyncio.current_task()
        try:
            while True:
                error = await self._one_connection()
                delay = self._backoff.next_delay()
                self._set_status(
                    WatcherState.RECONNECTING,
                    f"reconnecting in {format_seconds(delay)}",
                    retry_in=delay,
                    error=error,
                    login_refused=self._login_refused,
                )
                await asyncio.sleep(delay)
        finally:
            self._set_status(WatcherState.STOPPED, "mail watcher stopped")

    # -- one connection -----------------------------------------------------------------------------

    async def _one_connection(self) -> str:
        """Connect and watch until the connection fails; returns the failure, redacted."""
        self._set_status(
            WatcherState.CONNECTING,
            f"connecting to {self._imap.host}:{self._imap.port}",
            login_refused=self._login_refused,
        )
        self._login_refused = False
        session = self._session_factory(
            self._imap.host, self._imap.port, self._tls_context(), self._timings.response_timeout_seconds
        )
        self._session = session
        try:
            await self._open(session)
            if session.has_capability("IDLE"):
                await self._idle_loop(session)
            else:
                await self._poll_loop(session)
            return "connection ended"  # the loops only return when the session died quietly
        except LoginRefused as error:
            self._login_refused = True
            return self._report_error("login refused", error)
        except (ConnectionDead, ImapRefused) as error:
            return self._report_error("IMAP connection failed", error)
        except Exception as error:  # a store failure or a bug must not end the watcher
            logger.error("mail watcher error on %s:\n%s", self.mailbox_key, self._format_traceback(error))
            return self._redact(f"{type(error).__name__}: {error}")
        finally:
            self._session = None
            await asyncio.shield(self._close_quietly(session))

    async def _close_quietly(self, session: ImapSession) -> None:
        if session.is_dead:
            session.abort()
        else:
            await session.close()

    def _report_error(self, what: str, error: ImapError) -> str:
        text = self._redact(str(error))
        logger.warning("%s (%s): %s", what, self.mailbox_key, text)
        return text

    def _tls_context(self) -> ssl.SSLContext | None:
        if self._imap.security == "none":
            return None
        return self._ssl_context or ssl.create_default_context()

    async def _open(self, session: ImapSession) -> None:
        await session.connect()
        await session.login(self._login, self._password)
        if self._imap.send_id:
            await session.send_id(**CLIENT_ID)
        selected = await session.select(self._imap.mailbox)
        await self._adopt_cursor(session, selected)
        await self._sync(session, refresh=False)
        self._backoff.reset()

    async def _adopt_cursor(self, session: ImapSession, selected: SelectedMailbox) -> None:
        """Load the saved cursor; on first start or a UIDVALIDITY change, start after the newest mail."""
        if self._cursor is None:
            saved = self._store.load_cursor(self.mailbox_key)
            if saved is not None:
                self._cursor = _Cursor(*saved)
        if self._cursor is not None and self._cursor.uidvalidity == selected.uidvalidity:
            return
        newest = selected.uidnext - 1 if selected.uidnext is not None else await session.highest_uid()
        if self._cursor is None:
            logger.info("first start on %s: ignoring the %d mail(s) already there", self.mailbox_key, selected.exists)
        else:
            logger.warning(
                "UIDVALIDITY of %s changed from %d to %d: the server renumbered the mailbox; mail already in it "
                "is not processed again, watching from UID %d on",
                self.mailbox_key,
                self._cursor.uidvalidity,
                selected.uidvalidity,
                newest + 1,
            )
            self._failures.clear()
            self._unseen_after_crash.clear()
        self._cursor = _Cursor(selected.uidvalidity, max(newest, 0))
        self._store.save_cursor(self.mailbox_key, self._cursor.uidvalidity, self._cursor.last_uid)

    # -- waiting for mail -----------------------------------------------------------------------------

    async def _idle_loop(self, session: ImapSession) -> None:
        timings = self._timings
        while True:
            self._set_status(WatcherState.IDLE, f"waiting for mail (IDLE on {self._imap.mailbox})")
            result = await session.idle(
                round_seconds=self._until_retry(timings.idle_refresh_seconds),
                silence_seconds=timings.keepalive_seconds,
            )
            # Pushes are hints; a quiet round may have hidden one in a lost packet. Re-sync either way.
            await self._sync(session, refresh=not result.has_news)

    async def _poll_loop(self, session: ImapSession) -> None:
        poll = max(self._imap.poll_seconds, MIN_POLL_SECONDS)
        while True:
            self._set_status(WatcherState.POLLING, f"checking every {poll:g} s (server has no IDLE)")
            await asyncio.sleep(self._until_retry(poll))
            await self._sync(session, refresh=True)

    def _until_retry(self, limit: float) -> float:
        """``limit`` shortened so that a pending handler retry is not late."""
        if not self._failures:
            return limit
        soonest = min(failure.retry_at for failure in self._failures.values())
        return max(0.05, min(limit, soonest - time.monotonic()))

    # -- processing mail ------------------------------------------------------------------------------

    async def _sync(self, session: ImapSession, *, refresh: bool) -> None:
        """Hand every mail after the cursor to the handler, in UID order, stopping at a failing one.

        After each batch the mailbox is searched again, until a search finds nothing new: a mail
        delivered while the batch was being fetched is announced (EXISTS) during one of our commands,
        not during the IDLE that follows, so without a fresh search its notice would be lost and the
        mail would wait for the next push or the IDLE refresh.
        """
        cursor = self._require_cursor()
        if refresh:
            await session.noop()  # lets servers like dovecot notice mail delivered since the last command
        await self._retry_pending_seen(session, cursor)
        while uids := await session.uids_after(cursor.last_uid):
            for uid in uids:
                if not await self._process(session, cursor, uid):
                    return  # a handler failure: retried later (see _until_retry), not in a tight loop

    async def _process(self, session: ImapSession, cursor: _Cursor, uid: int) -> bool:
        """One mail through fetch → handler → cursor → \\Seen; False when the handler failed (retry later)."""
        key = (cursor.uidvalidity, uid)
        failure = self._failures.get(key)
        if failure is not None and time.monotonic() < failure.retry_at:
            return False
        size = await session.fetch_size(uid)
        if size is None:
            logger.info("mail UID %d vanished from %s before it was fetched", uid, self.mailbox_key)
            self._advance(cursor, uid)
            return True
        too_big = size > self._imap.max_mail_bytes
        raw = None if too_big else await session.fetch_body(uid, size)
        if raw is None and not too_big:
            logger.info("mail UID %d vanished from %s while it was fetched", uid, self.mailbox_key)
            self._advance(cursor, uid)
            return True
        mail = FetchedMail(uidvalidity=cursor.uidvalidity, uid=uid, size=size, raw=raw, too_big=too_big)
        try:
            await self._handler(mail)
        except Exception as error:
            return self._handler_failed(cursor, uid, error)
        self._failures.pop(key, None)
        if self._handler_error is not None:
            self._set_handler_error(None)
        self._advance(cursor, uid)
        await self._mark_seen(session, cursor, uid)
        return True

    def _handler_failed(self, cursor: _Cursor, uid: int, error: Exception) -> bool:
        key = (cursor.uidvalidity, uid)
        previous = self._failures.get(key)
        attempts = (previous.attempts if previous else 0) + 1
        text = self._redact(f"{type(error).__name__}: {error}")
        if attempts >= self._timings.handler_max_attempts:
            logger.error(
                "mail UID %d in %s failed %d times; skipping it, it stays unread in the mailbox:\n%s",
                uid,
                self.mailbox_key,
                attempts,
                self._format_traceback(error),
            )
            self._failures.pop(key, None)
            self._advance(cursor, uid)
            self._set_handler_error(f"mail UID {uid} skipped after {attempts} failed attempts: {text}")
            return True
        delay = min(self._timings.handler_retry_seconds * 2 ** (attempts - 1), self._timings.backoff_max_seconds)
        logger.warning(
            "handling mail UID %d in %s failed (attempt %d, retry in %.1f s):\n%s",
            uid,
            self.mailbox_key,
            attempts,
            delay,
            self._format_traceback(error),
        )
        self._failures[key] = _HandlerFailure(attempts=attempts, retry_at=time.monotonic() + delay)
        self._set_handler_error(f"handling mail UID {uid} failed, retrying in {format_seconds(delay)}: {text}")
        return False

    def _advance(self, cursor: _Cursor, uid: int) -> None:
        last_uid = max(cursor.last_uid, uid)
        self._store.save_cursor(self.mailbox_key, cursor.uidvalidity, last_uid)
        cursor.last_uid = last_uid  # only once it is durable: a failed save must hand the mail over again

    async def _mark_seen(self, session: ImapSession, cursor: _Cursor, uid: int) -> None:
        key = (cursor.uidvalidity, uid)
        self._unseen_after_crash.add(key)  # if STORE dies with the connection, retry it after reconnecting
        try:
            await session.mark_seen(uid)
        except ImapRefused as error:  # e.g. a read-only mailbox: the cursor still protects us
            logger.warning("could not mark mail UID %d as seen: %s", uid, error)
        self._unseen_after_crash.discard(key)

    async def _retry_pending_seen(self, session: ImapSession, cursor: _Cursor) -> None:
        for validity, uid in sorted(self._unseen_after_crash):
            if validity == cursor.uidvalidity:
                await self._mark_seen(session, cursor, uid)
            else:
                self._unseen_after_crash.discard((validity, uid))

    def _require_cursor(self) -> _Cursor:
        if self._cursor is None:
            raise RuntimeError("cursor used before SELECT")
        return self._cursor

    # -- status ---------------------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        if self._password:
            text = text.replace(self._password, "***")
        return text

    def _format_traceback(self, error: BaseException) -> str:
        return self._redact("".join(traceback.format_exception(error)).rstrip())

    def _set_status(
        self,
        state: WatcherState,
        detail: str,
        *,
        retry_in: float | None = None,
        error: str | None = None,
        login_refused: bool = False,
    ) -> None:
        if error is not None:
            self._connection_error = self._redact(error)
        elif state in (WatcherState.IDLE, WatcherState.POLLING):
            self._connection_error = None  # connected again: the old connection error is history
        self._publish(
            WatcherStatus(
                state=state,
                detail=detail,
                retry_in=retry_in,
                last_error=self._last_error(),
                login_refused=login_refused,
            )
        )

    def _set_handler_error(self, error: str | None) -> None:
        """A handler problem stays visible until a later mail is handled successfully."""
        self._handler_error = self._redact(error) if error is not None else None
        self._publish(replace(self._status, last_error=self._last_error(), since=time.time()))

    def _last_error(self) -> str | None:
        return self._connection_error or self._handler_error

    def _publish(self, status: WatcherStatus) -> None:
        if status == replace(self._status, since=status.since):
            return
        self._status = status
        if self._on_status is not None:
            try:
                self._on_status(status)
            except Exception:
                logger.exception("mail watcher status callback failed")
