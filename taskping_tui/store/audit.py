"""The audit log (table ``audit``): one row per inbound mail and its verdict."""

from __future__ import annotations

import json

from taskping_tui.store.base import TableBase
from taskping_tui.store.rows import AuditRow


class AuditTable(TableBase):
    """Read by tests and `taskping-tui inspect`; written with each inbound mail."""

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
