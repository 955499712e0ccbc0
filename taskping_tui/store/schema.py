"""The store's tables (DDL) and the migrations that bring a file to the current schema version."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from taskping_tui.errors import TaskPingError
from taskping_tui.store.rows import COMMAND_STATES, OUTBOX_STATES, VERDICTS

logger = logging.getLogger(__name__)


class StoreError(TaskPingError):
    """The store file cannot be used (wrong owner, newer schema, not a database)."""


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

# Edit and approve: both texts and both danger verdicts of every edit, oldest first.
_SCHEMA_COMMAND_EDITS = (
    """CREATE TABLE command_edits (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        command_id INTEGER NOT NULL REFERENCES commands(id),
        time REAL NOT NULL,
        old_text TEXT NOT NULL,
        new_text TEXT NOT NULL,
        old_danger TEXT,
        new_danger TEXT
    )""",
    "CREATE INDEX command_edits_by_command ON command_edits(command_id, id)",
)

SESSION_STATES: tuple[str, ...] = ("open", "closed")

# Durable sessions (see store/sessions.py): what tokens, threads, outbox mails and commands are filed under.
SESSIONS_SCHEMA: tuple[str, ...] = (
    f"""CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        number INTEGER NOT NULL,
        name TEXT NOT NULL,
        argv TEXT NOT NULL,
        cwd TEXT NOT NULL,
        agent_session_id TEXT,
        transcript_path TEXT,
        state TEXT NOT NULL CHECK (state IN {SESSION_STATES!r}),
        agent_state TEXT NOT NULL DEFAULT 'unknown',
        state_since REAL NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        ended_at REAL,
        host_pid INTEGER
    )""",
    "CREATE INDEX sessions_by_state ON sessions(state, number)",
)

# A reply to a permission or question mail remembers which dialog it answers (inbound.permission.dialog_key).
_SCHEMA_COMMAND_ANSWERS = ("ALTER TABLE commands ADD COLUMN answers_dialog TEXT NOT NULL DEFAULT ''",)

# One entry per schema version: MIGRATIONS[n] takes a database at version n to version n + 1.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    _SCHEMA_V1,
    _SCHEMA_COMMAND_EDITS,
    SESSIONS_SCHEMA,
    _SCHEMA_COMMAND_ANSWERS,
)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to :data:`SCHEMA_VERSION`, one committed transaction per step."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the store was written by a newer taskping-tui (schema {version}, this one knows {SCHEMA_VERSION})",
            "upgrade taskping-tui",
        )
    for step in range(version, SCHEMA_VERSION):
        with transaction(conn):
            for statement in MIGRATIONS[step]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {step + 1}")
        logger.info("store schema migrated to version %d", step + 1)
    return SCHEMA_VERSION


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT (ROLLBACK on error): reads inside see what they then change."""
    conn.execute("BEGIN IMMEDIATE")
    with conn:
        yield conn
