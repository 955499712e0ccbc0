"""Notification fan-out: one agent notification → toast, desktop notice, outbox mail and a panel record.

Textual-free: the four outlets are callables, so a test drives it with lists. Records keep the outbox row
of their mail, so the panel can show the mail's delivery state as the outbox reports changes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from taskping_tui.agent.question import QUESTION_TOOL
from taskping_tui.agent.state import Notification
from taskping_tui.config import NotifyConfig
from taskping_tui.mail.compose import NotificationFacts
from taskping_tui.store import OutboxRow

KIND_TITLES = {
    "turn_finished": "Turn finished",
    "needs_permission": "Needs permission",
    "api_error": "API error",
    "exited": "Agent exited",
}
WARNING_KINDS = frozenset({"needs_permission", "api_error"})


@dataclass(frozen=True)
class NotificationRecord:
    """One notification as the Notifications panel lists it."""

    key: str
    time: datetime
    kind: str
    summary: str
    session_id: str
    outbox: OutboxRow | None = None


@dataclass(frozen=True)
class SessionFacts:
    """What a mail needs to know about the session a notification belongs to."""

    session_id: str
    name: str = ""
    cwd: str = ""


def facts_from(note: Notification, session: SessionFacts) -> NotificationFacts:
    """Mail facts of ``note``, filed under our durable session id (its token and thread survive restarts)."""
    return NotificationFacts(
        kind=note.kind.value,
        summary=note.summary,
        session_id=session.session_id,
        session_name=session.name,
        cwd=note.cwd or session.cwd,
        prompt=note.prompt or "",
        last_assistant_message=note.last_assistant_message or "",
        tool_name=note.tool_name or "",
        tool_input=note.tool_input,
        error=note.error or "",
        time=note.when,
    )


Toast = Callable[[str, str, str], None]  # (message, title, severity)
Desktop = Callable[[str, str], object]  # (title, body)
Show = Callable[[NotificationRecord], None]
Enqueue = Callable[[NotificationFacts], OutboxRow]


class NotificationFanout:
    """Sends each notification to the outlets the ``[notify]`` config turns on, and to mail when it is on."""

    def __init__(self, notify: NotifyConfig, *, toast: Toast, desktop: Desktop, show: Show) -> None:
        self.notify = notify
        self._toast = toast
        self._desktop = desktop
        self._show = show
        self.enqueue: Enqueue | None = None
        self._ids = itertools.count(1)
        self._records: dict[str, NotificationRecord] = {}
        self._keys_by_outbox: dict[int, list[str]] = {}
        self.muted = False  # set while the app shuts down: "agent exited" is no news to the user who quit

    @property
    def records(self) -> list[NotificationRecord]:
        return list(self._records.values())

    def outbox_id_for(self, key: str) -> int | None:
        record = self._records.get(key)
        return record.outbox.id if record is not None and record.outbox is not None else None

    def publish(self, note: Notification, session: SessionFacts) -> NotificationRecord | None:
        if self.muted:
            return None
        kind = note.kind.value
        asks = note.tool_name == QUESTION_TOOL
        title = "Claude asks a question" if asks else KIND_TITLES.get(kind, kind)
        if self.notify.toast:
            self._toast(note.summary, title, "warning" if kind in WARNING_KINDS else "information")
        if self.notify.desktop:
            self._desktop(f"taskping-tui: {title}", note.summary)
        outbox = self.enqueue(facts_from(note, session)) if self.enqueue is not None else None
        listed = "asks_question" if asks else kind  # the panel labels a question apart
        record = NotificationRecord(f"n{next(self._ids)}", note.when, listed, note.summary, session.session_id, outbox)
        self._keep(record)
        return record

    def add_left_over(self, row: OutboxRow) -> NotificationRecord:
        """A mail the last run left unsent, listed with the rest (it goes out now)."""
        record = NotificationRecord(
            f"o{row.id}",
            datetime.fromtimestamp(row.created_at),
            row.kind,
            f"(from the last run) {row.subject}",
            row.session_id,
            row,
        )
        self._keep(record)
        return record

    def outbox_changed(self, row: OutboxRow) -> None:
        for key in self._keys_by_outbox.get(row.id, []):
            old = self._records.get(key)
            if old is not None:
                self._keep(replace(old, outbox=row))

    def _keep(self, record: NotificationRecord) -> None:
        self._records[record.key] = record
        if record.outbox is not None:
            keys = self._keys_by_outbox.setdefault(record.outbox.id, [])
            if record.key not in keys:
                keys.append(record.key)
        if self.notify.panel:
            self._show(record)
