"""Inbound mail and the IMAP cursor (tables ``inbound_mail``, ``mailbox_cursors``): each fetched mail is
recorded with its verdict, audit row, command and the new cursor in one transaction."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from taskping_tui.inbound.commands import CommandState
from taskping_tui.inbound.gate import VerdictKind
from taskping_tui.store.base import TableBase, _normalize_message_id
from taskping_tui.store.commands import insert_command
from taskping_tui.store.rows import InboundMailRow, NewInboundMail, RecordedMail
from taskping_tui.store.schema import transaction


class InboundMailTable(TableBase):
    """What arrived, what the gate said about it, and how far the watcher has read the mailbox."""

    def load_cursor(self, mailbox_key: str) -> tuple[int, int] | None:
        row = self._conn.execute(
            "SELECT uidvalidity, last_uid FROM mailbox_cursors WHERE mailbox_key = ?", (mailbox_key,)
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def save_cursor(self, mailbox_key: str, uidvalidity: int, last_uid: int) -> None:
        with transaction(self._conn) as conn:
            self._upsert_cursor(conn, mailbox_key, uidvalidity, last_uid, self.clock())

    @staticmethod
    def _upsert_cursor(conn: sqlite3.Connection, key: str, uidvalidity: int, last_uid: int, now: float) -> None:
        conn.execute(
            "INSERT INTO mailbox_cursors (mailbox_key, uidvalidity, last_uid, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(mailbox_key) DO UPDATE SET uidvalidity = excluded.uidvalidity, "
            "last_uid = excluded.last_uid, updated_at = excluded.updated_at",
            (key, uidvalidity, last_uid, now),
        )

    _INBOUND_COLUMNS = (
        "id, uidvalidity, uid, message_id, sender, subject, received_at, verdict, reasons, command, token, "
        "session_id, raw_text, headers"
    )

    @staticmethod
    def _inbound_row(row: Sequence[Any]) -> InboundMailRow:
        values = list(row)
        values[7] = VerdictKind(values[7])
        values[8] = tuple(json.loads(values[8]))
        values[13] = json.loads(values[13])
        return InboundMailRow(*values)

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
        with transaction(self._conn) as conn:
            if mail.uidvalidity is not None and mail.uid is not None:
                existing = conn.execute(
                    "SELECT id FROM inbound_mail WHERE uidvalidity = ? AND uid = ?", (mail.uidvalidity, mail.uid)
                ).fetchone()
                if existing is not None:
                    if cursor is not None:
                        self._upsert_cursor(conn, *cursor, self.clock())
                    return RecordedMail(int(existing[0]), None, None, already_recorded=True)
            mail_id = int(
                conn.execute(
                    "INSERT INTO inbound_mail (uidvalidity, uid, message_id, sender, subject, received_at, verdict, "
                    "reasons, command, token, session_id, raw_text, headers) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        mail.uidvalidity,
                        mail.uid,
                        message_id,
                        mail.sender,
                        mail.subject,
                        now,
                        mail.verdict,
                        reasons,
                        mail.command,
                        mail.token,
                        mail.session_id,
                        mail.raw_text,
                        json.dumps(mail.headers, ensure_ascii=False),
                    ),
                ).lastrowid
                or 0
            )
            audit_id = int(
                conn.execute(
                    "INSERT INTO audit (time, sender, token, message_id, verdict, reasons, command, mail_id) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (now, mail.sender, mail.token, message_id, mail.verdict, reasons, mail.command, mail_id),
                ).lastrowid
                or 0
            )
            command_id = None
            if mail.verdict in ("accepted", "blocked") and mail.command:
                state = CommandState(command_state or ("blocked" if mail.verdict == "blocked" else "queued"))
                command_id = insert_command(conn, mail, mail_id, state, now)
            if cursor is not None:
                self._upsert_cursor(conn, *cursor, self.clock())
        return RecordedMail(mail_id, audit_id, command_id)

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

    def inbound_mail_by_message_id(self, message_id: str) -> InboundMailRow | None:
        """The first recorded mail with this Message-ID (what was decided for it), or None."""
        normalized = _normalize_message_id(message_id)
        if not normalized:
            return None
        row = self._conn.execute(
            f"SELECT {self._INBOUND_COLUMNS} FROM inbound_mail WHERE message_id = ? ORDER BY id LIMIT 1",
            (normalized,),
        ).fetchone()
        return self._inbound_row(row) if row else None
