"""The hosted sessions: each durable session row with its pane and agent link, and their life cycle.

Opening (fresh or ``--resume``), restarting, closing and the agent's signals per session live here, with
no Textual import: the screen gives the host a :class:`HostView` that makes, starts and drops panes and
redraws the Sessions panel, and a unit test gives it fakes.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from taskping_tui.agent.state import AgentState, Notification, TrackerSettings
from taskping_tui.config import Config
from taskping_tui.core.agent_link import AgentIds, AgentLink
from taskping_tui.core.fanout import NotificationFanout, SessionFacts
from taskping_tui.core.mail_link import MailLink, SessionPort
from taskping_tui.core.sessions import NewSession, SessionStatus, default_session_name, session_status
from taskping_tui.inbound.commands import CommandEvent
from taskping_tui.store import SessionRow, Store

logger = logging.getLogger(__name__)

# A non-Claude agent that exits (code 0) this soon after a key in its pane was left on purpose (exit, Ctrl+D).
USER_EXIT_SECONDS = 3.0


class SessionPane(Protocol):
    """What the host needs of a session's terminal pane (``TerminalView`` fits)."""

    last_key_time: float

    @property
    def terminal_screen(self) -> Any: ...

    @property
    def running(self) -> bool: ...

    @property
    def pid(self) -> int | None: ...

    @property
    def argv(self) -> list[str] | None: ...

    @argv.setter
    def argv(self, argv: Sequence[str]) -> None: ...

    def write(self, data: bytes) -> None: ...

    def restart(self) -> None: ...

    async def stop(self, grace: float = 1.0) -> None: ...


@dataclass
class HostedSession:
    """One session: its durable row, its pane and (once opened) its agent link."""

    row: SessionRow
    pane: Any  # a SessionPane
    link: AgentLink | None = None
    unread: bool = False  # a finished turn nobody has looked at yet
    restarting: bool = False  # its exit was asked for (R, close): no "agent exited" news
    resume_on_exit: bool = False  # R on a running agent: start it again (resumed) once it has ended
    opened: bool = False
    opening: bool = False  # its agent link is being set up: a restart now would start it twice
    start_problem: str = ""  # why the agent is not running ("command not found"), for the pane's label
    scrolled_back: int = 0  # lines the pane is scrolled back, for the pane's label

    @property
    def key(self) -> str:
        return self.row.id

    @property
    def running(self) -> bool:
        return bool(self.pane.running)

    def status(self) -> SessionStatus:
        if self.link is None:
            return SessionStatus.OFFLINE
        pending = self.link.pending_permission
        return session_status(
            self.link.state,
            running=self.running or self.link.state is AgentState.STARTING,
            unread=self.unread,
            tool_name=pending.tool_name if pending else None,
            is_claude=self.link.is_claude,
        )


class HostView(Protocol):
    """What the host asks of the screen."""

    def new_pane(self, row: SessionRow) -> Any: ...

    def start_pane(self, session: HostedSession, argv: list[str]) -> None: ...

    async def drop_pane(self, session: HostedSession) -> None: ...

    def sessions_changed(self) -> None: ...

    def is_focused(self, session: HostedSession) -> bool: ...

    def refused(self, session: HostedSession, reason: str) -> None: ...

    def notice(self, session: HostedSession, text: str) -> None: ...


class SessionHost:
    """All sessions of this app, in the store and on screen."""

    def __init__(
        self,
        config: Config,
        store: Store,
        fanout: NotificationFanout,
        view: HostView,
        *,
        mail: MailLink | None = None,
        runtime_dir: Path | None = None,
        on_state: Callable[[HostedSession, AgentState], None] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.fanout = fanout
        self.view = view
        self.mail = mail
        self.runtime_dir = runtime_dir
        self._on_state = on_state
        self.sessions: dict[str, HostedSession] = {}
        self.shutting_down = False

    @property
    def ordered(self) -> list[HostedSession]:
        return sorted(self.sessions.values(), key=lambda s: (s.row.number, s.row.created_at))

    def statuses(self) -> dict[str, SessionStatus]:
        return {session.key: session.status() for session in self.sessions.values()}

    def running(self) -> list[HostedSession]:
        return [session for session in self.sessions.values() if session.running]

    # -- life cycle -----------------------------------------------------------------------------------

    def host(self, row: SessionRow) -> HostedSession:
        """List a session (offline until :meth:`open`)."""
        session = HostedSession(row, self.view.new_pane(row))
        self.sessions[row.id] = session
        return session

    async def new(self, new: NewSession) -> HostedSession:
        name = new.name or default_session_name(new.cwd, (s.row.name for s in self.sessions.values()))
        session = self.host(self.store.create_session(name, new.argv, new.cwd))
        await self.open(session, resume=False)
        return session

    async def open(self, session: HostedSession, *, resume: bool) -> bool:
        """Start the session's hook socket and agent (``resume``: continue its last conversation).

        False (and it stays offline) when another running taskping-tui hosts it: one conversation, one agent.
        """
        row, key = session.row, session.row.id
        holder = self.store.claim_session(key, os.getpid())
        if holder is not None:
            session.opened = False
            self.view.refused(session, f"session {row.number} “{row.name}” runs in another taskping-tui (pid {holder})")
            return False
        session.opening = True
        try:
            return await self._open_claimed(session, resume=resume)
        finally:
            session.opening = False

    async def _open_claimed(self, session: HostedSession, *, resume: bool) -> bool:
        row, key = session.row, session.row.id
        link = AgentLink(
            row.argv,
            row.cwd,
            settings=TrackerSettings(silence_seconds=self.config.agent.silence_seconds),
            on_notes=lambda notes: self._on_notes(key, notes),
            on_state_change=lambda _old, new: self._on_agent_state(key, new),
            on_ids_change=lambda ids: self._on_agent_ids(key, ids),
            on_notice=lambda text: self.view.notice(session, text),
            runtime_dir=self.runtime_dir,
            agent_ids=AgentIds(row.agent_session_id, row.transcript_path),
        )
        session.link = link
        session.opened = True
        plan = await link.open(resume=resume)
        self._on_agent_state(key, AgentState.STARTING)
        if self.mail is not None:
            self.mail.attach(
                SessionPort(
                    key,
                    write=session.pane.write,
                    view=lambda: link.agent_view(session.pane) if session.running else None,
                    pending_permission=lambda: link.pending_permission,
                    name=lambda: session.row.name,
                    context=lambda: link.context,
                )
            )
        self.view.start_pane(session, plan.argv)  # the Sessions panel was redrawn by the STARTING state above
        return True

    async def restart(self, session: HostedSession) -> None:
        """End the agent (if it runs) and start it again, resuming its conversation where it can."""
        if session.opening:
            self.view.notice(session, "The agent is still starting; restart it once it runs.")
            return
        if session.link is None:
            await self.open(session, resume=True)
            return
        if session.running:
            session.restarting = session.resume_on_exit = True
            session.link.expect_exit()  # ended on purpose: no "Agent exited" mail
            await session.pane.stop()  # its exit (on_exited) starts it again
            return
        plan = session.link.plan_launch(resume=True)
        session.pane.argv = plan.argv
        session.pane.restart()

    def rename(self, session: HostedSession, name: str) -> None:
        session.row = self.store.update_session(session.key, name=name) or session.row
        self.view.sessions_changed()

    def closing_summary(self, session: HostedSession) -> list[str]:
        """What closing ``session`` stops, for the confirmation."""
        row = session.row
        lines = [f"Session {row.number} “{row.name}” in {row.cwd}."]
        if session.running:
            lines.append(f"Its agent ({' '.join(row.argv)}, pid {session.pane.pid}) is ended.")
        waiting = self.store.pending_commands(session.key)
        if waiting:
            lines.append(f"{len(waiting)} command(s) waiting for it are rejected.")
        lines.append("Replies to its mails are rejected from now on and answered with “this session has ended”.")
        if len(self.sessions) == 1:
            lines.append("It is the last session: taskping-tui quits.")
        return lines

    async def close(self, session: HostedSession) -> list[Any]:
        """Close for good: the row (first, so replies are refused), its commands, its agent, its pane."""
        self.store.close_session(session.key)
        self.store.release_session(session.key, os.getpid())
        rejected = []
        for command in self.store.pending_commands(session.key):
            updated = self.store.apply_command_event(command.id, CommandEvent.REJECT, note="its session was closed")
            if updated is not None:
                rejected.append(updated)
        if self.mail is not None:
            self.mail.detach(session.key)
        session.restarting = True  # its exit is no news
        if session.link is not None:
            session.link.expect_exit()
        await session.pane.stop()
        if session.link is not None:
            await session.link.close()
        self.sessions.pop(session.key, None)
        await self.view.drop_pane(session)
        return rejected

    async def shutdown(self) -> None:
        """End every agent and give the sessions up for the next run (once; later calls do nothing)."""
        if self.shutting_down:
            return
        self.shutting_down = True
        self.fanout.muted = True
        for session in list(self.sessions.values()):
            await session.pane.stop()
        for session in list(self.sessions.values()):
            if session.link is not None:
                await session.link.close()
                self.store.release_session(session.key, os.getpid())

    # -- signals --------------------------------------------------------------------------------------

    def tick(self) -> None:
        if self.shutting_down:
            return
        for session in self.sessions.values():
            if session.link is not None:
                session.link.tick(session.pane)

    def on_title(self, session: HostedSession, title: str) -> None:
        if session.link is not None:
            session.link.on_title(title)

    def on_output(self, session: HostedSession, nbytes: int) -> None:
        if session.link is not None:
            session.link.on_output(nbytes)

    def on_started(self, session: HostedSession) -> None:
        if session.link is not None:
            session.restarting = False
            session.start_problem = ""
            session.link.on_started()

    def on_exited(self, session: HostedSession, status: int | None, signal: int | None) -> None:
        if session.link is None:
            return
        resume, session.resume_on_exit = session.resume_on_exit, False
        typed_last = time.monotonic() - session.pane.last_key_time < USER_EXIT_SECONDS
        plan = session.link.on_exit(status, signal, resume=resume, user_typed_last=typed_last)
        if plan is None or self.shutting_down:
            return
        if resume:
            session.pane.argv = plan.argv
            session.pane.restart()
            return
        session.pane.argv = plan.argv  # a restart (Enter in the pane) is a new Claude Code session

    def _on_notes(self, key: str, notes: list[Notification]) -> None:
        session = self.sessions.get(key)
        if session is None or session.restarting or self.shutting_down:
            return
        for note in notes:
            if note.kind.value in ("turn_finished", "api_error") and not self.view.is_focused(session):
                session.unread = True
            self.fanout.publish(note, SessionFacts(key, session.row.name, session.row.cwd))
        self.view.sessions_changed()

    def _on_agent_state(self, key: str, state: AgentState) -> None:
        session = self.sessions.get(key)
        if session is None:
            return
        if not self.shutting_down:
            self.store.set_session_agent_state(key, state.value)
            session.row = self.store.get_session(key) or session.row
        if self.mail is not None:
            self.mail.on_agent_state(key, state)  # e.g. the mail after a permission denied by mail
        if self._on_state is not None:
            self._on_state(session, state)
        self.view.sessions_changed()

    def _on_agent_ids(self, key: str, ids: AgentIds) -> None:
        session = self.sessions.get(key)
        if session is not None:
            session.row = (
                self.store.update_session(key, agent_session_id=ids.session_id, transcript_path=ids.transcript_path)
                or session.row
            )
