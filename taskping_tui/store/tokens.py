"""Session tokens and the Message-IDs of the notifications that carried them (tables ``session_tokens``,
``sent_messages``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from taskping_tui.mail.tokens import new_token, normalize_token
from taskping_tui.store.base import TableBase, _normalize_message_id
from taskping_tui.store.rows import SentMessage, TokenRow, TokenState, TokenStatus
from taskping_tui.store.schema import transaction


def _canonical_token(token: str) -> str:
    return normalize_token(token) or token.strip().upper()


def insert_message_id(
    conn: sqlite3.Connection, message_id: str, token: str, session_id: str, outbox_id: int | None, now: float
) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO sent_messages (message_id, token, session_id, outbox_id, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (_normalize_message_id(message_id), token, session_id, outbox_id, now),
    )


class TokensTable(TableBase):
    """Tokens: created per session, extended by use, revoked from the Notifications panel."""

    def create_session_token(self, session_id: str, ttl: float, *, now: float | None = None) -> TokenRow:
        """A fresh token for ``session_id`` valid for ``ttl`` seconds."""
        now = self._now(now)
        with transaction(self._conn) as conn:
            while True:
                token = new_token()
                if conn.execute("SELECT 1 FROM session_tokens WHERE token = ?", (token,)).fetchone() is None:
                    break
            conn.execute(
                "INSERT INTO session_tokens (token, session_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                (token, session_id, now, now + ttl),
            )
        return TokenRow(token, session_id, now, now + ttl, None)

    def active_token_for_session(self, session_id: str, *, now: float | None = None) -> TokenRow | None:
        now = self._now(now)
        row = self._conn.execute(
            "SELECT token, session_id, created_at, expires_at, revoked_at FROM session_tokens "
            "WHERE session_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC LIMIT 1",
            (session_id, now),
        ).fetchone()
        return TokenRow(*row) if row else None

    def ensure_session_token(self, session_id: str, ttl: float, *, now: float | None = None) -> TokenRow:
        """The session's active token extended to ``now + ttl``, or a new one if it has none."""
        now = self._now(now)
        current = self.active_token_for_session(session_id, now=now)
        if current is not None:
            extended = self.extend_token(current.token, ttl, now=now)
            if extended is not None:
                return extended
        return self.create_session_token(session_id, ttl, now=now)

    def extend_token(self, token: str, ttl: float, *, now: float | None = None) -> TokenRow | None:
        """Push an active token's expiry to ``now + ttl`` (never shortens); None if not active."""
        now = self._now(now)
        token = _canonical_token(token)
        with transaction(self._conn) as conn:
            cursor = conn.execute(
                "UPDATE session_tokens SET expires_at = MAX(expires_at, ?) "
                "WHERE token = ? AND revoked_at IS NULL AND expires_at > ?",
                (now + ttl, token, now),
            )
        return self.get_token(token) if cursor.rowcount == 1 else None

    def revoke_token(self, token: str, *, now: float | None = None) -> bool:
        """Revoke ``token``; replies carrying it are rejected from now on. False if unknown or revoked."""
        now = self._now(now)
        with transaction(self._conn) as conn:
            cursor = conn.execute(
                "UPDATE session_tokens SET revoked_at = ? WHERE token = ? AND revoked_at IS NULL",
                (now, _canonical_token(token)),
            )
        return cursor.rowcount == 1

    def get_token(self, token: str) -> TokenRow | None:
        row = self._conn.execute(
            "SELECT token, session_id, created_at, expires_at, revoked_at FROM session_tokens WHERE token = ?",
            (_canonical_token(token),),
        ).fetchone()
        return TokenRow(*row) if row else None

    def token_status(self, token: str, now: float | None = None) -> TokenStatus:
        """active / expired / revoked / unknown, with the session it belongs to."""
        row = self.get_token(token)
        if row is None:
            return TokenStatus(TokenState.UNKNOWN)
        return TokenStatus(row.state(self._now(now)), row.session_id, row.token, row.created_at, row.expires_at)

    def lookup_message_id(self, message_id: str) -> SentMessage | None:
        """Our notification with this Message-ID (brackets optional), for In-Reply-To / References."""
        row = self._conn.execute(
            "SELECT message_id, token, session_id, outbox_id, created_at FROM sent_messages WHERE message_id = ?",
            (_normalize_message_id(message_id),),
        ).fetchone()
        return SentMessage(*row) if row else None

    def token_for_message_ids(self, message_ids: Iterable[str]) -> str | None:
        """The token of the first of ``message_ids`` that is one of ours (In-Reply-To, then References)."""
        for message_id in message_ids:
            found = self.lookup_message_id(message_id)
            if found is not None:
                return found.token
        return None

    def first_message_id(self, session_id: str) -> str | None:
        """The session's first notification, which every later one threads to."""
        row = self._conn.execute(
            "SELECT message_id FROM sent_messages WHERE session_id = ? ORDER BY created_at, rowid LIMIT 1",
            (session_id,),
        ).fetchone()
        return row[0] if row else None
