"""The audit log (table ``audit``): one row per inbound mail and its verdict."""

from __future__ import annotations

import json
from collections.abc import Sequence

from taskping_tui.store.base import TableBase, _normalize_message_id
from taskping_tui.store.rows import AuditRow
from taskping_tui.store.schema import transaction


class AuditTable(TableBase):
    """Read by tests and `taskping-tui inspect`; written with each inbound mail."""

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
        with transaction(self._conn) as conn:
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
