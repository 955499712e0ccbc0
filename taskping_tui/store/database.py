"""The app's durable state: one SQLite file (stdlib ``sqlite3``), WAL mode, private to the user.

Rule for every caller: a state change is one committed transaction *before* the side effect it allows
(send a mail, type into the agent, mark a mail \\Seen). After a crash the store therefore tells the truth
about what may have happened, and start-up recovery makes the uncertain cases visible instead of
repeating them blindly:

* an outbox row left in ``sending`` goes back to ``retrying`` with a warning. The SMTP server may have
  accepted that mail just before the crash — we cannot know — so the recipient may get it twice. Losing
  a notification silently is worse than a rare duplicate, and the panel shows the warning.
* a command left in ``injecting`` becomes ``unknown`` and is never typed again on our own: a duplicated
  prompt can do real damage, so the user decides after looking at the agent.

Times are Unix seconds (``float``) from an injectable clock.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path

from taskping_tui import paths
from taskping_tui.store.audit import AuditTable
from taskping_tui.store.commands import CommandsTable
from taskping_tui.store.inbound_mail import InboundMailTable
from taskping_tui.store.outbox import OutboxTable
from taskping_tui.store.rows import Clock, StartupRecovery
from taskping_tui.store.schema import SCHEMA_VERSION, StoreError, migrate, transaction
from taskping_tui.store.sessions import SessionsTable
from taskping_tui.store.tokens import TokensTable

logger = logging.getLogger(__name__)

CRASH_WHILE_SENDING_WARNING = (
    "the app stopped while this mail was being sent; it is sent again, "
    "so the recipient may get it twice if the server had already accepted it"
)


_SQLITE_MAGIC = b"SQLite format 3\x00"
_SQLITE_HEADER_SIZE = 100  # the user_version pragma is the big-endian int at offset 60
_MOVE_AWAY = "move {path} away (taskping-tui then starts with an empty store)"
_USE_YOUR_OWN = "use your own state directory (XDG_STATE_HOME) or remove the file"


def _private_file(path: Path) -> None:
    """Create ``path`` as 0600 if missing; tighten it when it exists."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    if path.stat().st_uid != os.getuid():
        raise StoreError(f"{path} belongs to another user; refusing to use it", _USE_YOUR_OWN)
    os.chmod(path, 0o600)


class Store(TokensTable, OutboxTable, InboundMailTable, CommandsTable, AuditTable, SessionsTable):
    """All reads and writes of the app's state. Create with :meth:`Store.open`."""

    def __init__(self, conn: sqlite3.Connection, path: Path, clock: Clock, recovery: StartupRecovery) -> None:
        self._conn = conn
        self.path = path
        self.clock = clock
        self.recovery = recovery

    # -- life cycle ---------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | None = None, *, clock: Clock = time.time, read_only: bool = False) -> Store:
        """Open (creating if needed) the store at ``path`` or :func:`paths.default_store_path`.

        The directory is made 0700 and the files 0600. A read-write open migrates the schema and runs
        start-up recovery (see the module docstring); ``store.recovery`` says what it repaired.
        ``read_only`` opens an existing store without changing anything (for ``taskping-tui inspect``).
        """
        path = path or paths.default_store_path()
        if read_only:
            return cls._open_read_only(path, clock)
        paths.ensure_private_dir(path.parent)
        _private_file(path)
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=10.0)
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.DatabaseError as error:
            raise StoreError(
                f"{path} cannot be opened as a taskping-tui store: {error}", _MOVE_AWAY.format(path=path)
            ) from None
        # FULL: a commit survives power loss too, not only an app crash; our write rate is tiny.
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        try:
            migrate(conn)
        except sqlite3.DatabaseError as error:
            conn.close()
            raise StoreError(
                f"{path} cannot be used as a taskping-tui store: {error}", _MOVE_AWAY.format(path=path)
            ) from None
        for suffix in ("-wal", "-shm"):
            side_file = path.with_name(path.name + suffix)
            if side_file.exists():
                os.chmod(side_file, 0o600)
        store = cls(conn, path, clock, StartupRecovery())
        store.recovery = store._recover_after_unclean_stop()
        return store

    @classmethod
    def check(cls, path: Path | None = None) -> None:
        """Raise :class:`StoreError` (with a fix) when :meth:`open` would refuse ``path``; changes nothing.

        Reads only the SQLite header (no connection, so no journal files appear): a missing or empty file
        is fine (``open`` creates the store), anything else must be an SQLite database of ours or older.
        """
        path = path or paths.default_store_path()
        try:
            info = path.stat()
            with open(path, "rb") as file:
                header = file.read(_SQLITE_HEADER_SIZE)
        except FileNotFoundError:
            return
        except OSError as error:
            raise StoreError(
                f"{path} cannot be read: {error.strerror or error}", f"check the permissions of {path}"
            ) from None
        if info.st_uid != os.getuid():
            raise StoreError(f"{path} belongs to another user; refusing to use it", _USE_YOUR_OWN)
        if not header:
            return
        if len(header) < _SQLITE_HEADER_SIZE or not header.startswith(_SQLITE_MAGIC):
            raise StoreError(
                f"{path} is not a taskping-tui store (not an SQLite database)", _MOVE_AWAY.format(path=path)
            )
        version = int.from_bytes(header[60:64], "big", signed=True)
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{path} was written by a newer taskping-tui (schema {version}, this one knows {SCHEMA_VERSION})",
                "upgrade taskping-tui",
            )

    @classmethod
    def _open_read_only(cls, path: Path, clock: Clock) -> Store:
        if not path.exists():
            raise StoreError(f"{path} does not exist")
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version != SCHEMA_VERSION:
            conn.close()
            raise StoreError(f"{path} has schema {version}, this taskping-tui reads {SCHEMA_VERSION}")
        return cls(conn, path, clock, StartupRecovery())

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _recover_after_unclean_stop(self) -> StartupRecovery:
        now = self.clock()
        with transaction(self._conn) as conn:
            outbox_ids = tuple(row[0] for row in conn.execute("SELECT id FROM outbox WHERE state = 'sending'"))
            conn.execute(
                "UPDATE outbox SET state = 'retrying', next_try_at = ?, warning = ?, updated_at = ? "
                "WHERE state = 'sending'",
                (now, CRASH_WHILE_SENDING_WARNING, now),
            )
            command_ids = tuple(row[0] for row in conn.execute("SELECT id FROM commands WHERE state = 'injecting'"))
            conn.execute(
                "UPDATE commands SET state = 'unknown', updated_at = ?, "
                "note = 'the app stopped while typing this command; check the agent before sending it again' "
                "WHERE state = 'injecting'",
                (now,),
            )
        if outbox_ids:
            logger.warning("outbox mails %s were being sent when the app stopped; sending again", outbox_ids)
        if command_ids:
            logger.warning("commands %s were being typed when the app stopped; marked unknown", command_ids)
        return StartupRecovery(outbox_resent=outbox_ids, commands_unknown=command_ids)
