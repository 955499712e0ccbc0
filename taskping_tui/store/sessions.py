"""Sessions in the store: schema step 3 and the queries on the ``sessions`` table (a mixin of ``Store``).

A session is durable and first-class: its row is written on every change (not on exit), and its id, not
the agent's own session id, is what tokens, threads, outbox mails and commands are filed under, so a
reply to a mail of an earlier run still reaches the same session after a restart.

``state`` is ``open`` (listed; running or resumable) or ``closed`` (ended by the user: replies to it
are rejected and answered). ``agent_state`` is the last state the tracker saw, for the Sessions panel.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from taskping_tui.store.base import TableBase
from taskping_tui.store.schema import transaction

SessionState = Literal["open", "closed"]


@dataclass(frozen=True)
class SessionRow:
    id: str
    number: int
    name: str
    argv: tuple[str, ...]
    cwd: str
    agent_session_id: str | None
    transcript_path: str | None
    state: SessionState
    agent_state: str
    state_since: float
    created_at: float
    updated_at: float
    ended_at: float | None
    # The taskping-tui process hosting it right now (None: nobody; a dead pid counts as nobody).
    host_pid: int | None = None
    # Derived: the Message-ID of its first notification, which every later one threads to.
    thread_root: str | None = None

    @property
    def is_open(self) -> bool:
        return self.state == "open"


_COLUMNS = (
    "id, number, name, argv, cwd, agent_session_id, transcript_path, state, agent_state, state_since, "
    "created_at, updated_at, ended_at, host_pid, "
    "(SELECT message_id FROM sent_messages m WHERE m.session_id = sessions.id ORDER BY created_at, rowid LIMIT 1)"
)


def _session_row(row: Sequence[Any]) -> SessionRow:
    values = list(row)
    values[3] = tuple(json.loads(values[3]))
    return SessionRow(*values)


def _pid_alive(pid: int) -> bool:
    """A live taskping-tui process (after a crash and a reboot the pid may belong to something else)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # another user's process: not one of ours
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"taskping" in handle.read()
    except OSError:
        return True  # no /proc (macOS): trust the pid


class SessionsTable(TableBase):
    """The ``sessions`` queries."""

    def create_session(
        self, name: str, argv: Sequence[str], cwd: str, *, session_id: str | None = None, now: float | None = None
    ) -> SessionRow:
        """A new open session numbered with the lowest number no open session has."""
        now = self._now(now)
        session_id = session_id or str(uuid.uuid4())
        with transaction(self._conn) as conn:
            taken = {row[0] for row in conn.execute("SELECT number FROM sessions WHERE state = 'open'")}
            number = next(n for n in range(1, len(taken) + 2) if n not in taken)
            conn.execute(
                "INSERT INTO sessions (id, number, name, argv, cwd, state, agent_state, state_since, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, 'open', 'unknown', ?, ?, ?)",
                (session_id, number, name, json.dumps(list(argv)), cwd, now, now, now),
            )
        return self._require_session(session_id)

    def get_session(self, session_id: str) -> SessionRow | None:
        row = self._conn.execute(f"SELECT {_COLUMNS} FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return _session_row(row) if row else None

    def _require_session(self, session_id: str) -> SessionRow:
        row = self.get_session(session_id)
        if row is None:
            raise KeyError(session_id)
        return row

    def list_sessions(self, *, include_closed: bool = False) -> list[SessionRow]:
        """Open sessions by number (then closed ones, newest first, when asked)."""
        rows = [
            _session_row(row)
            for row in self._conn.execute(
                f"SELECT {_COLUMNS} FROM sessions WHERE state = 'open' ORDER BY number, created_at"
            )
        ]
        if include_closed:
            rows += [
                _session_row(row)
                for row in self._conn.execute(
                    f"SELECT {_COLUMNS} FROM sessions WHERE state = 'closed' ORDER BY ended_at DESC"
                )
            ]
        return rows

    def update_session(
        self,
        session_id: str,
        *,
        name: str | None = None,
        argv: Sequence[str] | None = None,
        agent_session_id: str | None = None,
        transcript_path: str | None = None,
        now: float | None = None,
    ) -> SessionRow | None:
        """Change the given fields (None keeps a field); None when there is no such session."""
        now = self._now(now)
        with transaction(self._conn) as conn:
            cursor = conn.execute(
                "UPDATE sessions SET name = COALESCE(?, name), argv = COALESCE(?, argv), "
                "agent_session_id = COALESCE(?, agent_session_id), transcript_path = COALESCE(?, transcript_path), "
                "updated_at = ? WHERE id = ?",
                (
                    name,
                    json.dumps(list(argv)) if argv is not None else None,
                    agent_session_id,
                    transcript_path,
                    now,
                    session_id,
                ),
            )
        return self.get_session(session_id) if cursor.rowcount == 1 else None

    def set_session_agent_state(self, session_id: str, agent_state: str, *, now: float | None = None) -> None:
        """Record the agent's state; ``state_since`` moves only when the state really changes."""
        now = self._now(now)
        with transaction(self._conn) as conn:
            conn.execute(
                "UPDATE sessions SET state_since = CASE WHEN agent_state = ? THEN state_since ELSE ? END, "
                "agent_state = ?, updated_at = ? WHERE id = ?",
                (agent_state, now, agent_state, now, session_id),
            )

    def close_session(self, session_id: str, *, now: float | None = None) -> SessionRow | None:
        """open → closed (its number is free again); None when it was not open."""
        now = self._now(now)
        with transaction(self._conn) as conn:
            cursor = conn.execute(
                "UPDATE sessions SET state = 'closed', agent_state = 'exited', ended_at = ?, updated_at = ?, "
                "state_since = ? WHERE id = ? AND state = 'open'",
                (now, now, now, session_id),
            )
        return self.get_session(session_id) if cursor.rowcount == 1 else None

    def claim_session(self, session_id: str, pid: int) -> int | None:
        """Mark ``pid`` as the process hosting the session; the other live host's pid if one has it."""
        with transaction(self._conn) as conn:
            row = conn.execute("SELECT host_pid FROM sessions WHERE id = ?", (session_id,)).fetchone()
            holder = row[0] if row else None
            if holder is not None and holder != pid and _pid_alive(holder):
                return int(holder)
            conn.execute("UPDATE sessions SET host_pid = ? WHERE id = ?", (pid, session_id))
        return None

    def release_session(self, session_id: str, pid: int) -> None:
        with transaction(self._conn) as conn:
            conn.execute("UPDATE sessions SET host_pid = NULL WHERE id = ? AND host_pid = ?", (session_id, pid))

    def session_is_closed(self, session_id: str) -> bool:
        """True only for a session the user closed (an unknown id is not "closed")."""
        row = self._conn.execute("SELECT state FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return row is not None and row[0] == "closed"

    def session_command_counts(self, session_id: str) -> tuple[int, int]:
        """(approved commands waiting to be typed, commands waiting for the keyboard) of one session."""
        rows = dict(
            self._conn.execute(
                "SELECT state, COUNT(*) FROM commands WHERE session_id = ? AND state IN "
                "('approved', 'queued', 'blocked') GROUP BY state",
                (session_id,),
            ).fetchall()
        )
        return int(rows.get("approved", 0)), int(rows.get("queued", 0)) + int(rows.get("blocked", 0))
