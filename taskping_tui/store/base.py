"""What every table mixin of :class:`taskping_tui.store.Store` shares: the connection and the clock."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from taskping_tui.store.rows import Clock


class TableBase:
    """The state :class:`taskping_tui.store.Store` holds; each table's mixin reads and writes through it."""

    _conn: sqlite3.Connection
    path: Path
    clock: Clock

    def _now(self, now: float | None) -> float:
        return self.clock() if now is None else now


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
