"""The SQLite store: session tokens, the outbox, seen mail, commands and the audit log.

`Store` (in `database`) opens the file, migrates it (`schema`) and recovers after an unclean stop; it is
made of one mixin per table (`tokens`, `outbox`, `inbound_mail`, `commands` with its edit history, `audit`, `sessions`), and `rows` holds
the records they return. Import from here: `from taskping_tui.store import Store, CommandRow, …`.
"""

from taskping_tui.store.database import CRASH_WHILE_SENDING_WARNING, Store
from taskping_tui.store.rows import (
    COMMAND_STATES,
    OUTBOX_STATES,
    PENDING_COMMAND_STATES,
    VERDICTS,
    AuditRow,
    Clock,
    CommandEdit,
    CommandRow,
    InboundMailRow,
    NewInboundMail,
    OutboxRow,
    OutboxState,
    RecordedMail,
    SentMessage,
    StartupRecovery,
    TokenRow,
    TokenState,
    TokenStatus,
)
from taskping_tui.store.schema import MIGRATIONS, SCHEMA_VERSION, StoreError, migrate
from taskping_tui.store.sessions import SessionRow, SessionState

__all__ = [
    "COMMAND_STATES",
    "CRASH_WHILE_SENDING_WARNING",
    "MIGRATIONS",
    "OUTBOX_STATES",
    "PENDING_COMMAND_STATES",
    "SCHEMA_VERSION",
    "VERDICTS",
    "AuditRow",
    "Clock",
    "CommandEdit",
    "CommandRow",
    "InboundMailRow",
    "NewInboundMail",
    "OutboxRow",
    "OutboxState",
    "RecordedMail",
    "SentMessage",
    "SessionRow",
    "SessionState",
    "StartupRecovery",
    "Store",
    "StoreError",
    "TokenRow",
    "TokenState",
    "TokenStatus",
    "migrate",
]
