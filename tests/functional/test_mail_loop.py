"""The whole loop with real parts: Claude Code (pinned) against the mock API, aiosmtpd, dovecot.

prompt typed in the pane → Stop → notification mail → reply delivered into the IMAP mailbox → IDLE →
gate → injected → the mock receives exactly that text, once → Stop → next mail in the same thread.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import pytest

from taskping_tui.app import TaskPingApp
from taskping_tui.config import Config, parse_config
from taskping_tui.inbound.commands import CommandEvent
from taskping_tui.mail.tokens import find_token_in_subject
from taskping_tui.mail.watcher import WatcherTimings
from taskping_tui.store import NewInboundMail, Store
from taskping_tui.widgets.commands_panel import CommandsPanel
from tests.support.app_harness import AppDriver, agent_env_toml
from tests.support.dovecot_fixtures import DovecotServer, MailUser
from tests.support.mock_anthropic import MockAnthropic
from tests.support.questions import DATABASE, DISK, FRAMEWORK, tool_input
from tests.support.smtp_fixtures import PasswordAuthenticator, SmtpServer, SmtpServerFactory

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

ME = "me@example.com"
PASSWORD_ENV = "TASKPING_E2E_MAIL_PASSWORD"


@dataclass
class Loop(AppDriver):
    mock: MockAnthropic
    smtp: SmtpServer
    dovecot: DovecotServer
    user: MailUser
    project: Path

    def describe(self) -> str:
        return f"prompts={self.mock.user_prompts()}; mails={len(self.smtp.messages)}; {super().describe()}"

    def mails(self) -> list[EmailMessage]:
        return [received.message for received in self.smtp.messages]

    async def next_mail(self, count: int, what: str) -> EmailMessage:
        await self.until(lambda: len(self.smtp.messages) >= count, what)
        return self.mails()[count - 1]

    async def deliver_reply(self, raw: bytes) -> None:
        await self.dovecot.adeliver_lmtp(self.user, raw)


def gmail_reply(notification: EmailMessage, text: str, sender: str = f"Me <{ME}>") -> bytes:
    reply = EmailMessage()
    reply["From"] = sender
    reply["To"] = notification["From"]
    reply["Subject"] = f"Re: {notification['Subject']}"
    reply["Date"] = formatdate(localtime=True)
    reply["Message-ID"] = make_msgid(domain="mail.gmail.com")
    reply["In-Reply-To"] = notification["Message-ID"]
    reply["References"] = notification["Message-ID"]
    quoted = "\n".join(f"> {line}" for line in notification.get_body(("plain",)).get_content().splitlines())
    reply.set_content(f"{text}\n\nOn {notification['Date']}, TaskPing <{notification['From']}> wrote:\n{quoted}\n")
    return reply.as_bytes()


def qq_reply(notification: EmailMessage, text: str) -> bytes:
    """QQ Mail: GB18030 body labelled gb2312, base64, the 原始邮件 separator, 发件人 lines."""
    reply = EmailMessage()
    reply["From"] = f"=?gb2312?B?ztI=?= <{ME}>"
    reply["To"] = notification["From"]
    reply["Subject"] = f"回复：{notification['Subject']}"
    reply["Date"] = formatdate(localtime=True)
    reply["Message-ID"] = make_msgid(domain="qq.com")
    reply["In-Reply-To"] = notification["Message-ID"]
    body = (
        f"{text}\n\n\n------------------&nbsp;原始邮件&nbsp;------------------\n".replace("&nbsp;", " ")
        + f'发件人: "TaskPing" <{notification["From"]}>;\n发送时间: 2026年11月24日(星期二) 下午2:00\n'
        + f'收件人: "我" <{ME}>;\n主题: {notification["Subject"]}\n\n'
        + notification.get_body(("plain",)).get_content()
    )
    reply.set_content(body.encode("gb18030"), maintype="text", subtype="plain", cte="base64")
    del reply["Content-Type"]
    reply["Content-Type"] = 'text/plain; charset="gb2312"'
    return reply.as_bytes()


def loop_config(
    smtp: SmtpServer,
    dovecot: DovecotServer,
    user: MailUser,
    claude_env: dict[str, str],
    approval: str = "auto",
    extra: str = "",
    confirm: bool = False,
) -> Config:
    return parse_config(f"""
[agent]
env = {agent_env_toml(claude_env)}

[notify]
toast = false
desktop = false

[mail]
enabled = true
address = "{user.login}"
password_env = "{PASSWORD_ENV}"
recipients = ["{ME}"]
max_mails_per_minute = 30
send_confirmation = {"true" if confirm else "false"}
smtp = {{ host = "127.0.0.1", port = {smtp.port}, security = "none", timeout_seconds = 5.0 }}
imap = {{ host = "127.0.0.1", port = {dovecot.imap_port}, security = "none", send_id = true }}

[security]
approval = "{approval}"
allowed_senders = ["{ME}"]
{extra}
""")


@contextlib.asynccontextmanager
async def running_loop(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    claude_cli: Path,
    claude_project: Path,
    claude_env: dict[str, str],
    mock: MockAnthropic,
    smtp_server_factory: SmtpServerFactory,
    dovecot: DovecotServer,
    approval: str = "auto",
    store_path: Path | None = None,
    extra: str = "",
    confirm: bool = False,
    agent_argv: list[str] | None = None,
) -> AsyncIterator[Loop]:
    user = dovecot.new_user()
    smtp = smtp_server_factory(auth=True, start=False)
    smtp.authenticator = PasswordAuthenticator({user.login: user.password})
    smtp.start()
    monkeypatch.setenv(PASSWORD_ENV, user.password)
    monkeypatch.chdir(claude_project)
    config = loop_config(smtp, dovecot, user, claude_env, approval, extra, confirm)
    app = TaskPingApp(
        config,
        agent_argv or [str(claude_cli)],
        store_path=store_path or tmp_path / "store.sqlite3",
        runtime_dir=tmp_path / "run",
        watcher_timings=WatcherTimings(backoff_initial_seconds=0.2, backoff_max_seconds=1.0),
    )
    async with app.run_test(size=(150, 45)) as pilot:
        loop = Loop(app, pilot, mock, smtp, dovecot, user, claude_project)
        await loop.until(
            lambda: app.watcher is not None and app.watcher.status.state.value == "idle", "the IMAP watcher to idle"
        )
        yield loop
    assert mock.unknown_paths == []


@pytest.fixture
def claude_332_manual(claude_cli_332: Path) -> list[str]:
    """Today's Claude Code in manual mode (it starts in auto mode, which never asks): the 4-option dialog."""
    return [str(claude_cli_332), "--permission-mode", "default"]


@pytest.fixture
def loop_factory(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    claude_cli: Path,
    claude_project: Path,
    claude_env: dict[str, str],
    mock_anthropic: MockAnthropic,
    smtp_server_factory: SmtpServerFactory,
    dovecot: DovecotServer,
):  # type: ignore[no-untyped-def]
    def make(**options: object):  # type: ignore[no-untyped-def]
        return running_loop(
            tmp_path,
            monkeypatch,
            claude_cli,
            claude_project,
            claude_env,
            mock_anthropic,
            smtp_server_factory,
            dovecot,
            **options,
        )  # type: ignore[arg-type]

    return make


@pytest.mark.parametrize("client", ["gmail", "qq"])
async def test_reply_becomes_the_next_prompt_exactly_once(loop_factory, client: str) -> None:  # type: ignore[no-untyped-def]
    async with loop_factory() as loop:
        loop.mock.queue_text("First answer from the mock.")
        loop.mock.queue_text("Ran them: all green.")
        await loop.type_prompt("hello agent")
        first = await loop.next_mail(1, "the first notification mail")
        token = find_token_in_subject(first["Subject"])
        assert token is not None and "Turn finished" in first["Subject"]
        assert first["Auto-Submitted"] == "auto-generated"
        assert "First answer from the mock." in first.get_body(("plain",)).get_content()

        command = "run the tests please" if client == "gmail" else "运行测试并修复失败的用例"
        raw = gmail_reply(first, command) if client == "gmail" else qq_reply(first, command)
        await loop.deliver_reply(raw)

        await loop.until(lambda: loop.mock.user_prompts() == ["hello agent", command], "the reply as the next prompt")
        second = await loop.next_mail(2, "the second notification mail")
        assert first["Message-ID"] in (second["In-Reply-To"] or "") + (second["References"] or "")
        assert find_token_in_subject(second["Subject"]) == token
        await asyncio.sleep(1.5)
        assert loop.mock.user_prompts() == ["hello agent", command]
        store = loop.app.store
        assert store is not None
        (row,) = store.list_commands()
        assert (row.text, row.state) == (command, "injected")
        assert store.list_inbound_mail()[0].verdict == "accepted"


async def test_yes_by_mail_answers_the_permission_dialog(loop_factory) -> None:  # type: ignore[no-untyped-def]
    async with loop_factory() as loop:
        loop.mock.queue_tool_use("Bash", {"command": "touch made_by_mail.txt", "description": "Create a file"})
        loop.mock.queue_text("Created it.")
        await loop.type_prompt("make a file")
        mail = await loop.next_mail(1, "the permission mail")
        assert "Needs your permission (Bash)" in mail["Subject"]
        assert "touch made_by_mail.txt" in mail.get_body(("plain",)).get_content()
        await loop.deliver_reply(gmail_reply(mail, "yes"))
        await loop.until(lambda: (loop.project / "made_by_mail.txt").exists(), "the tool to run")
        await loop.until(lambda: len(loop.mock.tool_results()) == 1, "the tool result at the mock")
        assert loop.mock.user_prompts() == ["make a file"]


@pytest.mark.parametrize("version", ["2.1.197", "2.1.332"])
async def test_no_by_mail_is_followed_by_a_mail_saying_the_agent_waits(loop_factory, request, version: str) -> None:  # type: ignore[no-untyped-def]
    """After "no" Claude Code waits for an instruction, silently (no hook, no turn): a mail in the thread says so."""
    argv = request.getfixturevalue("claude_332_manual") if version == "2.1.332" else None
    async with loop_factory(agent_argv=argv) as loop:
        loop.mock.queue_tool_use("Bash", {"command": "touch denied_by_mail.txt", "description": "Create a file"})
        await loop.type_prompt("make a file")
        permission = await loop.next_mail(1, "the permission mail")
        assert "Needs your permission (Bash)" in permission["Subject"]
        await loop.deliver_reply(gmail_reply(permission, "no"))
        follow_up = await loop.next_mail(2, "the follow-up mail")
        assert "Permission denied — waiting for you" in follow_up["Subject"]
        assert find_token_in_subject(follow_up["Subject"]) == find_token_in_subject(permission["Subject"])
        assert permission["Message-ID"] in (follow_up["In-Reply-To"] or "") + (follow_up["References"] or "")
        body = follow_up.get_body(("plain",)).get_content()
        assert "waiting for your instruction" in body and "make a file" in body
        assert not (loop.project / "denied_by_mail.txt").exists()
        assert loop.app.agent_state == "idle"
        await asyncio.sleep(1.0)
        assert len(loop.smtp.messages) == 2, "one follow-up, not one per tick"


ASKED = '"Which database should the service use?"'


@pytest.mark.parametrize(
    ("version", "also", "reply", "answered"),
    [
        ("2.1.332", [], "sqlite", f'{ASKED}="SQLite"'),
        ("2.1.197", [], "2", f'{ASKED}="SQLite"'),
        ("2.1.332", [], "DuckDB, in memory", f'{ASKED}="DuckDB, in memory"'),
        ("2.1.332", [FRAMEWORK], "2\nBottle", f'{ASKED}="SQLite", "Which web framework?"="Bottle"'),
    ],
    ids=["332-label", "197-number", "332-own-words", "332-two-questions"],
)
async def test_claudes_question_is_mailed_and_answered_by_mail(  # type: ignore[no-untyped-def]
    loop_factory, request, version: str, also: list[dict[str, object]], reply: str, answered: str
) -> None:
    argv = [str(request.getfixturevalue("claude_cli_332"))] if version == "2.1.332" else None  # auto mode
    async with loop_factory(agent_argv=argv) as loop:
        loop.mock.queue_tool_use("AskUserQuestion", tool_input(DATABASE, *also))
        loop.mock.queue_text("Going with it.")
        await loop.type_prompt("set up the service")
        mail = await loop.next_mail(1, "the question mail")
        assert "Claude asks a question" in mail["Subject"]
        body = mail.get_body(("plain",)).get_content()
        assert "Which database should the service use?" in body and "2. SQLite — one file, no server" in body
        assert loop.app.agent_state == "waiting"
        await loop.deliver_reply(gmail_reply(mail, reply))
        await loop.until(lambda: len(loop.mock.tool_results()) == 1, "the answer at the mock")
        (result,) = loop.mock.tool_results()
        assert answered in str(result["content"])
        finished = await loop.next_mail(2, "the turn-finished mail")
        assert (
            "Turn finished" in finished["Subject"] and "Going with it." in finished.get_body(("plain",)).get_content()
        )
        store = loop.app.store
        assert store is not None
        (command,) = store.list_commands()
        assert command.state == "injected"
        assert loop.mock.user_prompts() == ["set up the service"]  # the answer was not typed as a prompt


async def test_picking_a_dangerous_option_by_mail_waits_for_the_keyboard(loop_factory, claude_cli_332) -> None:  # type: ignore[no-untyped-def]
    async with loop_factory(agent_argv=[str(claude_cli_332)]) as loop:
        loop.mock.queue_tool_use("AskUserQuestion", tool_input(DISK))
        loop.mock.queue_text("Wiped.")
        await loop.type_prompt("free some disk")
        mail = await loop.next_mail(1, "the question mail")
        await loop.deliver_reply(gmail_reply(mail, "2"))
        store = loop.app.store
        assert store is not None
        await loop.until(lambda: [c.state for c in store.list_commands()] == ["blocked"], "a blocked answer")
        (command,) = store.list_commands()
        assert command.danger_pattern and "Wipe the data directory" in command.danger_pattern
        await asyncio.sleep(1.0)
        assert loop.mock.tool_results() == [] and loop.app.agent_state == "waiting"  # nothing was picked


async def test_a_reply_to_a_question_answered_at_the_keyboard_is_not_typed_and_says_so(  # type: ignore[no-untyped-def]
    loop_factory, claude_cli_332
) -> None:
    async with loop_factory(agent_argv=[str(claude_cli_332)]) as loop:
        loop.mock.queue_tool_use("AskUserQuestion", tool_input(DATABASE))
        loop.mock.queue_text("Going with it.")
        await loop.type_prompt("set up the service")
        mail = await loop.next_mail(1, "the question mail")
        await loop.until(lambda: "Type something." in loop.screen_text(), "the question dialog")
        # Claude Code 2.1.332 drops keys that come in the first ~0.1-0.3 s after it draws the dialog.
        await asyncio.sleep(0.6)
        await loop.pilot.press("1")  # PostgreSQL, at the keyboard
        await loop.until(lambda: len(loop.mock.tool_results()) == 1, "the keyboard's answer at the mock")
        assert f'{ASKED}="PostgreSQL"' in str(loop.mock.tool_results()[0]["content"])
        await loop.next_mail(2, "the turn-finished mail")
        await loop.deliver_reply(gmail_reply(mail, "sqlite"))  # read on the phone only now
        not_typed = await loop.next_mail(3, "the mail saying the reply was not typed")
        assert "Not typed" in not_typed["Subject"]
        assert "no longer asked" in not_typed.get_body(("plain",)).get_content()
        await asyncio.sleep(1.0)
        assert loop.mock.user_prompts() == ["set up the service"]  # "sqlite" never became a prompt
        store = loop.app.store
        assert store is not None
        assert [command.state for command in store.list_commands()] == ["rejected"]


async def test_a_late_yes_never_grants_the_next_permission(loop_factory) -> None:  # type: ignore[no-untyped-def]
    """Dialog A answered at the keyboard, then Claude asks for B: the "yes" mailed for A must not grant B."""
    async with loop_factory() as loop:
        loop.mock.queue_tool_use("Bash", {"command": "touch first.txt", "description": "Create the first file"})
        loop.mock.queue_tool_use("Bash", {"command": "touch second.txt", "description": "Create the second file"})
        await loop.type_prompt("make two files")
        first = await loop.next_mail(1, "the first permission mail")
        await loop.until(lambda: "touch first.txt" in loop.screen_text(), "the first dialog")
        await asyncio.sleep(0.6)  # Claude Code drops keys that come just after it draws a dialog
        await loop.pilot.press("1")
        await loop.until(lambda: (loop.project / "first.txt").exists(), "the first file, allowed at the keyboard")
        second = await loop.next_mail(2, "the second permission mail")
        assert "touch second.txt" in second.get_body(("plain",)).get_content()
        await loop.deliver_reply(gmail_reply(first, "yes"))
        not_typed = await loop.next_mail(3, "the mail saying the yes was not typed")
        assert "Not typed" in not_typed["Subject"]
        assert "no longer open" in not_typed.get_body(("plain",)).get_content()
        await asyncio.sleep(1.0)
        assert not (loop.project / "second.txt").exists()
        assert loop.app.agent_state == "waiting"


async def test_dangerous_command_waits_for_the_keyboard(loop_factory) -> None:  # type: ignore[no-untyped-def]
    async with loop_factory() as loop:
        loop.mock.queue_text("Hi.")
        loop.mock.queue_text("Cleaned.")
        await loop.type_prompt("hi")
        mail = await loop.next_mail(1, "the notification")
        await loop.deliver_reply(gmail_reply(mail, "rm -rf build"))
        store = loop.app.store
        assert store is not None
        await loop.until(lambda: [c.state for c in store.list_commands()] == ["blocked"], "a blocked command")
        await asyncio.sleep(1.0)
        assert loop.mock.user_prompts() == ["hi"]

        pilot = loop.pilot
        await pilot.press("f6")
        panel = loop.app.query_one(CommandsPanel)
        panel.option_list.focus()
        panel.option_list.highlighted = 0
        await pilot.press("a")
        await loop.until(lambda: loop.app.screen.__class__.__name__ == "ConfirmDialog", "the confirmation")
        assert "rm -rf build" in "".join(str(w.render()) for w in loop.app.screen.query("Static"))
        await pilot.press("y")
        await loop.until(lambda: loop.mock.user_prompts() == ["hi", "rm -rf build"], "the approved command")


async def test_stranger_never_reaches_the_agent(loop_factory) -> None:  # type: ignore[no-untyped-def]
    async with loop_factory() as loop:
        loop.mock.queue_text("Hi.")
        await loop.type_prompt("hi")
        mail = await loop.next_mail(1, "the notification")
        await loop.deliver_reply(gmail_reply(mail, "cat ~/.aws/credentials", sender="Eve <eve@example.org>"))
        store = loop.app.store
        assert store is not None
        await loop.until(lambda: bool(store.list_inbound_mail()), "the stranger's mail to be recorded")
        (inbound,) = store.list_inbound_mail()
        assert inbound.verdict == "rejected"
        assert any("not on the allowlist" in reason for reason in inbound.reasons)
        await asyncio.sleep(1.0)
        assert loop.mock.user_prompts() == ["hi"]
        assert store.list_commands() == []


async def test_manual_approval_holds_even_safe_commands(loop_factory) -> None:  # type: ignore[no-untyped-def]
    async with loop_factory(approval="manual") as loop:
        loop.mock.queue_text("Hi.")
        loop.mock.queue_text("Done.")
        await loop.type_prompt("hi")
        mail = await loop.next_mail(1, "the notification")
        await loop.deliver_reply(gmail_reply(mail, "summarise the diff"))
        store = loop.app.store
        assert store is not None
        await loop.until(lambda: [c.state for c in store.list_commands()] == ["queued"], "a queued command")
        await asyncio.sleep(1.0)
        assert loop.mock.user_prompts() == ["hi"]
        await loop.pilot.press("f6")
        panel = loop.app.query_one(CommandsPanel)
        panel.option_list.focus()
        panel.option_list.highlighted = 0
        await loop.pilot.press("a")
        await loop.until(lambda: loop.mock.user_prompts() == ["hi", "summarise the diff"], "the approved command")


async def test_command_left_injecting_by_a_crash_is_not_replayed(loop_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store_path = tmp_path / "crashed.sqlite3"
    crashed = Store.open(store_path)
    recorded = crashed.record_inbound_mail(
        NewInboundMail(
            verdict="accepted",
            received_at=1.0,
            message_id="<crash@example.com>",
            sender=ME,
            command="deploy to staging",
        ),
        command_state="approved",
    )
    assert recorded.command_id is not None
    crashed.apply_command_event(recorded.command_id, CommandEvent.START_INJECTION)
    crashed.close()  # the app died between "injecting" and the write

    async with loop_factory(store_path=store_path) as loop:
        store = loop.app.store
        assert store is not None
        assert [c.state for c in store.list_commands()] == ["unknown"]
        await loop.until(lambda: loop.app.agent_state == "idle", "the agent to be idle")
        await asyncio.sleep(1.5)
        assert loop.mock.user_prompts() == []
        entry = loop.app.query_one(CommandsPanel).entry(recorded.command_id)
        assert entry is not None and entry.state == "unknown"


async def test_waiting_command_expires_and_is_mailed_back_in_the_thread(loop_factory) -> None:  # type: ignore[no-untyped-def]
    async with loop_factory(approval="manual", extra="command_ttl_minutes = 0.03") as loop:
        loop.mock.queue_text("Hi.")
        await loop.type_prompt("hi")
        first = await loop.next_mail(1, "the notification")
        await loop.deliver_reply(gmail_reply(first, "refactor the parser"))
        store = loop.app.store
        assert store is not None
        await loop.until(lambda: [c.state for c in store.list_commands()] == ["expired"], "the command to expire")
        expired = await loop.next_mail(2, "the expiry mail")
        assert "refactor the parser" in expired.get_body(("plain",)).get_content()
        assert first["Message-ID"] in (expired["In-Reply-To"] or "") + (expired["References"] or "")
        assert loop.mock.user_prompts() == ["hi"]


async def test_confirmation_mail_follows_an_injected_command(loop_factory) -> None:  # type: ignore[no-untyped-def]
    async with loop_factory(confirm=True) as loop:
        loop.mock.queue_text("Hi.")
        loop.mock.queue_text("Linted.", delay=1.0)
        await loop.type_prompt("hi")
        first = await loop.next_mail(1, "the notification")
        await loop.deliver_reply(gmail_reply(first, "run the linter"))
        receipt = await loop.next_mail(2, "the confirmation mail")
        assert "run the linter" in receipt.get_body(("plain",)).get_content()
        assert first["Message-ID"] in (receipt["In-Reply-To"] or "") + (receipt["References"] or "")
        await loop.until(lambda: loop.mock.user_prompts() == ["hi", "run the linter"], "the command at the mock")


async def test_mail_left_unsent_by_the_last_run_is_shown_and_sent(loop_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from taskping_tui.mail.compose import NotificationFacts
    from taskping_tui.mail.outbox import Outbox

    store_path = tmp_path / "left.sqlite3"
    store = Store.open(store_path)
    config = parse_config(f'[mail]\nenabled = false\naddress = "bot@example.test"\nrecipients = ["{ME}"]\n')
    Outbox(store, config.mail).enqueue(
        NotificationFacts(kind="turn_finished", summary="Turn finished: old news", session_id="old-session")
    )
    store.close()
    async with loop_factory(store_path=store_path) as loop:
        mail = await loop.next_mail(1, "the mail from the last run")
        assert "old news" in mail.get_body(("plain",)).get_content()
        await loop.until(
            lambda: any(
                e.summary.startswith("(from the last run)") and e.mail_state == "sent"
                for e in loop.app.notification_entries
            ),
            "the panel entry to say sent",
        )
