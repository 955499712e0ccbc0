"""Store rows and core records → the entries the sidebar panels and dialogs show.

Pure functions: no widget is touched here, so each wording rule is unit-testable on its own.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime

from taskping_tui.core.fanout import NotificationRecord
from taskping_tui.inbound.command_edit import command_history_rows
from taskping_tui.store import CommandEdit, CommandRow, InboundMailRow, OutboxRow, TokenRow
from taskping_tui.widgets.commands_panel import CommandEntry
from taskping_tui.widgets.inbound_panel import InboundEntry
from taskping_tui.widgets.notifications_panel import NotificationEntry


def mail_status(row: OutboxRow) -> tuple[str, str]:
    """(state, detail) of an outbox row, worded for the Notifications panel."""
    state = str(row.state)
    if state == "sent" and row.sent_at is not None:
        detail = datetime.fromtimestamp(row.sent_at).strftime("%H:%M:%S")
        return state, f"{detail} — {row.warning}" if row.warning else detail
    if state == "retrying":
        at = datetime.fromtimestamp(row.next_try_at).strftime("%H:%M:%S")
        return state, f"next try {at}: {row.last_error}"
    if state == "failed":
        return state, f"{row.last_error} (r to resend)"
    return state, ""


def age(seconds: float) -> str:
    """A short age: 45s, 12m, 3h, 2d."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{max(0, int(seconds))}s"


def since(seconds: float) -> str:
    """How long a session has been in its state: minutes and up (the panel is redrawn once a second)."""
    return "<1m" if seconds < 60 else age(seconds)


def with_session(label: str, text: str) -> str:
    """``text`` prefixed with the session it belongs to, once more than one session is hosted."""
    return f"[{label}] {text}" if label else text


def notification_entry(record: NotificationRecord, session_label: str = "") -> NotificationEntry:
    state, detail = mail_status(record.outbox) if record.outbox is not None else ("", "")
    return NotificationEntry(
        record.key,
        record.time,
        record.kind,
        with_session(session_label, record.summary),
        state,
        detail,
        record.outbox.id if record.outbox is not None else None,
    )


def inbound_entry(row: InboundMailRow, session_label: str = "") -> InboundEntry:
    return InboundEntry(
        row.id,
        datetime.fromtimestamp(row.received_at),
        row.sender or "(unknown sender)",
        with_session(session_label, row.subject),
        str(row.verdict),
        "; ".join(row.reasons),
    )


def inbound_details(row: InboundMailRow) -> list[tuple[str, str]]:
    headers = "\n".join(f"{name}: {value}" for name, value in row.headers.items())
    return [
        ("Verdict", f"{row.verdict}" + "".join(f"\n  - {reason}" for reason in row.reasons)),
        ("From", row.sender),
        ("Subject", row.subject),
        ("Token", row.token or "(none)"),
        ("Extracted command", row.command or "(none)"),
        ("Headers that mattered", headers),
        ("Text part", row.raw_text),
    ]


def command_entry(
    command: CommandRow,
    token_row: TokenRow | None,
    waiting_note: str = "",
    session_label: str = "",
    now: float | None = None,
) -> CommandEntry:
    now = time.time() if now is None else now
    token_age = age(now - token_row.created_at) if token_row else "—"
    note = waiting_note if command.state == "approved" else command.note
    return CommandEntry(
        command.id,
        command.state,
        command.sender,
        token_age,
        command.auth_result or "auth not checked",
        with_session(session_label, command.text),
        command.danger_pattern or "",
        note,
        command.position,
        command.updated_at,
    )


def command_details(
    command: CommandRow, session_label: str = "", edits: Sequence[CommandEdit] = ()
) -> list[tuple[str, str]]:
    sections = [
        ("State", f"{command.state} — {command.note}" if command.note else str(command.state)),
        ("From", command.sender),
        ("Token", command.token or "(none)"),
        ("Authentication", command.auth_result or "not checked"),
        ("Danger pattern", command.danger_pattern or "none"),
        ("Command", command.text),
    ]
    if session_label:
        sections.insert(1, ("Session", session_label))
    return [*sections, *command_history_rows(edits)]
