"""Fixed inputs for the snapshot tests: configs, panel entries, a seeded store, and waits for the live app.

Everything shown on screen comes from here with fixed times and names, so the SVGs do not depend on the
clock, the pid, the tmp dir or the machine. Times are built in UTC and the tests run with TZ=UTC (see
conftest.py), so `datetime.fromtimestamp` in the app gives the same wall clock everywhere.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

from textual.pilot import Pilot

from taskping_tui.agent.state import AgentState
from taskping_tui.app import TaskPingApp
from taskping_tui.config import Config, parse_config
from taskping_tui.inbound.commands import CommandState
from taskping_tui.inbound.gate import VerdictKind
from taskping_tui.mail.tokens import subject_tag
from taskping_tui.store import NewInboundMail, Store
from taskping_tui.widgets.commands_panel import CommandEntry
from taskping_tui.widgets.inbound_panel import InboundEntry, InboundPanel
from taskping_tui.widgets.notifications_panel import NotificationEntry, NotificationsPanel
from taskping_tui.widgets.sessions_panel import SessionEntry

FAKE_AGENT = Path(__file__).resolve().parent.parent / "data" / "fake_agent.py"
# Shown in the "mail is off" hints; the same on every machine.
CONFIG_HINT_PATH = Path("~/.config/taskping-tui/config.toml")
SIZE = (120, 36)
ME = "me@example.com"
SESSION = "3f2a9c1e-5b7d-4e21-9a0c-7d1e2f3a4b5c"
TOKEN = "7K3QZ9MX"
TAG = subject_tag(TOKEN)


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2025, 3, 14, hour, minute, second, tzinfo=UTC)


MAIL_OFF_TOML = """
[agent]
silence_seconds = 0.3

[notify]
toast = false
desktop = false
"""

# Mail on, but no password: the watcher never starts and nothing reaches the network. The app's
# "Mail password" toast is cleared in `settle_app`.
MAIL_ON_TOML = f"""
[agent]
silence_seconds = 0.3

[notify]
toast = false
desktop = false

[mail]
enabled = true
address = "taskping.bot@example.com"
password_env = "TASKPING_SNAPSHOT_PASSWORD_UNSET"
recipients = ["{ME}"]

[mail.smtp]
host = "127.0.0.1"
port = 9
security = "none"

[mail.imap]
host = "127.0.0.1"
port = 9
security = "none"

[security]
approval = "manual"
allowed_senders = ["{ME}"]
"""


def config(mail: bool = False, theme: str = "taskping-dark", show_sidebar: bool = True) -> Config:
    ui = f'\n[ui]\ntheme = "{theme}"\nshow_sidebar = {str(show_sidebar).lower()}\n'
    return parse_config((MAIL_ON_TOML if mail else MAIL_OFF_TOML) + ui, CONFIG_HINT_PATH)


def make_app(cfg: Config, tmp_path: Path) -> TaskPingApp:
    return TaskPingApp(
        cfg, [sys.executable, str(FAKE_AGENT)], store_path=tmp_path / "state.sqlite3", runtime_dir=tmp_path / "run"
    )


# ------------------------------------------------------------------------------------------ panel entries

NOTIFICATIONS = [
    NotificationEntry(
        "n1",
        at(9, 12, 4),
        "turn_finished",
        "Turn finished: Added retry with backoff to the SMTP sender; 14 tests pass.",
        "sent",
        "09:12:06",
    ),
    NotificationEntry(
        "n2",
        at(9, 20, 31),
        "needs_permission",
        "Needs permission: Bash(rm -rf build/ dist/)",
        "retrying",
        "next try 09:21:31: 421 4.7.0 Try again later",
    ),
    NotificationEntry(
        "n3",
        at(9, 27, 55),
        "api_error",
        "API error: 529 Overloaded",
        "failed",
        "535 5.7.8 Username and password not accepted (r to resend)",
    ),
    NotificationEntry(
        "n4", at(9, 33, 10), "turn_finished", "Turn finished: Renamed the outbox states in the docs.", "sending"
    ),
    NotificationEntry("n5", at(9, 34, 2), "exited", "Agent exited (code 0)", "queued"),
    NotificationEntry("n6", at(9, 36, 48), "asks_question", "Asks: Which database should the service use?", "sent"),
]

INBOUND = [
    InboundEntry(1, at(9, 14, 40), ME, f"Re: {TAG} Turn finished", "accepted"),
    InboundEntry(2, at(9, 22, 3), ME, f"Re: {TAG} Needs permission", "blocked", "matches danger pattern rm -rf"),
    InboundEntry(
        3,
        at(9, 25, 17),
        "stranger@spam.example",
        f"Re: {TAG} Turn finished",
        "rejected",
        "sender stranger@spam.example is not on the allowlist",
    ),
    InboundEntry(
        4, at(9, 26, 0), "mailer-daemon@example.com", "Undelivered Mail Returned to Sender", "ignored", "bounce report"
    ),
]

_AUTH = "dmarc=pass (mx.example.com)"

# The scenes' clock for the commands' last state change: fixed, so their order never depends on the day.
NOW = 1_790_000_000.0

COMMANDS = [
    CommandEntry(
        1, CommandState.QUEUED, ME, "5m", _AUTH, "add a test for the 421 retry", position=1, updated_at=NOW - 300
    ),
    CommandEntry(
        2,
        CommandState.BLOCKED,
        ME,
        "5m",
        _AUTH,
        "rm -rf build/ dist/",
        danger="rm -rf",
        position=2,
        updated_at=NOW - 300,
    ),
    CommandEntry(
        3,
        CommandState.APPROVED,
        ME,
        "5m",
        _AUTH,
        "run the linter and fix what it finds",
        note="waiting: agent is busy",
        position=3,
        updated_at=NOW - 300,
    ),
    CommandEntry(
        4,
        CommandState.INJECTING,
        ME,
        "5m",
        _AUTH,
        "summarise the diff in three bullets",
        position=4,
        updated_at=NOW - 1,
    ),
    CommandEntry(
        5,
        CommandState.INJECTED,
        ME,
        "12m",
        _AUTH,
        "yes",
        note="answered the permission dialog",
        position=5,
        updated_at=NOW - 700,
    ),
    CommandEntry(
        6,
        CommandState.REJECTED,
        ME,
        "40m",
        _AUTH,
        "git push --force origin main",
        danger="git push --force",
        note="rejected at the keyboard",
        position=6,
        updated_at=NOW - 2400,
    ),
    CommandEntry(
        7,
        CommandState.EXPIRED,
        ME,
        "3h",
        _AUTH,
        "deploy to staging",
        note="not typed within 120 minutes",
        position=7,
        updated_at=NOW - 3600,
    ),
    CommandEntry(
        8,
        CommandState.FAILED,
        ME,
        "3h",
        _AUTH,
        "continue",
        note="the pane was closed while typing",
        position=8,
        updated_at=NOW - 10000,
    ),
    CommandEntry(
        9,
        CommandState.UNKNOWN,
        ME,
        "1d",
        "auth not checked",
        "run the migrations",
        note="taskping-tui stopped while typing it",
        position=9,
        updated_at=NOW - 80000,
    ),
]


SESSIONS = [
    SessionEntry("s1", 1, "api", "busy", "3m", replies_waiting=1),
    SessionEntry("s2", 2, "web", "needs permission", "<1m", blocked=1, focused=True),
    SessionEntry("s3", 3, "docs", "asks a question", "12m"),
    SessionEntry("s4", 4, "infra", "finished, unread", "5m", replies_waiting=2),
    SessionEntry("s5", 5, "mobile", "idle", "1h"),
    SessionEntry("s6", 6, "scratch", "starting", "<1m"),
    SessionEntry("s7", 7, "shell", "unknown", "2m"),
    SessionEntry("s8", 8, "old-branch", "exited", "3h"),
    SessionEntry("s9", 9, "release-2.0 (resumable after a restart)", "offline, resumable", "1d", replies_waiting=1),
]


def show_notifications(app: TaskPingApp, entries: Sequence[NotificationEntry]) -> None:
    """Replace whatever the Notifications panel holds (e.g. the start-up turn) with fixed entries."""
    panel = app.query_one(NotificationsPanel)
    panel.replace_entries([])
    for entry in entries:
        panel.show(entry)


# ------------------------------------------------------------------------------------------ seeded store


def seed_store(path: Path) -> None:
    """Inbound mails of every verdict and commands in the states the live app keeps still.

    No command is `approved`: the injector would type it into the fake agent while the snapshot is taken.
    The token is five minutes old when the app starts, so the panel shows "token 5m".
    """
    with Store.open(path) as store:
        with mock.patch("taskping_tui.store.tokens.new_token", return_value=TOKEN):
            token = store.create_session_token(SESSION, 24 * 3600, now=time.time() - 300).token
        subject = f"Re: {TAG} Turn finished"

        def mail(
            when: datetime, verdict: VerdictKind, sender: str = ME, subject: str = subject, **fields: Any
        ) -> NewInboundMail:
            return NewInboundMail(
                verdict=verdict,
                received_at=when.timestamp(),
                sender=sender,
                subject=subject,
                session_id=SESSION,
                message_id=f"<{when.timestamp():.0f}@example.com>",
                **fields,
            )

        headers = {
            "From": ME,
            "Authentication-Results": f"mx.example.com; {_AUTH}",
            "In-Reply-To": "<taskping.1@example.com>",
        }
        first = store.record_inbound_mail(
            mail(
                at(9, 14, 40),
                "accepted",
                command="add a test for the 421 retry",
                token=token,
                auth_result=_AUTH,
                headers=headers,
                raw_text="add a test for the 421 retry\n\nOn Fri, taskping wrote:\n> Turn finished",
            ),
            command_state=CommandState.QUEUED,
        )
        store.record_inbound_mail(
            mail(
                at(9, 22, 3),
                "blocked",
                command="rm -rf build/ dist/",
                token=token,
                auth_result=_AUTH,
                danger_pattern="rm -rf",
                reasons=["matches danger pattern rm -rf"],
                headers=headers,
                raw_text="rm -rf build/ dist/\n\n> Needs permission: Bash",
            )
        )
        store.record_inbound_mail(
            mail(
                at(9, 25, 17),
                "rejected",
                sender="stranger@spam.example",
                reasons=["sender stranger@spam.example is not on the allowlist"],
                headers={"From": "stranger@spam.example"},
                raw_text="buy now",
            )
        )
        store.record_inbound_mail(
            mail(
                at(9, 26, 0),
                "ignored",
                sender="mailer-daemon@example.com",
                subject="Undelivered Mail Returned to Sender",
                reasons=["bounce report"],
                headers={"From": "mailer-daemon@example.com", "Auto-Submitted": "auto-replied"},
                raw_text="This is the mail system at host example.com.",
            )
        )
        queued = store.record_inbound_mail(
            mail(
                at(9, 30, 12),
                "accepted",
                command="summarise the diff in three bullets",
                token=token,
                auth_result=_AUTH,
                headers=headers,
                raw_text="summarise the diff in three bullets",
            ),
            command_state=CommandState.QUEUED,
        )
        assert first.command_id is not None and queued.command_id is not None
        store.transition_command(
            first.command_id, [CommandState.QUEUED], CommandState.INJECTED, now=at(9, 15).timestamp()
        )


# ------------------------------------------------------------------------------------------ waiting


async def wait_for(pilot: Pilot, condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def wait_steady(
    pilot: Pilot, condition: Callable[[], bool], what: str, hold: float = 0.6, timeout: float = 15.0
) -> None:
    """Wait until `condition` has held without a break for `hold` seconds."""
    deadline = time.monotonic() + timeout
    since: float | None = None
    while since is None or time.monotonic() - since < hold:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        if condition():
            since = since if since is not None else time.monotonic()
        else:
            since = None
        await pilot.pause(0.05)


async def settle_agent(pilot: Pilot) -> None:
    """Wait until the fake agent shows its prompt and the tracker is idle with nothing pending."""
    app = pilot.app
    assert isinstance(app, TaskPingApp)
    await wait_for(
        pilot, lambda: any("Ready" in line for line in app.pane.terminal_screen.display), "the fake agent's prompt"
    )
    # Idle with nothing pending, and still so a while later: output handled after the prompt was drawn
    # (busy, then idle again after silence_seconds) must not land between here and the screenshot.
    await wait_steady(
        pilot,
        lambda: (
            app.agent_state == AgentState.IDLE.value and app.tracker is not None and app.tracker.next_deadline() is None
        ),
        "the agent to settle idle",
    )


def steady_cursors(pilot: Pilot) -> None:
    """Text inputs blink their cursor on a timer: keep it on so the snapshot does not catch it off."""
    for widget in pilot.app.screen.query("Input, TextArea"):
        widget.cursor_blink = False  # type: ignore[attr-defined]
        # TextArea's line cache keys a line the same whether its cursor blinked off or blinking stopped:
        # drop lines cached during a blink-off phase so the cursor is drawn.
        line_cache = getattr(widget, "_line_cache", None)
        if line_cache is not None:
            line_cache.clear()
        widget.refresh()


def show_watching(app: TaskPingApp) -> None:
    """The scene has no password (nothing may reach the network): show the Inbound panel as a watcher
    idling on the mailbox would leave it, not the "no mail password" problem."""
    for panel in app.query(InboundPanel):
        panel.clear_problem()
        panel.set_status("waiting for mail (IDLE on INBOX)")


async def settle_app(pilot: Pilot) -> None:
    """`settle_agent`, then silence the parts that could still change the screen (outbox updates, toasts)."""
    await settle_agent(pilot)
    app = pilot.app
    assert isinstance(app, TaskPingApp)
    if app.outbox is not None:
        await app.outbox.stop()
    if app.config.mail.enabled:
        show_watching(app)
    app.clear_notifications()
    await pilot.pause()
