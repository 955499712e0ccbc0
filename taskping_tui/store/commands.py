"""Commands (table ``commands``): the queue of mailed commands and their state machine transitions.

Each transition is a conditional UPDATE (the from-state is in the WHERE clause), so two callers racing for
the same command cannot both win. The states and events are :mod:`taskping_tui.inbound.commands`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from taskping_tui.inbound.commands import CommandEvent, CommandState, sources_by_target
from taskping_tui.store.base import TableBase
from taskping_tui.store.rows import PENDING_COMMAND_STATES, CommandEdit, CommandRow, NewInboundMail
from taskping_tui.store.schema import transaction

_PENDING_SQL = ", ".join(f"'{state}'" for state in PENDING_COMMAND_STATES)


def insert_command(
    conn: sqlite3.Connection, mail: NewInboundMail, mail_id: int, state: CommandState, now: float
) -> int:
    position = int(conn.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM commands").fetchone()[0])
    cursor = conn.execute(
        "INSERT INTO commands (mail_id, session_id, token, sender, text, danger_pattern, auth_result, state, "
        "position, created_at, updated_at, answers_dialog) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            mail_id,
            mail.session_id,
            mail.token,
            mail.sender,
            mail.command,
            mail.danger_pattern,
            mail.auth_result,
            state.value,
            position,
            now,
            now,
            mail.answers_dialog,
        ),
    )
    return int(cursor.lastrowid or 0)


class CommandsTable(TableBase):
    """Reads in queue order (``position``) and guarded transitions."""

    _COMMAND_COLUMNS = (
        "id, mail_id, session_id, token, sender, text, danger_pattern, auth_result, state, position, "
        "created_at, updated_at, note, answers_dialog"
    )

    @staticmethod
    def _command_row(row: Sequence[Any]) -> CommandRow:
        values = list(row)
        values[8] = CommandState(values[8])
        return CommandRow(*values)

    def get_command(self, command_id: int) -> CommandRow | None:
        row = self._conn.execute(f"SELECT {self._COMMAND_COLUMNS} FROM commands WHERE id = ?", (command_id,)).fetchone()
        return self._command_row(row) if row else None

    def list_commands(
        self,
        *,
        states: Iterable[CommandState | str] | None = None,
        session_id: str | None = None,
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
        with transaction(self._conn) as conn:
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
        """Apply ``event`` following the state machine (:mod:`taskping_tui.inbound.commands`); None if not allowed now."""
        for target, sources in sources_by_target(event).items():
            result = self.transition_command(command_id, sources, target, text=text, note=note, now=now)
            if result is not None:
                return result
        return None

    def command_for_mail(self, mail_id: int) -> CommandRow | None:
        """The command a recorded mail became, if it became one."""
        row = self._conn.execute(
            f"SELECT {self._COMMAND_COLUMNS} FROM commands WHERE mail_id = ? ORDER BY id LIMIT 1", (mail_id,)
        ).fetchone()
        return self._command_row(row) if row else None

    # -- edit and approve: the edited text is checked again, and both texts are kept ------------------

    def edit_command(
        self, command_id: int, new_text: str, danger_pattern: str | None, *, now: float | None = None
    ) -> CommandRow | None:
        """Replace a waiting command's text and danger verdict, keeping the old ones in its edit history.

        Only a command the user may still approve (queued, blocked, failed, unknown) can be edited; None
        otherwise. The caller approves it afterwards (its own transition, as for an unedited command).
        """
        now = self._now(now)
        editable = [state.value for state in sources_by_target(CommandEvent.APPROVE).get(CommandState.APPROVED, ())]
        with transaction(self._conn) as conn:
            row = conn.execute(
                f"SELECT text, danger_pattern FROM commands WHERE id = ? AND state IN ({', '.join('?' * len(editable))})",
                (command_id, *editable),
            ).fetchone()
            if row is None:
                return None
            old_text, old_danger = row
            if old_text == new_text and old_danger == danger_pattern:
                return self.get_command(command_id)
            conn.execute(
                "INSERT INTO command_edits (command_id, time, old_text, new_text, old_danger, new_danger) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (command_id, now, old_text, new_text, old_danger, danger_pattern),
            )
            conn.execute(
                "UPDATE commands SET text = ?, danger_pattern = ?, updated_at = ? WHERE id = ?",
                (new_text, danger_pattern, now, command_id),
            )
        return self.get_command(command_id)

    def command_edits(self, command_id: int) -> list[CommandEdit]:
        """The command's edit history, oldest first (the first ``old_text`` is what the mail said)."""
        rows = self._conn.execute(
            "SELECT id, command_id, time, old_text, new_text, old_danger, new_danger FROM command_edits "
            "WHERE command_id = ? ORDER BY id",
            (command_id,),
        )
        return [CommandEdit(*row) for row in rows]

    def move_command(self, command_id: int, offset: int) -> bool:
        """Swap a pending command with its neighbour ``offset`` (-1 up, +1 down) in the queue."""
        with transaction(self._conn) as conn:
            pending = [
                (row[0], row[1])
                for row in conn.execute(
                    f"SELECT id, position FROM commands WHERE state IN ({_PENDING_SQL}) ORDER BY position"
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
