"""The app's durable state: one SQLite file (stdlib ``sqlite3``), WAL mode, private to the user.

Rule for every caller: a state change is one committed transaction *before* the side effect it allows
(send a mail, type into the agent, mark a mail \\Seen). After a crash the store therefore tells the truth
about what may have happened, and start-up recovery makes the uncertain cases visible instead of
repeating them blindly:

* an outbox row left in ``sending`` goes back to ``retrying`` with a warning. The SMTP server may have
  accepted that mail just before the crash — we cannot know — so the recipient may get it twice. Losing
  a notification silently is worse than a rare duplicate, and the panel shows the warning.
* a command left in ``injecting`` becomes ``unknown`` and is never typed again on our own: a duplicated
  prompt can do real damage, so the user decides after looking at the agent.

Times are Unix seconds (``float``) from an injectable clock.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from taskping_tui import paths
from taskping_tui.commands import CAN_EXPIRE, TRANSITIONS, CommandEvent, CommandState
from taskping_tui.mail.tokens import new_token, normalize_token
from taskping_tui.store_sessions import SESSIONS_SCHEMA, SessionRow, SessionStoreMixin

logger = logging.getLogger(__name__)

Clock = Callable[[], float]

TokenState = Literal["active", "expired", "revoked", "unknown"]
OutboxState = Literal["queued", "sending", "sent", "retrying", "failed"]
Verdict = Literal["accepted", "blocked", "rejected", "ignored"]

OUTBOX_STATES: tuple[str, ...] = ("queued", "sending", "sent", "retrying", "failed")
PENDING_OUTBOX_STATES: tuple[str, ...] = ("queued", "retrying")
VERDICTS: tuple[str, ...] = ("accepted", "blocked", "rejected", "ignored")
COMMAND_STATES: tuple[str, ...] = tuple(state.value for state in CommandState)
PENDING_COMMAND_STATES: tuple[str, ...] = tuple(sorted(state.value for state in CAN_EXPIRE))
_PENDING_SQL = ", ".join(f"'{state}'" for state in PENDING_COMMAND_STATES)

CRASH_WHILE_SENDING_WARNING = (
    "the app stopped while this mail was being sent; it is sent again, "
    "so the recipient may get it twice if the server had already accepted it"
)


class StoreError(Exception):
    """The store file cannot be used (wrong owner, newer schema, not a database)."""


# ---------------------------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class TokenRow:
    token: str
    session_id: str
    created_at: float
    expires_at: float
    revoked_at: float | None

    def state(self, now: float) -> TokenState:
        if self.revoked_at is not None:
            return "revoked"
        if now >= self.expires_at:
            return "expired"
        return "active"


@dataclass(frozen=True)
class TokenStatus:
    state: TokenState
    session_id: str | None = None
    token: str | None = None
    created_at: float | None = None
    expires_at: float | None = None


@dataclass(frozen=True)
class SentMessage:
    message_id: str
    token: str
    session_id: str
    outbox_id: int | None
    created_at: float


@dataclass(frozen=True)
class OutboxRow:
    id: int
    session_id: str
    token: str
    kind: str
    subject: str
    sender: str
    recipients: tuple[str, ...]
    message_id: str
    message: bytes
    facts: tuple[dict[str, Any], ...]
    state: OutboxState
    attempts: int
    scheduled_at: float
    next_try_at: float
    last_error: str
    warning: str
    sent_at: float | None
    created_at: float
    updated_at: float

    @property
    def notification_count(self) -> int:
        """How many notifications this mail carries (more than one after coalescing)."""
        return max(1, len(self.facts))


@dataclass(frozen=True)
class NewInboundMail:
    """What the watcher and the gate learned about one fetched mail, ready to be recorded."""

    verdict: Verdict
    received_at: float
    uidvalidity: int | None = None
    uid: int | None = None
    message_id: str = ""
    sender: str = ""
    subject: str = ""
    reasons: Sequence[str] = ()
    command: str | None = None
    token: str | None = None
    session_id: str | None = None
    raw_text: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    auth_result: str = ""
    danger_pattern: str | None = None


@dataclass(frozen=True)
class InboundMailRow:
    id: int
    uidvalidity: int | None
    uid: int | None
    message_id: str
    sender: str
    subject: str
    received_at: float
    verdict: Verdict
    reasons: tuple[str, ...]
    command: str | None
    token: str | None
    session_id: str | None
    raw_text: str
    headers: dict[str, str]


@dataclass(frozen=True)
class AuditRow:
    id: int
    time: float
    sender: str
    token: str | None
    message_id: str
    verdict: str
    reasons: tuple[str, ...]
    command: str | None
    mail_id: int | None


@dataclass(frozen=True)
class CommandRow:
    id: int
    mail_id: int | None
    session_id: str | None
    token: str | None
    sender: str
    text: str
    danger_pattern: str | None
    auth_result: str
    state: CommandState
    position: int
    created_at: float
    updated_at: float
    note: str

    @property
    def created(self) -> datetime:
        return datetime.fromtimestamp(self.created_at).astimezone()

    @property
    def updated(self) -> datetime:
        return datetime.fromtimestamp(self.updated_at).astimezone()


@dataclass(frozen=True)
class RecordedMail:
    """Ids written by :meth:`Store.record_inbound_mail`; ``already_recorded`` when the UID was known."""

    mail_id: int
    audit_id: int | None
    command_id: int | None
    already_recorded: bool = False


@dataclass(frozen=True)
class StartupRecovery:
    """What :meth:`Store.open` repaired after an unclean stop (shown to the user, never hidden)."""

    outbox_resent: tuple[int, ...] = ()
    commands_unknown: tuple[int, ...] = ()


# ---------------------------------------------------------------------------------------------- schema

_SCHEMA_V1 = (
    """CREATE TABLE session_tokens (
        token TEXT PRIMARY KEY,
        session_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        revoked_at REAL
    )""",
    "CREATE INDEX session_tokens_by_session ON session_tokens(session_id, created_at)",
    """CREATE TABLE sent_messages (
        message_id TEXT PRIMARY KEY,
        token TEXT NOT NULL,
        session_id TEXT NOT NULL,
        outbox_id INTEGER,
        created_at REAL NOT NULL
    )""",
    "CREATE INDEX sent_messages_by_session ON sent_messages(session_id, created_at)",
    f"""CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL,
        token TEXT NOT NULL,
        kind TEXT NOT NULL,
        subject TEXT NOT NULL,
        sender TEXT NOT NULL,
        recipients TEXT NOT NULL,
        message_id TEXT NOT NULL,
        message BLOB NOT NULL,
        facts TEXT NOT NULL DEFAULT '[]',
        state TEXT NOT NULL CHECK (state IN {OUTBOX_STATES!r}),
        attempts INTEGER NOT NULL DEFAULT 0,
        scheduled_at REAL NOT NULL,
        next_try_at REAL NOT NULL,
        last_error TEXT NOT NULL DEFAULT '',
        warning TEXT NOT NULL DEFAULT '',
        sent_at REAL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    )""",
    "CREATE INDEX outbox_by_state ON outbox(state, id)",
    "CREATE INDEX outbox_by_session ON outbox(session_id, scheduled_at)",
    """CREATE TABLE mailbox_cursors (
        mailbox_key TEXT PRIMARY KEY,
        uidvalidity INTEGER NOT NULL,
        last_uid INTEGER NOT NULL,
        updated_at REAL NOT NULL
    )""",
    f"""CREATE TABLE inbound_mail (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        uidvalidity INTEGER,
        uid INTEGER,
        message_id TEXT NOT NULL DEFAULT '',
        sender TEXT NOT NULL DEFAULT '',
        subject TEXT NOT NULL DEFAULT '',
        received_at REAL NOT NULL,
        verdict TEXT NOT NULL CHECK (verdict IN {VERDICTS!r}),
        reasons TEXT NOT NULL DEFAULT '[]',
        command TEXT,
        token TEXT,
        session_id TEXT,
        raw_text TEXT NOT NULL DEFAULT '',
        headers TEXT NOT NULL DEFAULT '{{}}',
        UNIQUE (uidvalidity, uid)
    )""",
    "CREATE INDEX inbound_mail_by_message_id ON inbound_mail(message_id)",
    """CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time REAL NOT NULL,
        sender TEXT NOT NULL DEFAULT '',
        token TEXT,
        message_id TEXT NOT NULL DEFAULT '',
        verdict TEXT NOT NULL,
        reasons TEXT NOT NULL DEFAULT '[]',
        command TEXT,
        mail_id INTEGER REFERENCES inbound_mail(id)
    )""",
    f"""CREATE TABLE commands (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        mail_id INTEGER REFERENCES inbound_mail(id),
        session_id TEXT,
        token TEXT,
        sender TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL,
        danger_pattern TEXT,
        auth_result TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL CHECK (state IN {COMMAND_STATES!r}),
        position INTEGER NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        note TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX commands_by_session ON commands(session_id, created_at)",
    "CREATE INDEX commands_by_state ON commands(state, position)",
)

# One entry per schema version: MIGRATIONS[n] takes a database at version n to version n + 1.
MIGRATIONS: tuple[tuple[str, ...], ...] = (_SCHEMA_V1, SESSIONS_SCHEMA)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to :data:`SCHEMA_VERSION`, one committed transaction per step."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the store was written by a newer taskping-tui (schema {version}, this one knows {SCHEMA_VERSION}); "
            "upgrade taskping-tui"
        )
    for step in range(version, SCHEMA_VERSION):
        with _transaction(conn):
            for statement in MIGRATIONS[step]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {step + 1}")
        logger.info("store schema migrated to version %d", step + 1)
    return SCHEMA_VERSION


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT (ROLLBACK on error): reads inside see what they then change."""
    conn.execute("BEGIN IMMEDIATE")
    with conn:
        yield conn


def _normalize_message_id(message_id: str) -> str:
    """``<x@y>`` whatever the caller had: with or without brackets, surrounding blanks."""
    value = message_id.strip()
    if not value:
        return ""
    if not value.startswith("<"):
        value = "<" + value
    if not value.endswith(">"):
        value = value + ">"
    return value


def _canonical_token(token: str) -> str:
    return normalize_token(token) or token.strip().upper()


def _private_file(path: Path) -> None:
    """Create ``path`` as 0600 if missing; tighten it when it exists."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    if path.stat().st_uid != os.getuid():
        raise StoreError(f"{path} belongs to another user; refusing to use it")
    os.chmod(path, 0o600)


# ---------------------------------------------------------------------------------------------- store


class Store(SessionStoreMixin):
    """All reads and writes of the app's state. Create with :meth:`Store.open`."""

    def __init__(self, conn: sqlite3.Connection, path: Path, clock: Clock, recovery: StartupRecovery) -> None:
        self._conn = conn
        self.path = path
        self.clock = clock
        self.recovery = recovery

    # -- life cycle ---------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | None = None, *, clock: Clock = time.time, read_only: bool = False) -> Store:
        """Open (creating if needed) the store at ``path`` or :func:`paths.default_store_path`.

        The directory is made 0700 and the files 0600. A read-write open migrates the schema and runs
        start-up recovery (see the module docstring); ``store.recovery`` says what it repaired.
        ``read_only`` opens an existing store without changing anything (for ``taskping-tui inspect``).
        """
        path = path or paths.default_store_path()
        if read_only:
            return cls._open_read_only(path, clock)
        paths.ensure_private_dir(path.parent)
        _private_file(path)
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=10.0)
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{path} cannot be opened as a taskping-tui store: {error}") from None
        # FULL: a commit survives power loss too, not only an app crash; our write rate is tiny.
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        try:
            migrate(conn)
        except sqlite3.DatabaseError as error:
            conn.close()
            raise StoreError(f"{path} cannot be used as a taskping-tui store: {error}") from None
        for suffix in ("-wal", "-shm"):
            side_file = path.with_name(path.name + suffix)
            if side_file.exists():
                os.chmod(side_file, 0o600)
        store = cls(conn, path, clock, StartupRecovery())
        store.recovery = store._recover_after_unclean_stop()
        return store

    @classmethod
    def _open_read_only(cls, path: Path, clock: Clock) -> Store:
        if not path.exists():
            raise StoreError(f"{path} does not exist")
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version != SCHEMA_VERSION:
            conn.close()
            raise StoreError(f"{path} has schema {version}, this taskping-tui reads {SCHEMA_VERSION}")
        return cls(conn, path, clock, StartupRecovery())

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _now(self, now: float | None) -> float:
        return self.clock() if now is None else now

    def _recover_after_unclean_stop(self) -> StartupRecovery:
        now = self.clock()
        with _transaction(self._conn) as conn:
            outbox_ids = tuple(row[0] for row in conn.execute("SELECT id FROM outbox WHERE state = 'sending'"))
            conn.execute(
                "UPDATE outbox SET state = 'retrying', next_try_at = ?, warning = ?, updated_at = ? "
                "WHERE state = 'sending'",
                (now, CRASH_WHILE_SENDING_WARNING, now),
            )
            command_ids = tuple(
                row[0] for row in conn.execute("SELECT id FROM commands WHERE state = 'injecting'")
            )
            conn.execute(
                "UPDATE commands SET state = 'unknown', updated_at = ?, "
                "note = 'the app stopped while typing this command; check the agent before sending it again' "
                "WHERE state = 'injecting'",
                (now,),
            )
        if outbox_ids:
            logger.warning("outbox mails %s were being sent when the app stopped; sending again", outbox_ids)
        if command_ids:
            logger.warning("commands %s were being typed when the app stopped; marked unknown", command_ids)
        return StartupRecovery(outbox_resent=outbox_ids, commands_unknown=command_ids)

    # -- session tokens -----------------------------------------------------------------------------

    def create_session_token(self, session_id: str, ttl: float, *, now: float | None = None) -> TokenRow:
        """A fresh token for ``session_id`` valid for ``ttl`` seconds."""
        now = self._now(now)
        with _transaction(self._conn) as conn:
            while True:
                token = new_token()
                if conn.execute("SELECT 1 FROM session_tokens WHERE token = ?", (token,)).fetchone() is None:
                    break
            conn.execute(
                "INSERT INTO session_tokens (token, session_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                (token, session_id, now, now + ttl),
            )
        return TokenRow(token, session_id, now, now + ttl, None)

    def active_token_for_session(self, session_id: str, *, now: float | None = None) -> TokenRow | None:
        now = self._now(now)
        row = self._conn.execute(
            "SELECT token, session_id, created_at, expires_at, revoked_at FROM session_tokens "
            "WHERE session_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC LIMIT 1",
            (session_id, now),
        ).fetchone()
        return TokenRow(*row) if row else None

    def ensure_session_token(self, session_id: str, ttl: float, *, now: float | None = None) -> TokenRow:
        """The session's active token extended to ``now + ttl``, or a new one if it has none."""
        now = self._now(now)
        current = self.active_token_for_session(session_id, now=now)
        if current is not None:
            extended = self.extend_token(current.token, ttl, now=now)
            if extended is not None:
                return extended
        return self.create_session_token(session_id, ttl, now=now)

    def extend_token(self, token: str, ttl: float, *, now: float | None = None) -> TokenRow | None:
        """Push an active token's expiry to ``now + ttl`` (never shortens); None if not active."""
        now = self._now(now)
        token = _canonical_token(token)
        with _transaction(self._conn) as conn:
            cursor = conn.execute(
                "UPDATE session_tokens SET expires_at = MAX(expires_at, ?) "
                "WHERE token = ? AND revoked_at IS NULL AND expires_at > ?",
                (now + ttl, token, now),
            )
        return self.get_token(token) if cursor.rowcount == 1 else None

    def revoke_token(self, token: str, *, now: float | None = None) -> bool:
        """Revoke ``token``; replies carrying it are rejected from now on. False if unknown or revoked."""
        now = self._now(now)
        with _transaction(self._conn) as conn:
            cursor = conn.execute(
                "UPDATE session_tokens SET revoked_at = ? WHERE token = ? AND revoked_at IS NULL",
                (now, _canonical_token(token)),
            )
        return cursor.rowcount == 1

    def get_token(self, token: str) -> TokenRow | None:
        row = self._conn.execute(
            "SELECT token, session_id, created_at, expires_at, revoked_at FROM session_tokens WHERE token = ?",
            (_canonical_token(token),),
        ).fetchone()
        return TokenRow(*row) if row else None

    def token_status(self, token: str, now: float | None = None) -> TokenStatus:
        """active / expired / revoked / unknown, with the session it belongs to."""
        row = self.get_token(token)
        if row is None:
            return TokenStatus("unknown")
        return TokenStatus(row.state(self._now(now)), row.session_id, row.token, row.created_at, row.expires_at)

    def list_tokens(self, *, limit: int = 100) -> list[TokenRow]:
        rows = self._conn.execute(
            "SELECT token, session_id, created_at, expires_at, revoked_at FROM session_tokens "
            "ORDER BY created_at DESC LIMIT ?",
            (limit,),
        )
        return [TokenRow(*row) for row in rows]

    # -- sent Message-IDs ---------------------------------------------------------------------------

    def record_message_id(
        self, message_id: str, token: str, session_id: str, outbox_id: int | None = None, *, now: float | None = None
    ) -> None:
        with _transaction(self._conn) as conn:
            self._insert_message_id(conn, message_id, token, session_id, outbox_id, self._now(now))

    @staticmethod
    def _insert_message_id(
        conn: sqlite3.Connection, message_id: str, token: str, session_id: str, outbox_id: int | None, now: float
    ) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO sent_messages (message_id, token, session_id, outbox_id, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (_normalize_message_id(message_id), token, session_id, outbox_id, now),
        )

    def lookup_message_id(self, message_id: str) -> SentMessage | None:
        """Our notification with this Message-ID (brackets optional), for In-Reply-To / References."""
        row = self._conn.execute(
            "SELECT message_id, token, session_id, outbox_id, created_at FROM sent_messages WHERE message_id = ?",
            (_normalize_message_id(message_id),),
        ).fetchone()
        return SentMessage(*row) if row else None

    def token_for_message_ids(self, message_ids: Iterable[str]) -> str | None:
        """The token of the first of ``message_ids`` that is one of ours (In-Reply-To, then References)."""
        for message_id in message_ids:
            found = self.lookup_message_id(message_id)
            if found is not None:
                return found.token
        return None

    def first_message_id(self, session_id: str) -> str | None:
        """The session's first notification, which every later one threads to."""
        row = self._conn.execute(
            "SELECT message_id FROM sent_messages WHERE session_id = ? ORDER BY created_at, rowid LIMIT 1",
            (session_id,),
        ).fetchone()
        return row[0] if row else None

    # -- outbox -------------------------------------------------------------------------------------

    _OUTBOX_COLUMNS = (
        "id, session_id, token, kind, subject, sender, recipients, message_id, message, facts, state, attempts, "
        "scheduled_at, next_try_at, last_error, warning, sent_at, created_at, updated_at"
    )

    @staticmethod
    def _outbox_row(row: Sequence[Any]) -> OutboxRow:
        values = list(row)
        values[6] = tuple(json.loads(values[6]))
        values[8] = bytes(values[8])
        values[9] = tuple(json.loads(values[9]))
        return OutboxRow(*values)

    def enqueue_mail(
        self,
        *,
        session_id: str,
        token: str,
        kind: str,
        subject: str,
        sender: str,
        recipients: Sequence[str],
        message_id: str,
        message: bytes,
        facts: Sequence[dict[str, Any]] = (),
        scheduled_at: float | None = None,
        now: float | None = None,
    ) -> OutboxRow:
        """Store a rendered mail as ``queued`` (and its Message-ID for threading) in one transaction."""
        now = self._now(now)
        scheduled = now if scheduled_at is None else scheduled_at
        message_id = _normalize_message_id(message_id)
        with _transaction(self._conn) as conn:
            cursor = conn.execute(
                "INSERT INTO outbox (session_id, token, kind, subject, sender, recipients, message_id, message, "
                "facts, state, attempts, scheduled_at, next_try_at, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?)",
                (session_id, token, kind, subject, sender, json.dumps(list(recipients)), message_id, message,
                 json.dumps(list(facts), ensure_ascii=False), scheduled, scheduled, now, now),
            )
            outbox_id = int(cursor.lastrowid or 0)
            self._insert_message_id(conn, message_id, token, session_id, outbox_id, now)
        return self._require_outbox(outbox_id)

    def replace_queued_mail(
        self,
        outbox_id: int,
        *,
        kind: str,
        subject: str,
        message: bytes,
        facts: Sequence[dict[str, Any]],
        now: float | None = None,
    ) -> OutboxRow | None:
        """Swap the content of a mail nobody tried to send yet (coalescing); None if it was claimed."""
        now = self._now(now)
        with _transaction(self._conn) as conn:
            cursor = conn.execute(
                "UPDATE outbox SET kind = ?, subject = ?, message = ?, facts = ?, updated_at = ? "
                "WHERE id = ? AND state = 'queued' AND attempts = 0",
                (kind, subject, message, json.dumps(list(facts), ensure_ascii=False), now, outbox_id),
            )
        return self._require_outbox(outbox_id) if cursor.rowcount == 1 else None

    def untried_mail_for_session(self, session_id: str) -> OutboxRow | None:
        """The session's newest mail that is queued and was never tried: new facts can join it."""
        row = self._conn.execute(
            f"SELECT {self._OUTBOX_COLUMNS} FROM outbox WHERE session_id = ? AND state = 'queued' AND attempts = 0 "
            "ORDER BY id DESC LIMIT 1",
            (session_id,),
        ).fetchone()
        return self._outbox_row(row) if row else None

    def scheduled_times_since(self, session_id: str, since: float) -> list[float]:
        """When the session's mails were (or are) planned to go, from ``since`` on, oldest first."""
        rows = self._conn.execute(
            "SELECT scheduled_at FROM outbox WHERE session_id = ? AND scheduled_at > ? AND state != 'failed' "
            "ORDER BY scheduled_at",
            (session_id, since),
        )
        return [row[0] for row in rows]

    def get_outbox(self, outbox_id: int) -> OutboxRow | None:
        row = self._conn.execute(
            f"SELECT {self._OUTBOX_COLUMNS} FROM outbox WHERE id = ?", (outbox_id,)
        ).fetchone()
        return self._outbox_row(row) if row else None

    def _require_outbox(self, outbox_id: int) -> OutboxRow:
        row = self.get_outbox(outbox_id)
        if row is None:
            raise StoreError(f"outbox row {outbox_id} vanished")
        return row

    def list_outbox(self, *, limit: int = 100) -> list[OutboxRow]:
        """Newest first, for the Notifications panel."""
        rows = self._conn.execute(
            f"SELECT {self._OUTBOX_COLUMNS} FROM outbox ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [self._outbox_row(row) for row in rows]

    def pending_outbox(self) -> list[OutboxRow]:
        """Mails still to send (queued or retrying), oldest first."""
        rows = self._conn.execute(
            f"SELECT {self._OUTBOX_COLUMNS} FROM outbox WHERE state IN ('queued', 'retrying') ORDER BY id"
        )
        return [self._outbox_row(row) for row in rows]

    def claim_for_sending(self, outbox_id: int, *, now: float | None = None) -> OutboxRow | None:
        """queued/retrying → sending, committed before the SMTP transaction starts; None if not pending."""
        now = self._now(now)
        with _transaction(self._conn) as conn:
            cursor = conn.execute(
                "UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = ? "
                "WHERE id = ? AND state IN ('queued', 'retrying')",
                (now, outbox_id),
            )
        return self._require_outbox(outbox_id) if cursor.rowcount == 1 else None

    def mark_sent(self, outbox_id: int, *, warning: str = "", now: float | None = None) -> OutboxRow | None:
        now = self._now(now)
        with _transaction(self._conn) as conn:
            cursor = conn.execute(
                "UPDATE outbox SET state = 'sent', sent_at = ?, last_error = '', "
                "warning = CASE WHEN ? != '' THEN ? ELSE warning END, updated_at = ? "
                "WHERE id = ? AND state = 'sending'",
                (now, warning, warning, now, outbox_id),
            )
        return self._require_outbox(outbox_id) if cursor.rowcount == 1 else None

    def mark_retrying(
        self, outbox_id: int, *, error: str, next_try_at: float, now: float | None = None
    ) -> OutboxRow | None:
        now = self._now(now)
        with _transaction(self._conn) as conn:
            cursor = conn.execute(
                "UPDATE outbox SET state = 'retrying', last_error = ?, next_try_at = ?, updated_at = ? "
                "WHERE id = ? AND state = 'sending'",
                (error, next_try_at, now, outbox_id),
            )
        return self._require_outbox(outbox_id) if cursor.rowcount == 1 else None

    def mark_failed(self, outbox_id: int, *, error: str, now: float | None = None) -> OutboxRow | None:
        now = self._now(now)
        with _transaction(self._conn) as conn:
            cursor = conn.execute(
                "UPDATE outbox SET state = 'failed', last_error = ?, updated_at = ? "
                "WHERE id = ? AND state IN ('sending', 'queued', 'retrying')",
                (error, now, outbox_id),
            )
        return self._require_outbox(outbox_id) if cursor.rowcount == 1 else None

    def requeue_failed(self, outbox_id: int, *, now: float | None = None) -> OutboxRow | None:
        """failed → queued, due now (the panel's re-send key); None if the mail is not failed."""
        now = self._now(now)
        with _transaction(self._conn) as conn:
            cursor = conn.execute(
                "UPDATE outbox SET state = 'queued', next_try_at = ?, last_error = '', updated_at = ? "
                "WHERE id = ? AND state = 'failed'",
                (now, now, outbox_id),
            )
        return self._require_outbox(outbox_id) if cursor.rowcount == 1 else None

    # -- mailbox cursor (IMAP watcher) --------------------------------------------------------------

    def load_cursor(self, mailbox_key: str) -> tuple[int, int] | None:
        row = self._conn.execute(
            "SELECT uidvalidity, last_uid FROM mailbox_cursors WHERE mailbox_key = ?", (mailbox_key,)
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def save_cursor(self, mailbox_key: str, uidvalidity: int, last_uid: int) -> None:
        with _transaction(self._conn) as conn:
            self._upsert_cursor(conn, mailbox_key, uidvalidity, last_uid, self.clock())

    @staticmethod
    def _upsert_cursor(conn: sqlite3.Connection, key: str, uidvalidity: int, last_uid: int, now: float) -> None:
        conn.execute(
            "INSERT INTO mailbox_cursors (mailbox_key, uidvalidity, last_uid, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(mailbox_key) DO UPDATE SET uidvalidity = excluded.uidvalidity, "
            "last_uid = excluded.last_uid, updated_at = excluded.updated_at",
            (key, uidvalidity, last_uid, now),
        )

    # -- inbound mail, audit, commands --------------------------------------------------------------

    _INBOUND_COLUMNS = (
        "id, uidvalidity, uid, message_id, sender, subject, received_at, verdict, reasons, command, token, "
        "session_id, raw_text, headers"
    )
    _COMMAND_COLUMNS = (
        "id, mail_id, session_id, token, sender, text, danger_pattern, auth_result, state, position, "
        "created_at, updated_at, note"
    )

    @staticmethod
    def _inbound_row(row: Sequence[Any]) -> InboundMailRow:
        values = list(row)
        values[8] = tuple(json.loads(values[8]))
        values[13] = json.loads(values[13])
        return InboundMailRow(*values)

    @staticmethod
    def _command_row(row: Sequence[Any]) -> CommandRow:
        values = list(row)
        values[8] = CommandState(values[8])
        return CommandRow(*values)

    def mail_seen_by_uid(self, uidvalidity: int, uid: int) -> bool:
        row = self._conn.execute(
            "SELECT 1 FROM inbound_mail WHERE uidvalidity = ? AND uid = ?", (uidvalidity, uid)
        ).fetchone()
        return row is not None

    def mail_seen_by_message_id(self, message_id: str) -> bool:
        normalized = _normalize_message_id(message_id)
        if not normalized:
            return False
        row = self._conn.execute("SELECT 1 FROM inbound_mail WHERE message_id = ?", (normalized,)).fetchone()
        return row is not None

    def record_inbound_mail(
        self,
        mail: NewInboundMail,
        *,
        command_state: CommandState | str | None = None,
        cursor: tuple[str, int, int] | None = None,
    ) -> RecordedMail:
        """Record one mail, its audit row and (accepted/blocked with a command) its command, atomically.

        ``command_state`` is where the command starts (``commands.initial_state``); by default
        ``blocked`` for a blocked mail and ``queued`` for an accepted one. ``cursor`` =
        (mailbox_key, uidvalidity, last_uid) is saved in the same transaction. A mail whose
        (UIDVALIDITY, UID) is already recorded changes nothing and comes back with ``already_recorded``.
        """
        now = mail.received_at
        message_id = _normalize_message_id(mail.message_id)
        reasons = json.dumps(list(mail.reasons), ensure_ascii=False)
        with _transaction(self._conn) as conn:
            if mail.uidvalidity is not None and mail.uid is not None:
                existing = conn.execute(
                    "SELECT id FROM inbound_mail WHERE uidvalidity = ? AND uid = ?", (mail.uidvalidity, mail.uid)
                ).fetchone()
                if existing is not None:
                    if cursor is not None:
                        self._upsert_cursor(conn, *cursor, self.clock())
                    return RecordedMail(int(existing[0]), None, None, already_recorded=True)
            mail_id = int(conn.execute(
                "INSERT INTO inbound_mail (uidvalidity, uid, message_id, sender, subject, received_at, verdict, "
                "reasons, command, token, session_id, raw_text, headers) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (mail.uidvalidity, mail.uid, message_id, mail.sender, mail.subject, now, mail.verdict, reasons,
                 mail.command, mail.token, mail.session_id, mail.raw_text,
                 json.dumps(mail.headers, ensure_ascii=False)),
            ).lastrowid or 0)
            audit_id = int(conn.execute(
                "INSERT INTO audit (time, sender, token, message_id, verdict, reasons, command, mail_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (now, mail.sender, mail.token, message_id, mail.verdict, reasons, mail.command, mail_id),
            ).lastrowid or 0)
            command_id = None
            if mail.verdict in ("accepted", "blocked") and mail.command:
                state = CommandState(command_state or ("blocked" if mail.verdict == "blocked" else "queued"))
                command_id = self._insert_command(conn, mail, mail_id, state, now)
            if cursor is not None:
                self._upsert_cursor(conn, *cursor, self.clock())
        return RecordedMail(mail_id, audit_id, command_id)

    @staticmethod
    def _insert_command(
        conn: sqlite3.Connection, mail: NewInboundMail, mail_id: int, state: CommandState, now: float
    ) -> int:
        position = int(conn.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM commands").fetchone()[0])
        cursor = conn.execute(
            "INSERT INTO commands (mail_id, session_id, token, sender, text, danger_pattern, auth_result, state, "
            "position, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (mail_id, mail.session_id, mail.token, mail.sender, mail.command, mail.danger_pattern,
             mail.auth_result, state.value, position, now, now),
        )
        return int(cursor.lastrowid or 0)

    def add_audit(
        self,
        *,
        verdict: str,
        reasons: Sequence[str],
        sender: str = "",
        token: str | None = None,
        message_id: str = "",
        command: str | None = None,
        mail_id: int | None = None,
        now: float | None = None,
    ) -> int:
        """An audit row on its own (e.g. a keyboard decision about a command)."""
        now = self._now(now)
        with _transaction(self._conn) as conn:
            cursor = conn.execute(
                "INSERT INTO audit (time, sender, token, message_id, verdict, reasons, command, mail_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (now, sender, token, _normalize_message_id(message_id), verdict,
                 json.dumps(list(reasons), ensure_ascii=False), command, mail_id),
            )
        return int(cursor.lastrowid or 0)

    def list_audit(self, *, limit: int = 200) -> list[AuditRow]:
        rows = self._conn.execute(
            "SELECT id, time, sender, token, message_id, verdict, reasons, command, mail_id FROM audit "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [
            AuditRow(row[0], row[1], row[2], row[3], row[4], row[5], tuple(json.loads(row[6])), row[7], row[8])
            for row in rows
        ]

    def get_inbound_mail(self, mail_id: int) -> InboundMailRow | None:
        row = self._conn.execute(
            f"SELECT {self._INBOUND_COLUMNS} FROM inbound_mail WHERE id = ?", (mail_id,)
        ).fetchone()
        return self._inbound_row(row) if row else None

    def list_inbound_mail(self, *, limit: int = 200) -> list[InboundMailRow]:
        """Newest first, for the Inbound mail panel."""
        rows = self._conn.execute(
            f"SELECT {self._INBOUND_COLUMNS} FROM inbound_mail ORDER BY received_at DESC, id DESC LIMIT ?",
            (limit,),
        )
        return [self._inbound_row(row) for row in rows]

    def get_command(self, command_id: int) -> CommandRow | None:
        row = self._conn.execute(
            f"SELECT {self._COMMAND_COLUMNS} FROM commands WHERE id = ?", (command_id,)
        ).fetchone()
        return self._command_row(row) if row else None

    def list_commands(
        self, *, states: Iterable[CommandState | str] | None = None, session_id: str | None = None,
        limit: int = 200,
    ) -> list[CommandRow]:
        """Commands in queue order (position); filter by state and session."""
        clauses: list[str] = []
        params: list[Any] = []
        if states is not None:
            wanted = [CommandState(state).value for state in states]
            clauses.append(f"state IN ({', '.join('?' * len(wanted))})")
            params.extend(wanted)
        if session_id is not None:
            clauses.append("session_id = ?")
            params.append(session_id)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._conn.execute(
            f"SELECT {self._COMMAND_COLUMNS} FROM commands {where} ORDER BY position LIMIT ?", (*params, limit)
        )
        return [self._command_row(row) for row in rows]

    def pending_commands(self, session_id: str | None = None) -> list[CommandRow]:
        """queued, blocked and approved commands in queue order."""
        return self.list_commands(states=PENDING_COMMAND_STATES, session_id=session_id)

    def commands_in_last_hour(self, session_id: str, now: float | None = None) -> int:
        now = self._now(now)
        row = self._conn.execute(
            "SELECT COUNT(*) FROM commands WHERE session_id = ? AND created_at > ?", (session_id, now - 3600.0)
        ).fetchone()
        return int(row[0])

    def transition_command(
        self,
        command_id: int,
        from_states: Iterable[CommandState | str],
        to_state: CommandState | str,
        *,
        text: str | None = None,
        note: str | None = None,
        now: float | None = None,
    ) -> CommandRow | None:
        """Move a command to ``to_state`` only if it is in one of ``from_states`` right now.

        The from-state is part of the UPDATE's WHERE clause, so two callers racing for the same
        transition cannot both win. Returns the updated row, or None when the command was elsewhere.
        ``text`` replaces the command text (edit then approve); ``note`` is shown in the panel.
        """
        now = self._now(now)
        sources = [CommandState(state).value for state in from_states]
        if not sources:
            return None
        with _transaction(self._conn) as conn:
            cursor = conn.execute(
                "UPDATE commands SET state = ?, updated_at = ?, text = COALESCE(?, text), note = COALESCE(?, note) "
                f"WHERE id = ? AND state IN ({', '.join('?' * len(sources))})",
                (CommandState(to_state).value, now, text, note, command_id, *sources),
            )
        return self.get_command(command_id) if cursor.rowcount == 1 else None

    def apply_command_event(
        self,
        command_id: int,
        event: CommandEvent,
        *,
        text: str | None = None,
        note: str | None = None,
        now: float | None = None,
    ) -> CommandRow | None:
        """Apply ``event`` following :data:`taskping_tui.commands.TRANSITIONS`; None if not allowed now."""
        targets = {target for (_, each), target in TRANSITIONS.items() if each is event}
        result: CommandRow | None = None
        for target in targets:
            sources = [source for (source, each), to in TRANSITIONS.items() if each is event and to is target]
            result = self.transition_command(command_id, sources, target, text=text, note=note, now=now)
            if result is not None:
                return result
        return result

    def move_command(self, command_id: int, offset: int) -> bool:
        """Swap a pending command with its neighbour ``offset`` (-1 up, +1 down) in the queue."""
        with _transaction(self._conn) as conn:
            pending = [
                (row[0], row[1]) for row in conn.execute(
                    f"SELECT id, position FROM commands WHERE state IN ({_PENDING_SQL}) "
                    "ORDER BY position"
                )
            ]
            ids = [each for each, _ in pending]
            if command_id not in ids:
                return False
            index = ids.index(command_id)
            other = index + offset
            if offset == 0 or not 0 <= other < len(pending):
                return False
            (id_a, pos_a), (id_b, pos_b) = pending[index], pending[other]
            conn.execute("UPDATE commands SET position = ? WHERE id = ?", (pos_b, id_a))
            conn.execute("UPDATE commands SET position = ? WHERE id = ?", (pos_a, id_b))
        return True

    def expire_commands(self, ttl: float, *, now: float | None = None) -> list[CommandRow]:
        """Every waiting command (queued/blocked/approved) older than ``ttl`` seconds → expired."""
        now = self._now(now)
        candidates = self._conn.execute(
            f"SELECT id FROM commands WHERE state IN ({_PENDING_SQL}) AND created_at <= ?",
            (now - ttl,),
        ).fetchall()
        expired: list[CommandRow] = []
        for (command_id,) in candidates:
            row = self.transition_command(
                command_id, PENDING_COMMAND_STATES, CommandState.EXPIRED, note="waited longer than its TTL", now=now
            )
            if row is not None:
                expired.append(row)
        return expired
