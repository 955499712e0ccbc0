"""The shared mail link routes each reply to its own session's injector, never to another one."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import Coroutine
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from taskping_tui.config import parse_config
from taskping_tui.core.mail_link import MailLink, SessionPort
from taskping_tui.inbound.injector import AgentView
from taskping_tui.inbound.permission import dialog_key
from taskping_tui.mail.compose import NotificationFacts
from taskping_tui.mail.password import Secret
from taskping_tui.mail.watcher import FetchedMail
from taskping_tui.store import CommandRow, OutboxRow, Store
from tests.support.questions import DATABASE, tool_input

CONFIG = parse_config("""
[mail]
enabled = true
address = "bot@example.com"
password_env = "PW"
recipients = ["me@example.com"]
smtp = { host = "127.0.0.1", port = 9, security = "none" }
imap = { host = "127.0.0.1", port = 9, security = "none" }
[security]
allowed_senders = ["me@example.com"]
""")


class FakeView:
    def __init__(self) -> None:
        self.commands: list[CommandRow] = []
        self.toasts: list[str] = []
        self.inbound: list[int] = []

    def show_inbound(self, mail_id: int) -> None:
        self.inbound.append(mail_id)

    def show_command(self, command: CommandRow) -> None:
        self.commands.append(command)

    def show_commands(self, commands: list[CommandRow]) -> None:
        self.commands.extend(commands)

    def set_inbound_status(self, text: str) -> None:
        pass

    def show_inbound_problem(self, problem: object) -> None:
        self.problem = problem

    def outbox_changed(self, row: OutboxRow) -> None:
        pass

    def toast(
        self, message: str, *, title: str = "", severity: str = "information", timeout: float | None = None
    ) -> None:
        self.toasts.append(f"{title}: {message}")


class FakeAgent:
    """A session's agent: what was typed into it, and whether the user is typing there right now."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.typed = b""
        self.seconds_since_key = 1e9

    def port(self) -> SessionPort:
        return SessionPort(
            self.session_id,
            write=self.write,
            view=self.view,
            pending_permission=lambda: None,
            name=lambda: f"name-{self.session_id}",
        )

    def write(self, data: bytes) -> None:
        self.typed += data

    def view(self) -> AgentView:
        return AgentView(state="idle", prompt_text="", seconds_since_key=self.seconds_since_key)


def reply(subject: str, body: str, *, in_reply_to: str = "", message_id: str = "<r@example.com>") -> bytes:
    message = EmailMessage()
    message["From"] = "Me <me@example.com>"
    message["To"] = "bot@example.com"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    message.set_content(body)
    return message.as_bytes()


@pytest.fixture
async def link(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = Store.open(tmp_path / "store.sqlite3")
    tasks: list[asyncio.Task[None]] = []

    def spawn(coro: Coroutine[Any, Any, None]) -> None:
        tasks.append(asyncio.ensure_future(coro))

    async def password() -> Secret:
        return Secret("pw")

    mail = MailLink(CONFIG, store, FakeView(), spawn=spawn, session_ended=store.session_is_closed)
    await mail.start(password)
    mail.tasks = tasks  # type: ignore[attr-defined]
    yield mail
    await mail.stop()
    store.close()


async def settle(mail: MailLink) -> None:
    for _ in range(3):
        mail.tick()
        await asyncio.gather(*mail.tasks)  # type: ignore[attr-defined]


async def deliver(mail: MailLink, raw: bytes, uid: int) -> None:
    assert mail.processor is not None
    processed = mail.processor.process(
        FetchedMail(uidvalidity=1, uid=uid, size=len(raw), raw=raw, too_big=False), "key"
    )
    assert processed is not None
    mail.show_processed(processed)


async def test_each_reply_is_typed_into_its_own_session_only(link: MailLink) -> None:
    store = link.store
    one, two = (store.create_session(name, ["claude"], f"/w/{name}") for name in ("api", "web"))
    agents = {row.id: FakeAgent(row.id) for row in (one, two)}
    for agent in agents.values():
        link.attach(agent.port())
    first = link.enqueue(NotificationFacts(kind="turn_finished", summary="done", session_id=one.id, session_name="api"))
    second = link.enqueue(
        NotificationFacts(kind="turn_finished", summary="done", session_id=two.id, session_name="web")
    )
    assert first.token != second.token
    assert "— api" in first.subject and "— web" in second.subject

    await deliver(link, reply(f"Re: {first.subject}", "fix the api tests"), uid=1)
    # No token in the subject: the In-Reply-To of session two's mail routes it.
    await deliver(
        link,
        reply("Re: your mail", "restyle the web page", in_reply_to=second.message_id, message_id="<r2@example.com>"),
        uid=2,
    )
    await settle(link)
    assert agents[one.id].typed.startswith(b"fix the api tests")
    assert agents[two.id].typed.startswith(b"restyle the web page")
    assert b"web" not in agents[one.id].typed and b"api" not in agents[two.id].typed


async def test_typing_in_one_session_does_not_hold_the_other(link: MailLink) -> None:
    store = link.store
    one, two = (store.create_session(name, ["claude"], "/w") for name in ("a", "b"))
    agents = {row.id: FakeAgent(row.id) for row in (one, two)}
    agents[one.id].seconds_since_key = 0.5  # the user is typing in session one
    for agent in agents.values():
        link.attach(agent.port())
    for index, row in enumerate((one, two), start=1):
        mail = link.enqueue(NotificationFacts(kind="turn_finished", summary="done", session_id=row.id))
        await deliver(link, reply(f"Re: {mail.subject}", f"command {index}", message_id=f"<r{index}@x>"), uid=index)
    await settle(link)
    assert agents[one.id].typed == b""
    assert agents[two.id].typed.startswith(b"command 2")
    waiting = [c for c in store.list_commands(session_id=one.id)]
    assert [c.state for c in waiting] == ["approved"]


async def test_a_reply_to_a_closed_session_is_rejected_and_answered_in_its_thread(link: MailLink) -> None:
    store = link.store
    row = store.create_session("old", ["claude"], "/w")
    first = link.enqueue(NotificationFacts(kind="turn_finished", summary="done", session_id=row.id, session_name="old"))
    store.claim_for_sending(first.id)
    store.mark_sent(first.id)
    store.close_session(row.id)
    await deliver(link, reply(f"Re: {first.subject}", "keep going"), uid=1)
    (inbound,) = store.list_inbound_mail()
    assert inbound.verdict == "rejected" and "this session has ended" in inbound.reasons
    assert store.list_commands() == []
    answer = store.pending_outbox()[-1]
    assert answer.kind == "session_ended" and answer.session_id == row.id
    assert b"This session has ended" in answer.message and b"keep going" in answer.message
    assert f"In-Reply-To: {first.message_id}".encode() in answer.message


async def test_a_reply_for_a_session_that_is_not_running_waits_for_it(link: MailLink) -> None:
    store = link.store
    row = store.create_session("later", ["claude"], "/w")
    mail = link.enqueue(NotificationFacts(kind="turn_finished", summary="done", session_id=row.id))
    await deliver(link, reply(f"Re: {mail.subject}", "when you are back"), uid=1)
    await settle(link)
    assert [c.state for c in store.list_commands()] == ["approved"]
    agent = FakeAgent(row.id)
    link.attach(agent.port())  # the session is resumed
    await settle(link)
    await settle(link)
    assert agent.typed.count(b"when you are back") == 1
    assert [c.state for c in store.list_commands()] == ["injected"]


async def test_an_answer_to_a_question_answered_meanwhile_is_not_typed_and_the_thread_says_why(
    link: MailLink,
) -> None:
    store = link.store
    row = store.create_session("api", ["claude"], "/w")
    agent = FakeAgent(row.id)  # idle at its prompt: the question was answered at the keyboard
    link.attach(agent.port())
    asked = link.enqueue(
        NotificationFacts(
            kind="needs_permission",
            summary="Asks: Which database?",
            session_id=row.id,
            tool_name="AskUserQuestion",
            tool_input=tool_input(DATABASE),
        )
    )
    store.claim_for_sending(asked.id)
    store.mark_sent(asked.id)
    await deliver(link, reply(f"Re: {asked.subject}", "SQLite", in_reply_to=asked.message_id), uid=1)
    await settle(link)
    assert agent.typed == b""
    (command,) = store.list_commands()
    assert command.state == "rejected" and "no longer asked" in command.note
    (answer,) = store.pending_outbox()
    assert answer.kind == "command_not_typed"
    assert f"In-Reply-To: {asked.message_id}".encode() in answer.message
    body = email.message_from_bytes(answer.message, policy=email.policy.default).get_body(("plain",))
    assert body is not None
    text = body.get_content().replace("\r\n", "\n")
    assert "Not typed into the agent: it answers Claude's question, which is no longer asked" in text
    assert "Your command:\nSQLite" in text, text


class WaitingAgent(FakeAgent):
    """An agent showing Claude Code's permission dialog for ``tool_input``."""

    def __init__(self, session_id: str, tool_input: dict[str, str]) -> None:
        super().__init__(session_id)
        self.tool_input = tool_input

    def view(self) -> AgentView:
        return AgentView(
            state="waiting",
            prompt_text=None,
            dialog_options={1: "Yes", 2: "No"},
            dialog_key=dialog_key("Bash", self.tool_input),
        )


async def test_a_yes_threaded_to_an_old_dialog_never_answers_the_open_one(link: MailLink) -> None:
    """A hostile or just late reply: In-Reply-To names the closed dialog's mail, References the open one's."""
    store = link.store
    row = store.create_session("api", ["claude"], "/w")
    sent = []
    for command in ("touch first.txt", "git push"):
        mail = link.enqueue(
            NotificationFacts(
                kind="needs_permission",
                summary=f"Needs permission: Bash({command})",
                session_id=row.id,
                tool_name="Bash",
                tool_input={"command": command},
            )
        )
        store.claim_for_sending(mail.id)
        store.mark_sent(mail.id)
        sent.append(mail)
    agent = WaitingAgent(row.id, {"command": "git push"})
    link.attach(agent.port())
    raw = reply(f"Re: {sent[0].subject}", "yes", in_reply_to=sent[0].message_id).replace(
        b"In-Reply-To:", f"References: {sent[1].message_id}\nIn-Reply-To:".encode()
    )
    await deliver(link, raw, uid=1)
    await settle(link)
    assert agent.typed == b""
    (command,) = store.list_commands()
    assert command.state == "rejected" and "no longer open" in command.note
    await deliver(
        link,
        reply(f"Re: {sent[1].subject}", "yes", in_reply_to=sent[1].message_id, message_id="<r2@example.com>"),
        uid=2,
    )
    await settle(link)
    assert agent.typed == b"1"  # the reply to the open dialog's own mail answers it
