"""The outbox (table ``outbox``): notification mails from queued to sent, retried or failed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from taskping_tui.store.base import TableBase, _normalize_message_id
from taskping_tui.store.rows import OutboxRow, OutboxState
from taskping_tui.store.schema import StoreError, transaction
from taskping_tui.store.tokens import insert_message_id


class OutboxTable(TableBase):
    """Each outbox row is claimed (``sending``) in a committed transaction before the SMTP send."""

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
        values[10] = OutboxState(values[10])
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
        with transaction(self._conn) as conn:
            cursor = conn.execute(
                "INSERT INTO outbox (session_id, token, kind, subject, sender, recipients, message_id, message, "
                "facts, state, attempts, scheduled_at, next_try_at, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?)",
                (
                    session_id,
                    token,
                    kind,
                    subject,
                    sender,
                    json.dumps(list(recipients)),
                    message_id,
                    message,
                    json.dumps(list(facts), ensure_ascii=False),
                    scheduled,
                    scheduled,
                    now,
                    now,
                ),
            )
            outbox_id = int(cursor.lastrowid or 0)
            insert_message_id(conn, message_id, token, session_id, outbox_id, now)
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
        with transaction(self._conn) as conn:
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
        row = self._conn.execute(f"SELECT {self._OUTBOX_COLUMNS} FROM outbox WHERE id = ?", (outbox_id,)).fetchone()
        return self._outbox_row(row) if row else None

    def _require_outbox(self, outbox_id: int) -> OutboxRow:
        row = self.get_outbox(outbox_id)
        if row is None:
            raise StoreError(f"outbox row {outbox_id} vanished")
        return row

    def pending_outbox(self) -> list[OutboxRow]:
        """Mails still to send (queued or retrying), oldest first."""
        rows = self._conn.execute(
            f"SELECT {self._OUTBOX_COLUMNS} FROM outbox WHERE state IN ('queued', 'retrying') ORDER BY id"
        )
        return [self._outbox_row(row) for row in rows]

    def claim_for_sending(self, outbox_id: int, *, now: float | None = None) -> OutboxRow | None:
        """queued/retrying → sending, committed before the SMTP transaction starts; None if not pending."""
        now = self._now(now)
        with transaction(self._conn) as conn:
            cursor = conn.execute(
                "UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = ? "
                "WHERE id = ? AND state IN ('queued', 'retrying')",
                (now, outbox_id),
            )
        return self._require_outbox(outbox_id) if cursor.rowcount == 1 else None

    def mark_sent(self, outbox_id: int, *, warning: str = "", now: float | None = None) -> OutboxRow | None:
        now = self._now(now)
        with transaction(self._conn) as conn:
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
        with transaction(self._conn) as conn:
            cursor = conn.execute(
                "UPDATE outbox SET state = 'retrying', last_error = ?, next_try_at = ?, updated_at = ? "
                "WHERE id = ? AND state = 'sending'",
                (error, next_try_at, now, outbox_id),
            )
        return self._require_outbox(outbox_id) if cursor.rowcount == 1 else None

    def mark_failed(self, outbox_id: int, *, error: str, now: float | None = None) -> OutboxRow | None:
        now = self._now(now)
        with transaction(self._conn) as conn:
            cursor = conn.execute(
                "UPDATE outbox SET state = 'failed', last_error = ?, updated_at = ? "
                "WHERE id = ? AND state IN ('sending', 'queued', 'retrying')",
                (error, now, outbox_id),
            )
        return self._require_outbox(outbox_id) if cursor.rowcount == 1 else None

    def requeue_failed(self, outbox_id: int, *, now: float | None = None) -> OutboxRow | None:
        """failed → queued, due now (the panel's re-send key); None if the mail is not failed."""
        now = self._now(now)
        with transaction(self._conn) as conn:
            cursor = conn.execute(
                "UPDATE outbox SET state = 'queued', next_try_at = ?, last_error = '', updated_at = ? "
                "WHERE id = ? AND state = 'failed'",
                (now, now, outbox_id),
            )
        return self._require_outbox(outbox_id) if cursor.rowcount == 1 else None
