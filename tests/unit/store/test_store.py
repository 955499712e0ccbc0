"""The SQLite store: private files, schema versions, tokens, Message-IDs, outbox claims, mail records, commands."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from taskping_tui.inbound.commands import CommandEvent, CommandState
from taskping_tui.store import (
    CRASH_WHILE_SENDING_WARNING,
    SCHEMA_VERSION,
    NewInboundMail,
    Store,
    StoreError,
)


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "taskping.sqlite3"


@pytest.fixture
def store(store_path: Path, clock: FakeClock) -> Store:
    opened = Store.open(store_path, clock=clock)
    yield opened
    opened.close()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def enqueue(store: Store, session_id: str = "sess-1", token: str = "7K3QZ9MX", message_id: str = "<m1@test>") -> int:
    row = store.enqueue_mail(
        session_id=session_id,
        token=token,
        kind="turn_finished",
        subject="s",
        sender="bot@test",
        recipients=["me@test"],
        message_id=message_id,
        message=b"Subject: s\r\n\r\nbody\r\n",
    )
    return row.id


def inbound(verdict: str = "accepted", uid: int = 1, command: str | None = "run the tests", **extra) -> NewInboundMail:
    values = dict(
        verdict=verdict,
        received_at=1_700_000_000.0,
        uidvalidity=7,
        uid=uid,
        message_id=f"<reply{uid}@phone>",
        sender="me@phone.example",
        subject="Re: [TaskPing #7K3QZ9MX] Turn finished",
        reasons=["ok"],
        command=command,
        token="7K3QZ9MX",
        session_id="sess-1",
        raw_text="run the tests\n> quoted",
        headers={"From": "me@phone.example"},
    )
    values.update(extra)
    return NewInboundMail(**values)


# -- files and schema ----------------------------------------------------------------------------------


def test_store_directory_is_0700_and_files_are_0600(store: Store, store_path: Path) -> None:
    enqueue(store)  # make sure the WAL file exists
    assert mode(store_path.parent) == 0o700
    assert mode(store_path) == 0o600
    for suffix in ("-wal", "-shm"):
        side = store_path.with_name(store_path.name + suffix)
        if side.exists():
            assert mode(side) & 0o077 == 0


def test_existing_world_readable_store_is_tightened(store_path: Path, clock: FakeClock) -> None:
    store_path.parent.mkdir(parents=True)
    store_path.touch()
    os.chmod(store_path, 0o644)
    os.chmod(store_path.parent, 0o755)
    Store.open(store_path, clock=clock).close()
    assert mode(store_path) == 0o600
    assert mode(store_path.parent) == 0o700


def test_store_uses_wal_and_records_schema_version(store: Store, store_path: Path) -> None:
    conn = sqlite3.connect(store_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()


def test_store_written_by_newer_version_is_refused(store_path: Path, clock: FakeClock) -> None:
    Store.open(store_path, clock=clock).close()
    conn = sqlite3.connect(store_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer taskping-tui"):
        Store.open(store_path, clock=clock)


def test_data_survives_reopen(store_path: Path, clock: FakeClock) -> None:
    with Store.open(store_path, clock=clock) as first:
        token = first.create_session_token("sess-1", 3600).token
    with Store.open(store_path, clock=clock) as second:
        assert second.token_status(token).state == "active"


def test_read_only_store_sees_data_but_cannot_change_it(store_path: Path, clock: FakeClock) -> None:
    with Store.open(store_path, clock=clock) as writer:
        token = writer.create_session_token("sess-1", 3600).token
    with Store.open(store_path, clock=clock, read_only=True) as reader:
        assert reader.token_status(token).session_id == "sess-1"
        with pytest.raises(sqlite3.OperationalError):
            reader.revoke_token(token)


def test_read_only_open_of_missing_store_says_so(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        Store.open(tmp_path / "nope.sqlite3", read_only=True)


# -- tokens ------------------------------------------------------------------------------------------


def test_token_is_active_until_ttl_then_expired(store: Store, clock: FakeClock) -> None:
    row = store.create_session_token("sess-1", 3600)
    assert len(row.token) == 8
    status = store.token_status(row.token)
    assert (status.state, status.session_id) == ("active", "sess-1")
    clock.advance(3599)
    assert store.token_status(row.token).state == "active"
    clock.advance(1)
    assert store.token_status(row.token).state == "expired"


def test_extending_a_token_pushes_expiry_from_now(store: Store, clock: FakeClock) -> None:
    token = store.create_session_token("sess-1", 3600).token
    clock.advance(3000)
    extended = store.extend_token(token, 3600)
    assert extended is not None and extended.expires_at == clock.now + 3600
    clock.advance(3500)
    assert store.token_status(token).state == "active"


def test_expired_or_revoked_token_cannot_be_extended(store: Store, clock: FakeClock) -> None:
    expired = store.create_session_token("sess-1", 10).token
    revoked = store.create_session_token("sess-2", 3600).token
    assert store.revoke_token(revoked)
    clock.advance(20)
    assert store.extend_token(expired, 3600) is None
    assert store.extend_token(revoked, 3600) is None
    assert store.token_status(expired).state == "expired"


def test_revoked_token_is_reported_revoked_even_before_expiry(store: Store) -> None:
    token = store.create_session_token("sess-1", 3600).token
    assert store.revoke_token(token)
    assert store.token_status(token).state == "revoked"
    assert not store.revoke_token(token), "revoking twice changes nothing"


def test_unknown_token(store: Store) -> None:
    assert store.token_status("ABCDEFGH").state == "unknown"
    assert store.token_status("ABCDEFGH").session_id is None


def test_token_lookup_forgives_case_and_lookalikes(store: Store) -> None:
    token = store.create_session_token("sess-1", 3600).token
    typed = token.lower().replace("0", "o").replace("1", "l")
    assert store.token_status(typed).state == "active"


def test_ensure_session_token_reuses_and_extends_then_replaces_after_revocation(store: Store, clock: FakeClock) -> None:
    first = store.ensure_session_token("sess-1", 3600)
    clock.advance(1800)
    again = store.ensure_session_token("sess-1", 3600)
    assert again.token == first.token
    assert again.expires_at == clock.now + 3600
    store.revoke_token(first.token)
    fresh = store.ensure_session_token("sess-1", 3600)
    assert fresh.token != first.token
    assert store.ensure_session_token("sess-2", 3600).token != fresh.token


# -- Message-IDs -------------------------------------------------------------------------------------


def test_enqueued_mail_records_its_message_id_for_reply_matching(store: Store) -> None:
    outbox_id = enqueue(store, message_id="<first@test>")
    enqueue(store, message_id="second@test")
    found = store.lookup_message_id("first@test")
    assert found is not None and (found.token, found.session_id, found.outbox_id) == ("7K3QZ9MX", "sess-1", outbox_id)
    assert store.lookup_message_id("<second@test>") is not None
    assert store.first_message_id("sess-1") == "<first@test>"
    assert store.token_for_message_ids(["<unrelated@x>", "<second@test>"]) == "7K3QZ9MX"
    assert store.token_for_message_ids(["<unrelated@x>"]) is None


# -- outbox ------------------------------------------------------------------------------------------


def test_outbox_claim_happens_once(store: Store) -> None:
    outbox_id = enqueue(store)
    claimed = store.claim_for_sending(outbox_id)
    assert claimed is not None and claimed.state == "sending" and claimed.attempts == 1
    assert store.claim_for_sending(outbox_id) is None


def test_outbox_state_changes_require_the_right_state(store: Store, clock: FakeClock) -> None:
    outbox_id = enqueue(store)
    assert store.mark_sent(outbox_id) is None, "a queued mail cannot be marked sent"
    store.claim_for_sending(outbox_id)
    retry = store.mark_retrying(outbox_id, error="451 later", next_try_at=clock.now + 30)
    assert retry is not None and (retry.state, retry.last_error, retry.next_try_at) == (
        "retrying",
        "451 later",
        clock.now + 30,
    )
    store.claim_for_sending(outbox_id)
    failed = store.mark_failed(outbox_id, error="550 no")
    assert failed is not None and failed.state == "failed"
    assert store.requeue_failed(outbox_id) is not None
    assert store.requeue_failed(outbox_id) is None, "only a failed mail can be re-sent"
    store.claim_for_sending(outbox_id)
    sent = store.mark_sent(outbox_id, warning="not delivered to x")
    assert sent is not None and (sent.state, sent.sent_at, sent.warning, sent.attempts) == (
        "sent",
        clock.now,
        "not delivered to x",
        3,
    )


def test_mail_left_sending_at_startup_is_retried_with_a_visible_warning(store_path: Path, clock: FakeClock) -> None:
    with Store.open(store_path, clock=clock) as first:
        outbox_id = enqueue(first)
        first.claim_for_sending(outbox_id)
    with Store.open(store_path, clock=clock) as second:
        assert second.recovery.outbox_resent == (outbox_id,)
        row = second.get_outbox(outbox_id)
        assert row is not None and row.state == "retrying"
        assert row.warning == CRASH_WHILE_SENDING_WARNING
        assert row.next_try_at <= clock.now
        assert [each.id for each in second.pending_outbox()] == [outbox_id]


def test_coalescing_only_replaces_a_mail_never_tried(store: Store) -> None:
    outbox_id = enqueue(store)
    assert store.untried_mail_for_session("sess-1") is not None
    replaced = store.replace_queued_mail(outbox_id, kind="api_error", subject="new", message=b"x", facts=[{"a": 1}])
    assert replaced is not None and replaced.subject == "new" and replaced.facts == ({"a": 1},)
    store.claim_for_sending(outbox_id)
    assert store.untried_mail_for_session("sess-1") is None
    assert store.replace_queued_mail(outbox_id, kind="x", subject="late", message=b"y", facts=[]) is None


# -- mailbox cursor ----------------------------------------------------------------------------------


def test_mailbox_cursor_round_trip(store: Store) -> None:
    assert store.load_cursor("imap://bot@host/INBOX") is None
    store.save_cursor("imap://bot@host/INBOX", 42, 7)
    store.save_cursor("imap://bot@host/INBOX", 43, 1)
    assert store.load_cursor("imap://bot@host/INBOX") == (43, 1)


# -- inbound mail, audit, commands -------------------------------------------------------------------


def test_accepted_mail_is_recorded_with_audit_row_and_command_together(store: Store) -> None:
    recorded = store.record_inbound_mail(inbound(), command_state="approved", cursor=("inbox", 7, 1))
    assert recorded.command_id is not None and not recorded.already_recorded
    mail = store.get_inbound_mail(recorded.mail_id)
    assert mail is not None and mail.verdict == "accepted" and mail.headers == {"From": "me@phone.example"}
    audit = store.list_audit()
    assert [(row.verdict, row.command, row.mail_id) for row in audit] == [
        ("accepted", "run the tests", recorded.mail_id)
    ]
    command = store.get_command(recorded.command_id)
    assert command is not None and command.state is CommandState.APPROVED and command.sender == "me@phone.example"
    assert store.load_cursor("inbox") == (7, 1)
    assert store.mail_seen_by_uid(7, 1)
    assert store.mail_seen_by_message_id("reply1@phone")


def test_blocked_mail_command_waits_blocked_with_its_pattern(store: Store) -> None:
    recorded = store.record_inbound_mail(inbound("blocked", command="rm -rf /", danger_pattern="rm -rf"))
    command = store.get_command(recorded.command_id or 0)
    assert command is not None and command.state is CommandState.BLOCKED and command.danger_pattern == "rm -rf"


def test_rejected_and_ignored_mail_make_no_command(store: Store) -> None:
    rejected = store.record_inbound_mail(inbound("rejected", uid=1, reasons=["sender not allowed"]))
    ignored = store.record_inbound_mail(inbound("ignored", uid=2, command=None))
    assert rejected.command_id is None and ignored.command_id is None
    assert store.list_commands() == []
    assert [row.verdict for row in store.list_audit()] == ["ignored", "rejected"]
    assert store.list_audit()[1].reasons == ("sender not allowed",)


def test_same_uid_recorded_twice_changes_nothing(store: Store) -> None:
    first = store.record_inbound_mail(inbound())
    again = store.record_inbound_mail(inbound())
    assert again.already_recorded and again.mail_id == first.mail_id
    assert len(store.list_commands()) == 1
    assert len(store.list_audit()) == 1


def test_failed_record_leaves_nothing_behind(store: Store) -> None:
    with pytest.raises(ValueError):
        store.record_inbound_mail(inbound(), command_state="no-such-state")
    assert not store.mail_seen_by_uid(7, 1)
    assert store.list_audit() == []
    assert store.list_commands() == []


def test_message_id_seen_only_for_recorded_mail(store: Store) -> None:
    assert not store.mail_seen_by_message_id("<reply1@phone>")
    assert not store.mail_seen_by_message_id("")
    store.record_inbound_mail(inbound(message_id=""))
    assert not store.mail_seen_by_message_id("")


def test_command_transition_checks_the_from_state(store: Store) -> None:
    command_id = store.record_inbound_mail(inbound(), command_state="approved").command_id or 0
    assert store.apply_command_event(command_id, CommandEvent.START_INJECTION) is not None
    assert store.apply_command_event(command_id, CommandEvent.START_INJECTION) is None, "no double injection"
    assert store.apply_command_event(command_id, CommandEvent.APPROVE) is None
    done = store.apply_command_event(command_id, CommandEvent.INJECTION_DONE, note="typed")
    assert done is not None and done.state is CommandState.INJECTED and done.note == "typed"
    assert store.transition_command(command_id, ["approved"], "injecting") is None


def test_edit_then_approve_replaces_the_text(store: Store) -> None:
    command_id = store.record_inbound_mail(inbound("blocked", command="rm -rf build")).command_id or 0
    approved = store.apply_command_event(command_id, CommandEvent.APPROVE, text="rm -rf build/tmp")
    assert approved is not None and approved.text == "rm -rf build/tmp" and approved.state is CommandState.APPROVED


def test_command_left_injecting_becomes_unknown_at_open_and_is_not_replayed(store_path: Path, clock: FakeClock) -> None:
    with Store.open(store_path, clock=clock) as first:
        command_id = first.record_inbound_mail(inbound(), command_state="approved").command_id or 0
        first.apply_command_event(command_id, CommandEvent.START_INJECTION)
    with Store.open(store_path, clock=clock) as second:
        assert second.recovery.commands_unknown == (command_id,)
        row = second.get_command(command_id)
        assert row is not None and row.state is CommandState.UNKNOWN and "check the agent" in row.note
        assert second.pending_commands() == [], "an unknown command is not in the queue to inject"


def test_commands_in_last_hour_counts_per_session(store: Store, clock: FakeClock) -> None:
    store.record_inbound_mail(inbound(uid=1, received_at=clock.now - 4000))
    store.record_inbound_mail(inbound(uid=2, received_at=clock.now - 100))
    store.record_inbound_mail(inbound(uid=3, received_at=clock.now - 10, session_id="other"))
    assert store.commands_in_last_hour("sess-1", clock.now) == 1
    assert store.commands_in_last_hour("other", clock.now) == 1


def test_pending_commands_can_be_reordered(store: Store) -> None:
    ids = [store.record_inbound_mail(inbound(uid=uid, command=f"cmd {uid}")).command_id for uid in (1, 2, 3)]
    assert store.move_command(ids[2] or 0, -1)
    assert [row.text for row in store.pending_commands()] == ["cmd 1", "cmd 3", "cmd 2"]
    assert not store.move_command(ids[0] or 0, -1), "the first cannot move further up"
    assert store.move_command(ids[0] or 0, +1)
    assert [row.text for row in store.pending_commands()] == ["cmd 3", "cmd 1", "cmd 2"]


def test_waiting_commands_expire_after_ttl(store: Store, clock: FakeClock) -> None:
    old = store.record_inbound_mail(inbound(uid=1, received_at=clock.now - 7200)).command_id
    new = store.record_inbound_mail(inbound(uid=2, received_at=clock.now - 60)).command_id
    expired = store.expire_commands(3600)
    assert [row.id for row in expired] == [old]
    assert store.get_command(new or 0).state is CommandState.QUEUED  # type: ignore[union-attr]
    assert store.get_command(old or 0).state is CommandState.EXPIRED  # type: ignore[union-attr]
