"""Sessions are durable rows: numbered, renamed, closed, with the agent's ids and state, across reopenings."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from taskping_tui.store import SCHEMA_VERSION, NewInboundMail, Store


def test_a_session_survives_closing_and_reopening_the_store(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with Store.open(path) as store:
        row = store.create_session("api", ["claude", "--model", "opus"], "/work/api", now=100.0)
        store.update_session(row.id, agent_session_id="cc-1", transcript_path="/h/.claude/projects/x/cc-1.jsonl")
    with Store.open(path) as store:
        (again,) = store.list_sessions()
    assert (again.id, again.number, again.name, again.argv, again.cwd) == (
        row.id,
        1,
        "api",
        ("claude", "--model", "opus"),
        "/work/api",
    )
    assert (again.agent_session_id, again.transcript_path) == ("cc-1", "/h/.claude/projects/x/cc-1.jsonl")
    assert again.is_open and again.created_at == 100.0


def test_numbers_are_stable_and_a_closed_sessions_number_is_reused(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite3") as store:
        one, two, three = (store.create_session(name, ["claude"], "/w") for name in ("a", "b", "c"))
        assert [one.number, two.number, three.number] == [1, 2, 3]
        closed = store.close_session(two.id, now=5.0)
        assert closed is not None and closed.state == "closed" and closed.ended_at == 5.0
        assert store.close_session(two.id) is None  # only once
        assert [row.number for row in store.list_sessions()] == [1, 3]
        assert store.create_session("d", ["claude"], "/w").number == 2
        assert store.session_is_closed(two.id) and not store.session_is_closed(one.id)
        assert not store.session_is_closed("never-heard-of")
        assert [row.name for row in store.list_sessions(include_closed=True)] == ["a", "d", "c", "b"]


def test_state_since_moves_only_when_the_agent_state_changes(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite3") as store:
        row = store.create_session("a", ["claude"], "/w", now=1.0)
        store.set_session_agent_state(row.id, "busy", now=10.0)
        store.set_session_agent_state(row.id, "busy", now=20.0)
        busy = store.get_session(row.id)
        store.set_session_agent_state(row.id, "idle", now=30.0)
        idle = store.get_session(row.id)
    assert busy is not None and (busy.agent_state, busy.state_since) == ("busy", 10.0)
    assert idle is not None and (idle.agent_state, idle.state_since) == ("idle", 30.0)


def test_thread_root_is_the_first_mail_of_the_session(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite3") as store:
        row = store.create_session("a", ["claude"], "/w")
        assert row.thread_root is None
        for number in (1, 2):
            store.enqueue_mail(
                session_id=row.id,
                token="T",
                kind="turn_finished",
                subject="s",
                sender="b@x",
                recipients=["me@x"],
                message_id=f"<m{number}@x>",
                message=b"m",
                now=float(number),
            )
        again = store.get_session(row.id)
    assert again is not None and again.thread_root == "<m1@x>"


def test_command_counts_are_per_session(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite3") as store:
        for session, state, text in (("s1", "approved", "a"), ("s1", "blocked", "b"), ("s2", "queued", "c")):
            store.record_inbound_mail(
                NewInboundMail(
                    verdict="accepted", received_at=1.0, command=text, session_id=session, message_id=f"<{text}@x>"
                ),
                command_state=state,
            )
        assert store.session_command_counts("s1") == (1, 1)
        assert store.session_command_counts("s2") == (0, 1)


def test_a_version_1_store_gains_the_sessions_table_and_keeps_its_rows(tmp_path: Path) -> None:
    from taskping_tui.store import MIGRATIONS

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO session_tokens VALUES ('ABCD2345', 'old', 1.0, 9e12, NULL)")
    conn.close()
    with Store.open(path) as store:
        assert store.get_token("ABCD2345") is not None
        assert store.list_sessions() == []
        assert store.create_session("new", ["bash"], "/w").number == 1
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
