"""The session host with a fake screen and fake panes: open, notes, exit, restart with --resume, close."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from taskping_tui.agent.events import HookEvent
from taskping_tui.config import Config
from taskping_tui.core.fanout import NotificationFanout, NotificationRecord
from taskping_tui.core.session_host import HostedSession, SessionHost
from taskping_tui.core.sessions import NewSession
from taskping_tui.store import NewInboundMail, SessionRow, Store


class FakePane:
    def __init__(self) -> None:
        self.running = False
        self.pid: int | None = None
        self.argv: list[str] | None = None
        self.last_key_time = 0.0
        self.terminal_screen: Any = None
        self.started: list[list[str]] = []
        self.written = b""

    def write(self, data: bytes) -> None:
        self.written += data

    def restart(self) -> None:
        assert self.argv is not None
        self.started.append(list(self.argv))
        self.running = True

    async def stop(self, grace: float = 1.0) -> None:
        self.running = False


class FakeScreen:
    def __init__(self) -> None:
        self.dropped: list[str] = []
        self.refusals: list[str] = []
        self.notices: list[str] = []
        self.focused: HostedSession | None = None

    def new_pane(self, row: SessionRow) -> FakePane:
        return FakePane()

    def start_pane(self, session: HostedSession, argv: list[str]) -> None:
        session.pane.argv = argv
        session.pane.restart()

    async def drop_pane(self, session: HostedSession) -> None:
        self.dropped.append(session.key)

    def sessions_changed(self) -> None:
        pass

    def is_focused(self, session: HostedSession) -> bool:
        return session is self.focused

    def refused(self, session: HostedSession, reason: str) -> None:
        self.refusals.append(reason)

    def notice(self, session: HostedSession, text: str) -> None:
        self.notices.append(text)


def make_host(tmp_path: Path) -> tuple[SessionHost, FakeScreen, list[NotificationRecord]]:
    shown: list[NotificationRecord] = []
    config = Config()
    fanout = NotificationFanout(config.notify, toast=lambda *a: None, desktop=lambda *a: None, show=shown.append)
    screen = FakeScreen()
    store = Store.open(tmp_path / "s.sqlite3")
    return SessionHost(config, store, fanout, screen, runtime_dir=tmp_path / "run"), screen, shown


def fake_claude(tmp_path: Path) -> list[str]:
    program = tmp_path / "claude"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    return [str(program)]


def session_argv(args: Sequence[str]) -> str | None:
    return args[list(args).index("--session-id") + 1] if "--session-id" in args else None


async def test_a_new_session_is_stored_and_started_with_its_own_claude_session(tmp_path: Path) -> None:
    host, _screen, _shown = make_host(tmp_path)
    session = await host.new(NewSession(str(tmp_path), fake_claude(tmp_path)))
    try:
        (argv,) = session.pane.started
        assert "--settings" in argv and session_argv(argv) is not None
        row = host.store.get_session(session.key)
        assert row is not None and row.agent_session_id == session_argv(argv) and row.name == tmp_path.name
        assert row.agent_state == "starting"
    finally:
        await host.shutdown()


async def test_notes_are_filed_under_the_session_and_unread_when_it_is_not_shown(tmp_path: Path) -> None:
    host, screen, shown = make_host(tmp_path)
    one = await host.new(NewSession(str(tmp_path), ["bash"]))
    two = await host.new(NewSession(str(tmp_path), ["bash"]))
    screen.focused = one
    try:
        assert two.link is not None and two.link.tracker is not None
        two.link.on_exit(0, None)
        assert [(r.kind, r.session_id) for r in shown] == [("exited", two.key)]
        assert not two.unread  # an exit is not an unread turn
        assert two.status().value == "exited"
    finally:
        await host.shutdown()


async def test_restart_resumes_the_conversation_when_its_transcript_exists(tmp_path: Path) -> None:
    host, _screen, shown = make_host(tmp_path)
    session = await host.new(NewSession(str(tmp_path), fake_claude(tmp_path)))
    try:
        assert session.link is not None
        transcript = tmp_path / "conversation.jsonl"
        transcript.write_text("{}\n")
        session.link.on_hook(HookEvent("SessionStart", session_id="cc-42", transcript_path=str(transcript)))
        await host.restart(session)  # running: stopped, then started again on its exit
        host.on_exited(session, None, 1)
        assert session.pane.started[-1][-2:] == ["--resume", "cc-42"]
        assert shown == []  # a restart asked for is no "agent exited" news
        host.on_started(session)
        assert not session.restarting
    finally:
        await host.shutdown()


async def test_closing_rejects_its_waiting_commands_and_frees_everything(tmp_path: Path) -> None:
    host, screen, _shown = make_host(tmp_path)
    session = await host.new(NewSession(str(tmp_path), ["bash"]))
    host.store.record_inbound_mail(
        NewInboundMail(verdict="accepted", received_at=1.0, command="ls", session_id=session.key, message_id="<a@x>"),
        command_state="approved",
    )
    summary = "\n".join(host.closing_summary(session))
    assert "1 command(s) waiting for it are rejected" in summary and "last session" in summary
    rejected = await host.close(session)
    assert [c.state for c in rejected] == ["rejected"]
    assert host.store.session_is_closed(session.key) and host.sessions == {}
    assert screen.dropped == [session.key] and not session.pane.running
    await host.shutdown()


async def test_a_session_another_live_taskping_tui_hosts_is_not_opened_twice(tmp_path: Path) -> None:
    import subprocess
    import sys

    host, screen, _shown = make_host(tmp_path)
    row = host.store.create_session("api", ["bash"], str(tmp_path))
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "taskping-tui"])
    try:
        assert host.store.claim_session(row.id, other.pid) is None
        session = host.host(host.store.get_session(row.id))  # type: ignore[arg-type]
        assert await host.open(session, resume=True) is False
        assert session.link is None and f"pid {other.pid}" in screen.refusals[0]
    finally:
        other.kill()
        other.wait()
    assert await host.open(session, resume=True) is True  # its host is gone: the stale claim does not count
    assert host.store.get_session(row.id).host_pid is not None  # type: ignore[union-attr]
    await host.shutdown()
    assert host.store.get_session(row.id).host_pid is None  # type: ignore[union-attr]


async def test_restart_pressed_again_while_an_offline_session_opens_starts_its_agent_once(tmp_path: Path) -> None:
    host, screen, _shown = make_host(tmp_path)
    row = host.store.create_session("offline", fake_claude(tmp_path), str(tmp_path))
    session = host.host(row)
    try:
        await asyncio.gather(host.restart(session), host.restart(session), host.restart(session))
        assert len(session.pane.started) == 1
        assert screen.notices == ["The agent is still starting; restart it once it runs."] * 2
        await host.restart(session)  # once it runs, R restarts it as usual
        host.on_exited(session, None, 1)
        assert len(session.pane.started) == 2
    finally:
        await host.shutdown()
