"""A fetched mail goes through parse → gate → store in one step, and is never processed twice."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from taskping_tui.config import parse_config
from taskping_tui.inbound.permission import dialog_key
from taskping_tui.inbound.processor import InboundProcessor, PendingPermission
from taskping_tui.mail.watcher import FetchedMail
from taskping_tui.store import Store
from tests.support import MAIL_CORPUS
from tests.support.questions import DISK, tool_input

CONFIG_TEXT = """
[mail]
enabled = true
address = "bot@example.com"
password_env = "PW"
recipients = ["me@example.com"]
smtp = { host = "127.0.0.1", port = 2525, security = "none" }
imap = { host = "127.0.0.1", port = 1143, security = "none" }
[security]
allowed_senders = ["me@example.com"]
"""
CONFIG = parse_config(CONFIG_TEXT)
KEY = "bot@example.com@127.0.0.1:1143/INBOX"


def reply(token: str, body: str, sender: str = "Me <me@example.com>", message_id: str = "<r1@example.com>") -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "bot@example.com"
    message["Subject"] = f"Re: [TaskPing #{token}] Turn finished — project: fix"
    message["Message-ID"] = message_id
    message.set_content(f"{body}\n\nOn Mon, 1 Jan 2026, TaskPing <bot@example.com> wrote:\n> old text\n")
    return message.as_bytes()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "store.sqlite3")


def fetched(raw: bytes | None, uid: int = 7, size: int | None = None) -> FetchedMail:
    return FetchedMail(uidvalidity=1, uid=uid, size=size or len(raw or b""), raw=raw, too_big=raw is None)


def test_accepted_reply_becomes_an_approved_command_and_moves_the_cursor(store: Store) -> None:
    token = store.create_session_token("session-1", 3600).token
    result = InboundProcessor(store, CONFIG).process(fetched(reply(token, "run the tests")), KEY)
    assert result is not None and result.verdict == "accepted"
    (command,) = store.list_commands()
    assert (command.text, command.state, command.session_id) == ("run the tests", "approved", "session-1")
    assert store.load_cursor(KEY) == (1, 7)
    assert store.list_audit()[0].verdict == "accepted"


def test_manual_approval_queues_and_danger_blocks(store: Store) -> None:
    token = store.create_session_token("s", 3600).token
    manual = parse_config(CONFIG_TEXT.replace("allowed_senders", 'approval = "manual"\nallowed_senders'))
    InboundProcessor(store, manual).process(fetched(reply(token, "run the tests")), KEY)
    InboundProcessor(store, CONFIG).process(fetched(reply(token, "sudo rm -rf /", message_id="<r2@x>"), uid=8), KEY)
    states = [(row.text, row.state, row.danger_pattern is not None) for row in store.list_commands()]
    assert ("run the tests", "queued", False) in states
    assert ("sudo rm -rf /", "blocked", True) in states


def test_same_uid_after_a_crash_is_not_processed_again(store: Store) -> None:
    token = store.create_session_token("s", 3600).token
    processor = InboundProcessor(store, CONFIG)
    raw = reply(token, "once")
    assert processor.process(fetched(raw), KEY) is not None
    assert processor.process(fetched(raw), KEY) is None
    assert len(store.list_commands()) == 1


def test_stranger_is_rejected_and_creates_no_command(store: Store) -> None:
    token = store.create_session_token("s", 3600).token
    result = InboundProcessor(store, CONFIG).process(fetched(reply(token, "ls", sender="eve@evil.test")), KEY)
    assert result is not None and result.verdict == "rejected"
    assert "not on the allowlist" in result.reasons[0]
    assert store.list_commands() == []


def test_too_big_mail_is_recorded_as_rejected_with_the_limit(store: Store) -> None:
    result = InboundProcessor(store, CONFIG).process(fetched(None, size=5_000_000), KEY)
    assert result is not None and result.verdict == "rejected"
    assert "5,000,000 bytes, over the 1,000,000-byte limit" in result.reasons[0]
    assert store.load_cursor(KEY) == (1, 7)


def test_yes_to_a_dangerous_tool_waits_for_the_keyboard(store: Store) -> None:
    token = store.create_session_token("s", 3600).token
    pending = PendingPermission("Bash", {"command": "rm -rf build/ ~/", "description": "clean"})
    processor = InboundProcessor(store, CONFIG, pending_permission=lambda: pending)
    result = processor.process(fetched(reply(token, "yes")), KEY)
    assert result is not None and result.verdict == "blocked"
    assert result.danger is not None and result.danger.startswith("permission for Bash")
    assert store.list_commands()[0].state == "blocked"


def test_mutated_mails_are_always_recorded_never_raised(store: Store) -> None:
    """The watcher retries a mail whose handler raised: a hostile mail must end as a verdict instead."""
    import random

    corpus = sorted(MAIL_CORPUS.glob("*.eml"))
    rng = random.Random(20261124)
    processor = InboundProcessor(store, CONFIG)
    for uid in range(1, 1501):
        raw = bytearray(rng.choice(corpus).read_bytes())
        for _ in range(rng.randint(1, 12)):
            position = rng.randrange(len(raw))
            raw[position : position + rng.randint(0, 8)] = rng.randbytes(rng.randint(0, 8))
        result = processor.process(fetched(bytes(raw), uid=uid), KEY)
        assert result is not None and result.verdict in ("accepted", "blocked", "rejected", "ignored")
    assert len(store.list_inbound_mail(limit=2000)) == 1500


WIPE_QUESTION = tool_input(DISK)


@pytest.mark.parametrize(
    ("answer", "verdict"), [("2", "blocked"), ("wipe the data directory", "blocked"), ("1", "accepted")]
)
def test_an_answer_picking_a_dangerous_option_of_claudes_question_waits_for_the_keyboard(
    store: Store, answer: str, verdict: str
) -> None:
    token = store.create_session_token("s", 3600).token
    pending = PendingPermission("AskUserQuestion", WIPE_QUESTION)
    processor = InboundProcessor(store, CONFIG, pending_permission=lambda: pending)
    result = processor.process(fetched(reply(token, answer)), KEY)
    assert result is not None and result.verdict == verdict
    if verdict == "blocked":
        assert result.danger is not None and result.danger.startswith("the answer picks “Wipe the data directory”")
        assert store.list_commands()[0].state == "blocked"


def sent_notification(store: Store, token: str, message_id: str, facts: list[dict[str, object]]) -> None:
    store.enqueue_mail(
        session_id="s",
        token=token,
        kind="needs_permission",
        subject="n",
        sender="bot@example.com",
        recipients=["me@example.com"],
        message_id=message_id,
        message=b"",
        facts=facts,
    )


def test_a_reply_to_a_permission_or_question_mail_remembers_which_dialog_it_answers(store: Store) -> None:
    token = store.create_session_token("s", 3600).token
    bash = {"command": "touch x"}
    sent_notification(
        store,
        token,
        "<asked@bot>",
        [{"kind": "needs_permission", "tool_name": "AskUserQuestion", "tool_input": WIPE_QUESTION}],
    )
    sent_notification(
        store, token, "<bash@bot>", [{"kind": "needs_permission", "tool_name": "Bash", "tool_input": bash}]
    )
    sent_notification(store, token, "<turn@bot>", [{"kind": "turn_finished", "tool_name": "", "tool_input": None}])
    processor = InboundProcessor(store, CONFIG)
    for uid, replied in enumerate(("<asked@bot>", "<bash@bot>", "<turn@bot>"), start=1):
        raw = reply(token, "1", message_id=f"<r{uid}@example.com>").replace(
            b"Message-ID:", f"In-Reply-To: {replied}\nMessage-ID:".encode()
        )
        assert processor.process(fetched(raw, uid=uid), KEY) is not None
    asked, permission, turn = store.list_commands()
    assert asked.answers_dialog == dialog_key("AskUserQuestion", WIPE_QUESTION) != ""
    assert permission.answers_dialog == dialog_key("Bash", bash) != ""
    assert turn.answers_dialog == ""
