"""One agent notification reaches each outlet the config turns on, filed under the durable session."""

from __future__ import annotations

from pathlib import Path

from taskping_tui.agent.state import Notification, NotificationKind
from taskping_tui.config import NotifyConfig
from taskping_tui.core.fanout import NotificationFanout, NotificationRecord, SessionFacts
from taskping_tui.mail.compose import NotificationFacts
from taskping_tui.screens.presenters import notification_entry, since, with_session
from taskping_tui.store import Store
from taskping_tui.widgets.notifications_panel import render_notification

NOTE = Notification(
    time=1_700_000_000.0,
    kind=NotificationKind.TURN_FINISHED,
    summary="Turn finished: done",
    session_id="claude-own-id",
    cwd="/w/api",
    prompt="fix it",
)


def make(notify: NotifyConfig) -> tuple[NotificationFanout, list[object]]:
    seen: list[object] = []
    fanout = NotificationFanout(
        notify,
        toast=lambda *a: seen.append(("toast", *a)),
        desktop=lambda *a: seen.append(("desktop", *a)),
        show=lambda record: seen.append(("panel", record.key)),
    )
    return fanout, seen


def test_every_outlet_and_the_mail_under_our_session_id(tmp_path: Path) -> None:
    fanout, seen = make(NotifyConfig())
    mailed: list[NotificationFacts] = []
    with Store.open(tmp_path / "s.sqlite3") as store:

        def enqueue(facts: NotificationFacts):  # type: ignore[no-untyped-def]
            mailed.append(facts)
            return store.enqueue_mail(
                session_id=facts.session_id,
                token="T",
                kind=facts.kind,
                subject="s",
                sender="b@x",
                recipients=["me@x"],
                message_id="<m@x>",
                message=b"m",
            )

        fanout.enqueue = enqueue
        record = fanout.publish(NOTE, SessionFacts("ours-1", "api", "/w/api"))
        assert record is not None and record.outbox is not None
        assert [each[0] for each in seen] == ["toast", "desktop", "panel"]
        (facts,) = mailed
        # Claude Code's id changes on /clear and restarts; the mail is filed under the durable session.
        assert (facts.session_id, facts.session_name, facts.prompt) == ("ours-1", "api", "fix it")
        sent = store.claim_for_sending(record.outbox.id)
        assert sent is not None
        fanout.outbox_changed(sent)
        assert fanout.records[0].outbox is not None and fanout.records[0].outbox.state == "sending"
        assert fanout.outbox_id_for(record.key) == record.outbox.id


def test_outlets_turned_off_and_muted_while_quitting() -> None:
    fanout, seen = make(NotifyConfig(panel=False, toast=False, desktop=False))
    assert fanout.publish(NOTE, SessionFacts("s")) is not None
    assert seen == [] and len(fanout.records) == 1  # recorded, not shown
    fanout.muted = True
    assert fanout.publish(NOTE, SessionFacts("s")) is None


def test_panel_entries_name_their_session_only_when_there_are_several() -> None:
    record = NotificationRecord("n1", NOTE.when, "turn_finished", "Turn finished: done", "s1")
    assert notification_entry(record).summary == "Turn finished: done"
    assert notification_entry(record, "2 web").summary == "[2 web] Turn finished: done"
    assert with_session("", "x") == "x"
    assert (since(5), since(59), since(60), since(7200)) == ("<1m", "<1m", "1m", "2h")


def test_claudes_question_is_announced_as_a_question() -> None:
    fanout, seen = make(NotifyConfig())
    question = Notification(
        time=1_700_000_000.0,
        kind=NotificationKind.NEEDS_PERMISSION,
        summary="Asks: Which database?",
        tool_name="AskUserQuestion",
    )
    record = fanout.publish(question, SessionFacts("ours-1", "api", "/w/api"))
    assert ("toast", "Asks: Which database?", "Claude asks a question", "warning") in seen
    assert ("desktop", "taskping-tui: Claude asks a question", "Asks: Which database?") in seen
    assert record is not None
    assert render_notification(notification_entry(record)).plain.startswith(f"{record.time:%H:%M:%S} ? Claude asks\n")
