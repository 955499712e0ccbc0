"""Many sessions with real parts: the pinned Claude Code (2.1.332 and 2.1.197) against the mock API,
aiosmtpd and dovecot. Two sessions in two directories, two threads, replies routed by token and thread,
restart with --resume and commands typed exactly once, a reply to a closed session answered."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest

from taskping_tui.app import TaskPingApp
from taskping_tui.config import parse_config
from taskping_tui.mail.tokens import find_token_in_subject
from taskping_tui.mail.watcher import WatcherTimings
from taskping_tui.screens.main_screen import HostedSession
from taskping_tui.store import Store
from tests.functional.test_mail_loop import ME, PASSWORD_ENV, gmail_reply
from tests.support.app_harness import AppDriver, agent_env_toml
from tests.support.claude_fixtures import claude_cli_path, offline_claude_env, write_offline_claude_json
from tests.support.dovecot_fixtures import DovecotServer, MailUser
from tests.support.mock_anthropic import MockAnthropic, typed_prompt_of
from tests.support.smtp_fixtures import PasswordAuthenticator, SmtpServer, SmtpServerFactory

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

CURRENT, INLINE = "2.1.332", "2.1.197"


def conversation_prompts(mock: MockAnthropic, first_prompt: str) -> list[str]:
    """Every prompt typed into the conversation that began with ``first_prompt`` (one session's requests)."""
    prompts: list[str] = []
    for request in mock.main_requests():
        body = request.body or {}
        texts = [
            typed_prompt_of({"messages": [message]}) or ""
            for message in body.get("messages", [])
            if isinstance(message, dict) and message.get("role") == "user"
        ]
        if any(first_prompt in text for text in texts):
            prompt = typed_prompt_of(body)
            if prompt and (not prompts or prompts[-1] != prompt):
                prompts.append(prompt)
    return prompts


@dataclass
class World:
    mock: MockAnthropic
    smtp: SmtpServer
    dovecot: DovecotServer
    user: MailUser
    dirs: tuple[Path, Path]
    claude: Path
    env: dict[str, str]
    store_path: Path
    runtime: Path

    def mails(self) -> list[EmailMessage]:
        return [received.message for received in self.smtp.messages]

    def config_text(self) -> str:
        return f"""
[agent]
command = "{self.claude}"
env = {agent_env_toml(self.env)}
[notify]
toast = false
desktop = false
[mail]
enabled = true
address = "{self.user.login}"
password_env = "{PASSWORD_ENV}"
recipients = ["{ME}"]
max_mails_per_minute = 30
smtp = {{ host = "127.0.0.1", port = {self.smtp.port}, security = "none", timeout_seconds = 5.0 }}
imap = {{ host = "127.0.0.1", port = {self.dovecot.imap_port}, security = "none", send_id = true }}
[security]
allowed_senders = ["{ME}"]
"""

    @contextlib.asynccontextmanager
    async def app(self, *, dirs: bool = True) -> AsyncIterator[Driver]:
        app = TaskPingApp(
            parse_config(self.config_text()),
            None,
            session_dirs=[str(d) for d in self.dirs] if dirs else None,
            store_path=self.store_path,
            runtime_dir=self.runtime,
            watcher_timings=WatcherTimings(backoff_initial_seconds=0.2, backoff_max_seconds=1.0),
        )
        async with app.run_test(size=(150, 45)) as pilot:
            driver = Driver(app, pilot, self)
            await driver.until(
                lambda: app.watcher is not None and app.watcher.status.state.value == "idle", "the IMAP watcher to idle"
            )
            yield driver

    async def next_mail(self, driver: AppDriver, count: int, what: str) -> EmailMessage:
        await driver.until(lambda: len(self.smtp.messages) >= count, what, timeout=60)
        return self.mails()[count - 1]


@dataclass
class Driver(AppDriver):
    world: World

    def session(self, number: int) -> HostedSession:
        return next(s for s in self.app.main.sessions.values() if s.row.number == number)

    async def focus(self, number: int) -> None:
        await self.pilot.press("f6")
        await self.pilot.pause()
        await self.pilot.press(str(number))
        await self.until(lambda: self.app.main.focused_session is self.session(number), f"session {number}")

    def describe(self) -> str:
        return f"prompts={self.world.mock.user_prompts()}; mails={len(self.world.smtp.messages)}; {super().describe()}"


@pytest.fixture
def claude_version() -> str:
    """The release users have; the routing test also runs with the older inline one."""
    return CURRENT


@pytest.fixture
def world(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    claude_version: str,
    mock_anthropic: MockAnthropic,
    smtp_server_factory: SmtpServerFactory,
    dovecot: DovecotServer,
) -> World:
    api, web = tmp_path / "api", tmp_path / "web"
    api.mkdir()
    web.mkdir()
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    write_offline_claude_json(home, [api, web])
    user = dovecot.new_user()
    smtp = smtp_server_factory(auth=True, start=False)
    smtp.authenticator = PasswordAuthenticator({user.login: user.password})
    smtp.start()
    monkeypatch.setenv(PASSWORD_ENV, user.password)
    monkeypatch.chdir(tmp_path)
    return World(
        mock_anthropic,
        smtp,
        dovecot,
        user,
        (api, web),
        claude_cli_path(claude_version),
        offline_claude_env(home, mock_anthropic.base_url),
        tmp_path / "store.sqlite3",
        tmp_path / "run",
    )


async def prompt_each(driver: Driver, world: World) -> tuple[EmailMessage, EmailMessage]:
    """A prompt in session 1, then one in session 2: one notification mail each."""
    await driver.type_prompt("hello from api")
    first = await world.next_mail(driver, 1, "session 1's notification")
    await driver.focus(2)
    await driver.type_prompt("hello from web")
    second = await world.next_mail(driver, 2, "session 2's notification")
    return first, second


@pytest.mark.parametrize("claude_version", [CURRENT, INLINE])
async def test_two_sessions_two_threads_and_each_reply_reaches_its_own_session(world: World) -> None:
    async with world.app() as driver:
        first, second = await prompt_each(driver, world)
        assert "— api" in first["Subject"] and "— web" in second["Subject"]
        token_1, token_2 = find_token_in_subject(first["Subject"]), find_token_in_subject(second["Subject"])
        assert token_1 and token_2 and token_1 != token_2
        assert first["X-TaskPing-Session"] != second["X-TaskPing-Session"]
        assert not second["In-Reply-To"]  # its own thread, not session 1's

        # Session 2 is focused: both replies must still go where they belong.
        await world.dovecot.adeliver_lmtp(world.user, gmail_reply(first, "run the api tests"))
        await world.dovecot.adeliver_lmtp(world.user, gmail_reply(second, "run the web tests"))
        await driver.until(
            lambda: (
                conversation_prompts(world.mock, "hello from api")[-1:] == ["run the api tests"]
                and conversation_prompts(world.mock, "hello from web")[-1:] == ["run the web tests"]
            ),
            "each reply in its own conversation",
            timeout=60,
        )
        await asyncio.sleep(1.5)
        assert conversation_prompts(world.mock, "hello from api") == ["hello from api", "run the api tests"]
        assert conversation_prompts(world.mock, "hello from web") == ["hello from web", "run the web tests"]
        third = await world.next_mail(driver, 3, "the next notification")
        assert third["Message-ID"] != first["Message-ID"]
        later = [mail for mail in world.mails()[2:] if find_token_in_subject(mail["Subject"]) == token_1]
        assert all(first["Message-ID"] in (mail["References"] or "") for mail in later)


async def test_restart_resumes_both_sessions_and_types_held_commands_once(world: World) -> None:
    async with world.app() as driver:
        first, second = await prompt_each(driver, world)
        store = driver.app.store
        assert store is not None
        session_1, session_2 = driver.session(1).key, driver.session(2).key
        await world.dovecot.adeliver_lmtp(world.user, gmail_reply(first, "continue with api"))
        # Held while the user types in session 1: the app stops with it queued.
        driver.session(1).pane.last_key_time = 1e12
        await driver.until(
            lambda: [c.state for c in store.list_commands(session_id=session_1)] == ["approved"],
            "the command for session 1 to be queued",
        )
    # The app is down: a reply for session 2 arrives now.
    await world.dovecot.adeliver_lmtp(world.user, gmail_reply(second, "continue with web"))
    with Store.open(world.store_path) as closed:
        rows = {row.id: row for row in closed.list_sessions()}
        assert set(rows) == {session_1, session_2} and all(row.agent_session_id for row in rows.values())

    async with world.app(dirs=False) as driver:  # `taskping-tui` with no arguments
        one, two = driver.session(1), driver.session(2)
        assert (one.key, two.key) == (session_1, session_2)
        for session in (one, two):
            assert "--resume" in (session.pane.argv or []) and rows[session.key].agent_session_id in session.pane.argv
        await driver.until(
            lambda: (
                conversation_prompts(world.mock, "hello from api")[-1:] == ["continue with api"]
                and conversation_prompts(world.mock, "hello from web")[-1:] == ["continue with web"]
            ),
            "both held commands typed after --resume",
            timeout=90,
        )
        await asyncio.sleep(2.0)
        assert conversation_prompts(world.mock, "hello from api") == ["hello from api", "continue with api"]
        assert conversation_prompts(world.mock, "hello from web") == ["hello from web", "continue with web"]
        store = driver.app.store
        assert store is not None
        assert [c.state for c in store.list_commands()] == ["injected", "injected"]


async def test_a_reply_to_a_closed_session_is_rejected_and_answered(world: World) -> None:
    async with world.app() as driver:
        first, _second = await prompt_each(driver, world)
        await driver.focus(1)
        await driver.pilot.press("f6", "x")
        await driver.pilot.pause()
        await driver.pilot.press("y")
        await driver.until(lambda: len(driver.app.main.sessions) == 1, "session 1 to close")
        count = len(world.smtp.messages)
        await world.dovecot.adeliver_lmtp(world.user, gmail_reply(first, "are you still there"))
        answer = await world.next_mail(driver, count + 1, "the answer in its thread")
        assert "This session has ended" in answer["Subject"]
        assert first["Message-ID"] in (answer["References"] or "") + (answer["In-Reply-To"] or "")
        store = driver.app.store
        assert store is not None
        inbound = store.list_inbound_mail()[0]
        assert inbound.verdict == "rejected" and "this session has ended" in inbound.reasons
        assert "are you still there" not in " ".join(world.mock.user_prompts())


async def test_shift_r_restarts_claude_code_resuming_its_conversation(world: World) -> None:
    async with world.app() as driver:
        await driver.type_prompt("hello from api")
        await world.next_mail(driver, 1, "the notification")
        session = driver.session(1)
        first_pid = session.pane.pid
        await driver.pilot.press("f6", "R")
        await driver.until(lambda: session.pane.pid not in (None, first_pid), "the restarted agent")
        assert "--resume" in (session.pane.argv or [])
        await driver.type_prompt("still there?")
        await driver.until(
            lambda: conversation_prompts(world.mock, "hello from api")[-1:] == ["still there?"],
            "the prompt in the resumed conversation",
            timeout=60,
        )
        assert not any(e.kind == "exited" for e in driver.app.notification_entries)
