"""The store's records: one frozen dataclass per table row, and the states a row can be in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from taskping_tui.inbound.commands import CAN_EXPIRE, CommandState
from taskping_tui.inbound.gate import VerdictKind

Clock = Callable[[], float]


class TokenState(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


class OutboxState(StrEnum):
    """queued → sending → sent, or → retrying → sending …, or → failed (resend puts it back to queued)."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    RETRYING = "retrying"
    FAILED = "failed"


OUTBOX_STATES: tuple[str, ...] = tuple(state.value for state in OutboxState)
VERDICTS: tuple[str, ...] = tuple(kind.value for kind in VerdictKind)
COMMAND_STATES: tuple[str, ...] = tuple(state.value for state in CommandState)
PENDING_COMMAND_STATES: tuple[str, ...] = tuple(sorted(state.value for state in CAN_EXPIRE))


@dataclass(frozen=True)
class TokenRow:
    token: str
    session_id: str
    created_at: float
    expires_at: float
    revoked_at: float | None

    def state(self, now: float) -> TokenState:
        if self.revoked_at is not None:
            return TokenState.REVOKED
        if now >= self.expires_at:
            return TokenState.EXPIRED
        return TokenState.ACTIVE


@dataclass(frozen=True)
class TokenStatus:
    state: TokenState
    session_id: str | None = None
    token: str | None = None
    created_at: float | None = None
    expires_at: float | None = None


@dataclass(frozen=True)
class SentMessage:
    message_id: str
    token: str
    session_id: str
    outbox_id: int | None
    created_at: float


@dataclass(frozen=True)
class OutboxRow:
    id: int
    session_id: str
    token: str
    kind: str
    subject: str
    sender: str
    recipients: tuple[str, ...]
    message_id: str
    message: bytes
    facts: tuple[dict[str, Any], ...]
    state: OutboxState
    attempts: int
    scheduled_at: float
    next_try_at: float
    last_error: str
    warning: str
    sent_at: float | None
    created_at: float
    updated_at: float

    @property
    def notification_count(self) -> int:
        """How many notifications this mail carries (more than one after coalescing)."""
        return max(1, len(self.facts))


@dataclass(frozen=True)
class NewInboundMail:
    """What the watcher and the gate learned about one fetched mail, ready to be recorded."""

    verdict: VerdictKind
    received_at: float
    uidvalidity: int | None = None
    uid: int | None = None
    message_id: str = ""
    sender: str = ""
    subject: str = ""
    reasons: Sequence[str] = ()
    command: str | None = None
    token: str | None = None
    session_id: str | None = None
    raw_text: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    auth_result: str = ""
    danger_pattern: str | None = None
    # The dialog (inbound.permission.dialog_key) the command answers: its mail replied to a permission or
    # question mail.
    answers_dialog: str = ""


@dataclass(frozen=True)
class InboundMailRow:
    id: int
    uidvalidity: int | None
    uid: int | None
    message_id: str
    sender: str
    subject: str
    received_at: float
    verdict: VerdictKind
    reasons: tuple[str, ...]
    command: str | None
    token: str | None
    session_id: str | None
    raw_text: str
    headers: dict[str, str]


@dataclass(frozen=True)
class AuditRow:
    id: int
    time: float
    sender: str
    token: str | None
    message_id: str
    verdict: str
    reasons: tuple[str, ...]
    command: str | None
    mail_id: int | None


@dataclass(frozen=True)
class CommandRow:
    id: int
    mail_id: int | None
    session_id: str | None
    token: str | None
    sender: str
    text: str
    danger_pattern: str | None
    auth_result: str
    state: CommandState
    position: int
    created_at: float
    updated_at: float
    note: str
    answers_dialog: str = ""  # see NewInboundMail.answers_dialog

    @property
    def created(self) -> datetime:
        return datetime.fromtimestamp(self.created_at).astimezone()

    @property
    def updated(self) -> datetime:
        return datetime.fromtimestamp(self.updated_at).astimezone()


@dataclass(frozen=True)
class CommandEdit:
    """One keyboard edit of a command: what it said and matched before, and after."""

    id: int
    command_id: int
    time: float
    old_text: str
    new_text: str
    old_danger: str | None
    new_danger: str | None


@dataclass(frozen=True)
class RecordedMail:
    """Ids written by :meth:`Store.record_inbound_mail`; ``already_recorded`` when the UID was known."""

    mail_id: int
    audit_id: int | None
    command_id: int | None
    already_recorded: bool = False


@dataclass(frozen=True)
class StartupRecovery:
    """What :meth:`Store.open` repaired after an unclean stop (shown to the user, never hidden)."""

    outbox_resent: tuple[int, ...] = ()
    commands_unknown: tuple[int, ...] = ()
