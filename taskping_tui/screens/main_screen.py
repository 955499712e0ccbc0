"""The main screen: one terminal pane per session (only the focused one shown), the sidebar and the footer.

It composes the widgets, moves focus, opens dialogs and turns panel messages into calls on the
Textual-free links in :mod:`taskping_tui.core`: an :class:`AgentLink` per session, one
:class:`MailLink` (when mail is on) and the :class:`NotificationFanout`. The links report back through
the small view methods at the end of this class; presenters word the rows.
"""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer

from taskping_tui.agent.environment import agent_environment
from taskping_tui.agent.install_hints import install_hint_for
from taskping_tui.agent.local_notify import TerminalNotifier
from taskping_tui.agent.state import AgentState, Notification, TrackerSettings
from taskping_tui.config import expand_env
from taskping_tui.core.agent_link import AgentIds, AgentLink
from taskping_tui.core.fanout import NotificationFanout, NotificationRecord, SessionFacts
from taskping_tui.core.mail_link import MailLink, SessionPort
from taskping_tui.core.sessions import (
    FocusHistory,
    NewSession,
    SessionStatus,
    default_session_name,
    next_needing_you,
    plan_start,
    session_status,
)
from taskping_tui.errors import TaskPingError, describe_error
from taskping_tui.inbound.command_edit import ApprovalPlan
from taskping_tui.inbound.commands import CommandEvent
from taskping_tui.mail.watcher_problem import WatcherProblem
from taskping_tui.screens import presenters
from taskping_tui.screens.pane_label import pane_subtitle
from taskping_tui.startup import open_mail_store
from taskping_tui.store import CommandRow, OutboxRow, SessionRow, Store
from taskping_tui.terminal.view import TerminalView
from taskping_tui.widgets.commands_panel import CommandsPanel
from taskping_tui.widgets.confirm_dialog import ConfirmDialog
from taskping_tui.widgets.details_dialog import DetailsDialog
from taskping_tui.widgets.edit_dialog import EditDialog
from taskping_tui.widgets.inbound_panel import InboundPanel
from taskping_tui.widgets.notifications_panel import NotificationsPanel
from taskping_tui.widgets.panel import Panel
from taskping_tui.widgets.session_dialog import RenameDialog, SessionDialog, SessionRequest
from taskping_tui.widgets.sessions_panel import SessionEntry, SessionsPanel
from taskping_tui.widgets.sidebar import Sidebar

if TYPE_CHECKING:
    from taskping_tui.app import TaskPingApp

AGENT_TICK_SECONDS = 0.25
# A non-Claude agent that exits (code 0) this soon after a key in its pane was left on purpose (exit, Ctrl+D).
USER_EXIT_SECONDS = 3.0
SESSIONS_REFRESH_SECONDS = 1.0


class SessionPane(TerminalView):
    """A session's terminal pane; each message it posts names the pane, so the screen knows whose it is."""

    def post_message(self, message: Message) -> bool:
        message.pane = self  # type: ignore[attr-defined]
        return super().post_message(message)


@dataclass
class HostedSession:
    """One session as the screen hosts it: its durable row, its pane and (once opened) its agent link."""

    row: SessionRow
    pane: TerminalView
    link: AgentLink | None = None
    unread: bool = False
    restarting: bool = False
    opened: bool = False
    start_problem: str = ""  # why the agent is not running ("command not found"), for the pane's label
    scrolled_back: int = 0  # lines the pane is scrolled back, for the pane's label

    def show_label(self, state: str) -> None:
        self.pane.border_subtitle = pane_subtitle(state, start_problem=self.start_problem,
                                                  scroll_offset=self.scrolled_back)

    @property
    def key(self) -> str:
        return self.row.id

    @property
    def running(self) -> bool:
        return self.pane.running

    def status(self) -> SessionStatus:
        if self.link is None:
            return SessionStatus.OFFLINE
        pending = self.link.pending_permission
        return session_status(self.link.state, running=self.running or self.link.state is AgentState.STARTING,
                              unread=self.unread, tool_name=pending.tool_name if pending else None,
                              is_claude=self.link.is_claude)


class MainScreen(Screen[None]):
    """Sessions, their panes and the sidebar panels."""

    def __init__(self, *, cli_argv: list[str] | None, session_dirs: list[str]) -> None:
        super().__init__()
        self._cli_argv = cli_argv
        self._session_dirs = session_dirs
        self.sessions: dict[str, HostedSession] = {}
        self.history = FocusHistory()
        self.store: Store | None = None
        self.mail: MailLink | None = None
        self.shutting_down = False
        self._pane_numbers = iter(range(1, 1_000_000))
        self.fanout: NotificationFanout | None = None
        self._labelled = False  # panel entries name their session once a second session is listed

    @property
    def tapp(self) -> TaskPingApp:
        return self.app  # type: ignore[return-value]

    @property
    def config(self):  # type: ignore[no-untyped-def]
        return self.tapp.config

    # ------------------------------------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield Vertical(id="panes")
            yield Sidebar(self.config.mail.enabled, self.tapp.config_hint)
        yield Footer()

    async def on_mount(self) -> None:
        self.query_one(Sidebar).display = self.tapp.show_sidebar
        app = self.tapp
        desktop = TerminalNotifier(app)
        self.fanout = NotificationFanout(
            self.config.notify, toast=lambda message, title, severity: app.notify(
                message, title=title, severity=severity),  # type: ignore[arg-type]
            desktop=desktop.notify, show=self._show_record)
        try:
            self.store = open_mail_store(app.store_path)
        except TaskPingError as error:  # one clean message and exit 2, never a traceback with locals
            app.exit(return_code=2, message=describe_error(error))
            return
        recovery = self.store.recovery
        if self.config.mail.enabled:
            try:
                await self._start_mail(self.store)
            except TaskPingError as error:
                app.exit(return_code=2, message=describe_error(error))
                return
        await self._open_start_sessions()
        if self.mail is not None:
            self._show_history(self.mail)
            self.mail.run()
            if recovery.commands_unknown:
                app.notify(f"{len(recovery.commands_unknown)} command(s) were being typed when taskping-tui "
                           "stopped. They are marked unknown: check the agent, then approve or reject them.",
                           severity="warning", timeout=15)
            self.set_interval(self.mail.expiry_interval, self.mail.expire_commands)
        self.set_interval(AGENT_TICK_SECONDS, self._tick_agents)
        self.set_interval(SESSIONS_REFRESH_SECONDS, self.refresh_sessions)

    async def _start_mail(self, store: Store) -> None:
        recovery = store.recovery
        if recovery.outbox_resent:
            self.tapp.notify(f"{len(recovery.outbox_resent)} mail(s) were being sent when taskping-tui stopped; "
                             "they are sent again (a recipient may get one twice).", severity="warning", timeout=10)
        app = self.tapp
        self.mail = MailLink(self.config, store, self, spawn=lambda coro: self.run_worker(coro, group="inject"),
                             session_ended=store.session_is_closed, smtp_ssl_context=app.smtp_ssl_context,
                             imap_ssl_context=app.imap_ssl_context, watcher_timings=app.watcher_timings)
        await self.mail.start(app.resolve_password)
        assert self.fanout is not None
        self.fanout.enqueue = self.mail.enqueue

    def _show_history(self, mail: MailLink) -> None:
        assert self.fanout is not None and self.store is not None
        for row in self.store.pending_outbox():  # mail left unsent by the last run goes out now
            self.fanout.add_left_over(row)
        for inbound in reversed(self.store.list_inbound_mail(limit=100)):
            self.show_inbound(inbound.id)
        # In one go: what needs you first, from the top (no highlight: nothing is new news at start).
        self.show_commands(self.store.list_commands(limit=200))

    # ------------------------------------------------------------------------------------------- sessions

    async def _open_start_sessions(self) -> None:
        assert self.store is not None
        open_rows = self.store.list_sessions()
        plan = plan_start(default_argv=self.tapp.default_argv, cli_argv=self._cli_argv, dirs=self._session_dirs,
                          on_start=self.config.sessions.on_start, has_open=bool(open_rows))
        for row in open_rows:  # listed as offline / resumable unless brought back below
            self._host(row)
        if plan.ask:
            self.app.push_screen(ConfirmDialog(
                "Bring back the last run's sessions?",
                "\n".join(f"{row.number}  {row.name}  ({row.cwd})" for row in open_rows),
                confirm_label="Resume all"), self._answer_resume_question)
            return
        if plan.resume_open:
            for index, row in enumerate(open_rows):
                await self.open_session(self.sessions[row.id], resume=True, focus=index == 0)
        for index, new in enumerate(plan.new):
            await self.new_session(new, focus=index == 0)

    async def _answer_resume_question(self, resume: bool | None) -> None:
        assert self.store is not None
        rows = [session.row for session in self.sessions.values() if not session.opened]
        if resume:
            for index, row in enumerate(rows):
                await self.open_session(self.sessions[row.id], resume=True, focus=index == 0)
        else:
            await self.new_session(NewSession(os.getcwd(), list(self._cli_argv or self.tapp.default_argv)))

    def _host(self, row: SessionRow) -> HostedSession:
        pane = SessionPane(id=f"pane-{next(self._pane_numbers)}", classes="agent-pane",
                            scrollback=self.config.ui.scrollback_lines)
        pane.display = False
        pane.border_title = shlex.join(row.argv)
        pane.border_subtitle = SessionStatus.OFFLINE.value
        session = HostedSession(row, pane)
        self.sessions[row.id] = session
        self.query_one("#panes").mount(pane)
        return session

    async def new_session(self, new: NewSession, *, focus: bool = True) -> HostedSession:
        assert self.store is not None
        name = new.name or default_session_name(new.cwd, (s.row.name for s in self.sessions.values()))
        row = self.store.create_session(name, new.argv, new.cwd)
        session = self._host(row)
        await self.open_session(session, resume=False, focus=focus or self.focused_session is None)
        return session

    async def open_session(self, session: HostedSession, *, resume: bool, focus: bool = False) -> None:
        """Start the session's hook socket and agent (``resume``: continue its last conversation)."""
        row = session.row
        key = row.id
        link = AgentLink(
            row.argv, row.cwd,
            settings=TrackerSettings(silence_seconds=self.config.agent.silence_seconds),
            on_notes=lambda notes: self._on_notes(key, notes),
            on_state_change=lambda _old, new: self._on_agent_state(key, new),
            on_ids_change=lambda ids: self._on_agent_ids(key, ids),
            on_notice=lambda notice: self.app.notify(self._in_session(session, notice), title="No permission mails",
                                                     severity="warning", timeout=20),
            runtime_dir=self.tapp.runtime_dir,
            agent_ids=AgentIds(row.agent_session_id, row.transcript_path),
        )
        session.link = link
        session.opened = True
        plan = await link.open(resume=resume)
        self._on_agent_state(key, AgentState.STARTING)
        if self.mail is not None:
            self.mail.attach(SessionPort(
                key, write=session.pane.write,
                view=lambda: link.agent_view(session.pane) if session.running else None,
                pending_permission=lambda: link.pending_permission, name=lambda: session.row.name,
                context=lambda: link.context))
        if focus or self.focused_session is None:
            self.focus_session(key)
        self._start_pane(session, plan.argv)
        self.refresh_sessions()

    def _start_pane(self, session: HostedSession, argv: list[str], *, waited: int = 0) -> None:
        """Start the agent in its pane; a hidden pane starts at the shown pane's size once that is known."""
        size = self._pane_size()
        if not session.pane.display and size is None and waited < 5:
            self.call_after_refresh(lambda: self._start_pane(session, argv, waited=waited + 1))
            return
        if not session.pane.display and size is None:
            size = self._estimated_pane_size()
        # The agent gets the user's environment without any secret the app read (the mail password).
        env = agent_environment(os.environ, expand_env(self.config.agent.env), self.config.mail,
                                self.mail.secret if self.mail is not None else None)
        session.pane.start(argv, env=env, cwd=session.row.cwd,
                           not_found_hint=install_hint_for(list(session.row.argv)), initial_size=size)

    def _pane_size(self) -> tuple[int, int] | None:
        """(rows, columns) of the shown pane's content, for a pane started while hidden."""
        shown = self.focused_session
        if shown is None or not shown.pane.size.width:
            return None
        return shown.pane.size.height, shown.pane.size.width

    def _estimated_pane_size(self) -> tuple[int, int]:
        sidebar = self.query_one(Sidebar)
        width = self.size.width - (sidebar.outer_size.width if sidebar.display else 0) - 2
        return max(2, self.size.height - 3), max(10, width)

    @property
    def focused_session(self) -> HostedSession | None:
        key = self.history.current
        return self.sessions.get(key) if key is not None else None

    @property
    def ordered(self) -> list[HostedSession]:
        return sorted(self.sessions.values(), key=lambda s: (s.row.number, s.row.created_at))

    def focus_session(self, key: str, *, focus_pane: bool = True) -> None:
        session = self.sessions.get(key)
        if session is None:
            return
        if not session.opened:  # an offline session comes back (resumed) when you go to it
            self.run_worker(self.open_session(session, resume=True, focus=True), group="sessions")
            return
        previous = self.focused_session
        self.history.focus(key)
        session.unread = False
        if previous is not None and previous is not session:
            previous.pane.display = False
        session.pane.display = True
        if focus_pane:
            session.pane.focus()
        self.refresh_sessions()

    def _session_of(self, message: Any) -> HostedSession | None:
        pane = getattr(message, "pane", None)
        return next((s for s in self.sessions.values() if s.pane is pane), None)

    def _in_session(self, session: HostedSession, text: str) -> str:
        """``text`` naming its session, once more than one session is hosted."""
        return f"{session.row.number} {session.row.name}: {text}" if len(self.sessions) > 1 else text

    def session_label(self, session_id: str | None) -> str:
        """How panel entries name their session: only once more than one session is listed."""
        if not self._labelled or session_id is None:
            return ""
        session = self.sessions.get(session_id)
        if session is None:
            row = self.store.get_session(session_id) if self.store is not None else None
            return row.name if row is not None else ""
        return f"{session.row.number} {session.row.name}"

    def refresh_sessions(self) -> None:
        if self.shutting_down:
            return
        if (len(self.sessions) >= 2) != self._labelled:
            self._labelled = len(self.sessions) >= 2
            self._relabel_panels()
        now = time.time()
        entries = []
        for session in self.ordered:
            status = session.status()
            waiting, blocked = self.store.session_command_counts(session.key) if self.store else (0, 0)
            entries.append(SessionEntry(session.key, session.row.number, session.row.name, status.value,
                                        presenters.since(now - session.row.state_since), waiting, blocked,
                                        session is self.focused_session))
        for panel in self.query(SessionsPanel):
            panel.show_sessions(entries)

    def statuses(self) -> dict[str, SessionStatus]:
        return {session.key: session.status() for session in self.sessions.values()}

    # ------------------------------------------------------------------------------------------- agent signals

    def _on_notes(self, key: str, notes: list[Notification]) -> None:
        session = self.sessions.get(key)
        if session is None or self.fanout is None or session.restarting:
            return
        if self.shutting_down:
            return
        for note in notes:
            if note.kind.value in ("turn_finished", "api_error") and session is not self.focused_session:
                session.unread = True
            self.fanout.publish(note, SessionFacts(key, session.row.name, session.row.cwd))
        self.refresh_sessions()

    def _on_agent_state(self, key: str, state: AgentState) -> None:
        session = self.sessions.get(key)
        if session is None:
            return
        if self.store is not None and not self.shutting_down:
            self.store.set_session_agent_state(key, state.value)
            session.row = self.store.get_session(key) or session.row
        session.show_label(state.value)
        if self.mail is not None:
            self.mail.on_agent_state(key, state)
        self.refresh_sessions()

    def _on_agent_ids(self, key: str, ids: AgentIds) -> None:
        session = self.sessions.get(key)
        if self.store is None or session is None:
            return
        session.row = self.store.update_session(key, agent_session_id=ids.session_id,
                                                transcript_path=ids.transcript_path) or session.row

    def _tick_agents(self) -> None:
        if self.shutting_down:
            return
        for session in self.sessions.values():
            if session.link is not None:
                session.link.tick(session.pane)
            if session.pane.scroll_offset != session.scrolled_back:
                session.scrolled_back = session.pane.scroll_offset
                session.show_label(session.link.state.value if session.link and session.link.state else "starting")
        if self.mail is not None:
            self.mail.tick()

    def on_terminal_view_title_changed(self, message: TerminalView.TitleChanged) -> None:
        session = self._session_of(message)
        if session is None:
            return
        session.pane.border_title = message.title or shlex.join(session.row.argv)
        if session.link is not None:
            session.link.on_title(message.title)

    def on_terminal_view_output_activity(self, message: TerminalView.OutputActivity) -> None:
        session = self._session_of(message)
        if session is not None and session.link is not None:
            session.link.on_output(message.nbytes)

    def on_terminal_view_started(self, message: TerminalView.Started) -> None:
        session = self._session_of(message)
        if session is not None and session.link is not None:
            session.restarting = False
            session.start_problem = ""
            session.link.on_started()

    def on_terminal_view_start_failed(self, message: TerminalView.StartFailed) -> None:
        session = self._session_of(message)
        if session is not None:
            session.start_problem = message.reason
            session.show_label(message.reason)

    def on_terminal_view_bell(self, message: TerminalView.Bell) -> None:
        self.app.notify("The agent rang the bell.", title="Bell", timeout=3)

    def on_terminal_view_child_exited(self, message: TerminalView.ChildExited) -> None:
        session = self._session_of(message)
        if session is None or session.link is None:
            return
        typed_last = time.monotonic() - session.pane.last_key_time < USER_EXIT_SECONDS
        plan = session.link.on_exit(message.status, message.signal, user_typed_last=typed_last)
        if plan is None or self.shutting_down:
            return
        if session.restarting:
            plan = session.link.plan_launch(resume=True)
            session.pane.argv = plan.argv
            session.pane.restart()
            return
        session.pane.argv = plan.argv  # a restart (Enter in the pane) is a new Claude Code session

    # ------------------------------------------------------------------------------------------- the command layer

    def open_command_layer(self) -> None:
        """The command key from the pane: the Sessions panel takes focus and the footer lists its keys."""
        self.tapp.show_sidebar = True
        self.call_after_refresh(self._focus_sidebar)

    def _focus_sidebar(self) -> None:
        sidebar = self.query_one(Sidebar)
        panel = next(iter(sidebar.query(SessionsPanel)), None) or sidebar.query_one(Panel)
        panel.focus()
        focused = self.focused_session
        if isinstance(panel, SessionsPanel) and focused is not None:
            panel.highlight(focused.key)

    def action_back_to_pane(self) -> None:
        session = self.focused_session
        if session is not None:
            session.pane.focus()

    def toggle_layer(self) -> None:
        session = self.focused_session
        if session is not None and session.pane.has_focus:
            self.open_command_layer()
        else:
            self.action_back_to_pane()

    def action_focus_number(self, number: int) -> None:
        match = next((s for s in self.ordered if s.row.number == number), None)
        if match is not None:
            self.focus_session(match.key)

    def action_focus_last(self) -> None:
        if self.history.previous is not None:
            self.focus_session(self.history.previous)

    def action_focus_next_needing(self) -> None:
        key = next_needing_you([s.key for s in self.ordered], self.statuses(), self.history.current)
        if key is None:
            self.app.notify("No session needs you right now.", timeout=3)
            return
        self.focus_session(key)

    def on_sessions_panel_selected(self, message: SessionsPanel.Selected) -> None:
        session = self.sessions.get(message.key)
        if session is None:
            return
        self.focus_session(message.key)

    def _highlighted_session(self) -> HostedSession | None:
        panel = next(iter(self.query(SessionsPanel)), None)
        key = panel.highlighted_key if panel is not None and panel.count else None
        return self.sessions.get(key) if key is not None else self.focused_session

    def action_new_session(self) -> None:
        focused = self.focused_session
        directory = focused.row.cwd if focused else os.getcwd()
        command = shlex.join(self.tapp.default_argv)
        self.app.push_screen(SessionDialog(directory, command), self._open_requested)

    async def _open_requested(self, request: SessionRequest | None) -> None:
        if request is not None:
            await self.new_session(NewSession(request.cwd, request.argv, request.name))

    def action_rename_session(self) -> None:
        session = self._highlighted_session()
        if session is None:
            return

        def rename(name: str | None) -> None:
            if name and self.store is not None:
                session.row = self.store.update_session(session.key, name=name) or session.row
                self.refresh_sessions()
        self.app.push_screen(RenameDialog(session.row.name), rename)

    def action_restart_session(self) -> None:
        session = self._highlighted_session()
        if session is None:
            return
        if session.link is None:
            self.run_worker(self.open_session(session, resume=True, focus=True))
        elif session.running:
            session.restarting = True
            session.link.expect_exit()  # ended on purpose: no "Agent exited" mail
            self.run_worker(session.pane.stop())
        else:
            plan = session.link.plan_launch(resume=True)
            session.pane.argv = plan.argv
            session.pane.restart()
        self.focus_session(session.key)

    def action_close_session(self) -> None:
        session = self._highlighted_session()
        if session is None or self.store is None:
            return
        waiting = self.store.pending_commands(session.key)
        lines = [f"Session {session.row.number} “{session.row.name}” in {session.row.cwd}."]
        if session.running:
            lines.append(f"Its agent ({shlex.join(session.row.argv)}, pid {session.pane.pid}) is ended.")
        if waiting:
            lines.append(f"{len(waiting)} command(s) waiting for it are rejected.")
        lines.append("Replies to its mails are rejected from now on and answered with “this session has ended”.")
        if len(self.sessions) == 1:
            lines.append("It is the last session: taskping-tui quits.")
        self.app.push_screen(ConfirmDialog("Close this session?", "\n\n".join(lines), confirm_label="Close",
                                           danger=True),
                             self._close_if_confirmed(session))

    def _close_if_confirmed(self, session: HostedSession) -> Callable[[bool | None], Awaitable[None]]:
        async def close(yes: bool | None) -> None:
            if yes:
                await self.close_session(session)
        return close

    async def close_session(self, session: HostedSession) -> None:
        assert self.store is not None
        self.store.close_session(session.key)
        for command in self.store.pending_commands(session.key):
            updated = self.store.apply_command_event(command.id, CommandEvent.REJECT, note="its session was closed")
            if updated is not None:
                self.show_command(updated)
        if self.mail is not None:
            self.mail.detach(session.key)
        session.restarting = True  # its exit is no news
        if session.link is not None:
            session.link.expect_exit()
        await session.pane.stop()
        if session.link is not None:
            await session.link.close()
        self.sessions.pop(session.key, None)
        self.history.forget(session.key)
        await session.pane.remove()
        if not self.sessions:
            await self.tapp.action_quit(confirm=False)
            return
        nxt = self.focused_session or self.ordered[0]
        self.focus_session(nxt.key, focus_pane=False)
        self.refresh_sessions()

    def action_send_command_key(self) -> None:
        session = self.focused_session
        if session is not None:
            from taskping_tui.terminal.keys import encode_key

            data = encode_key(self.tapp.command_key, None, app_cursor_keys=False)
            if data:
                session.pane.write(data)
            session.pane.focus()

    # ------------------------------------------------------------------------------------------- panels

    def on_notifications_panel_resend_requested(self, message: NotificationsPanel.ResendRequested) -> None:
        if self.mail is not None:
            self.mail.resend(message.outbox_id)

    def on_notifications_panel_revoke_token_requested(
        self, message: NotificationsPanel.RevokeTokenRequested
    ) -> None:
        if self.mail is not None:
            self.mail.revoke_token_of(message.outbox_id)

    def _command(self, command_id: int) -> tuple[MailLink, CommandRow] | None:
        mail = self.mail
        command = mail.command(command_id) if mail is not None else None
        return (mail, command) if mail is not None and command is not None else None

    def on_commands_panel_approve_requested(self, message: CommandsPanel.ApproveRequested) -> None:
        if (found := self._command(message.command_id)) is not None:
            self._approve(*found)

    def on_commands_panel_reject_requested(self, message: CommandsPanel.RejectRequested) -> None:
        if (found := self._command(message.command_id)) is not None:
            mail, command = found
            mail.reject(command)

    def on_commands_panel_edit_requested(self, message: CommandsPanel.EditRequested) -> None:
        if (found := self._command(message.command_id)) is not None:
            mail, command = found
            self.app.push_screen(EditDialog(f"Edit the command from {command.sender}", command.text),
                                 lambda text: self._approve(mail, command, text) if text else None)

    def on_commands_panel_move_requested(self, message: CommandsPanel.MoveRequested) -> None:
        if (found := self._command(message.command_id)) is not None:
            mail, command = found
            mail.move(command, message.offset)

    def on_commands_panel_view_requested(self, message: CommandsPanel.ViewRequested) -> None:
        if (found := self._command(message.command_id)) is not None:
            mail, command = found
            self.app.push_screen(DetailsDialog(f"Command #{command.id}", presenters.command_details(
                command, self.session_label(command.session_id), mail.store.command_edits(command.id))))

    def _approve(self, mail: MailLink, command: CommandRow, text: str | None = None) -> None:
        """Approve at once, or after a confirmation when the command (or what it was edited into) is dangerous."""
        plan = mail.plan_approval(command, text)
        if plan.needs_confirmation:
            self.app.push_screen(ConfirmDialog("Approve a dangerous command?", plan.confirmation_body(),
                                               confirm_label="Approve", danger=True),
                                 lambda yes: self._approve_confirmed(mail, command, plan, yes))
        else:
            mail.approve(command, plan)

    @staticmethod
    def _approve_confirmed(mail: MailLink, command: CommandRow, plan: ApprovalPlan, yes: bool | None) -> None:
        if yes:
            mail.approve(command, plan)

    def on_inbound_panel_open_requested(self, message: InboundPanel.OpenRequested) -> None:
        row = self.store.get_inbound_mail(message.mail_id) if self.store is not None else None
        if row is not None:
            self.app.push_screen(DetailsDialog(f"Mail from {row.sender or '(unknown)'}",
                                               presenters.inbound_details(row)))

    # ------------------------------------------------------------------------------------------- views

    def _relabel_panels(self) -> None:
        """Show every entry again, now with (or without) the name of its session."""
        if self.fanout is not None:
            for record in self.fanout.records:
                self._show_record(record)
        if self.store is not None and self.mail is not None:
            for inbound in reversed(self.store.list_inbound_mail(limit=100)):
                self.show_inbound(inbound.id)
            self.show_commands(self.store.list_commands(limit=200))

    def _show_record(self, record: NotificationRecord) -> None:
        for panel in self.query(NotificationsPanel):  # none left while the app shuts down
            panel.show(presenters.notification_entry(record, self.session_label(record.session_id)))

    def show_inbound(self, mail_id: int) -> None:
        row = self.store.get_inbound_mail(mail_id) if self.store is not None else None
        if row is None:
            return
        for panel in self.query(InboundPanel):
            panel.show(presenters.inbound_entry(row, self.session_label(row.session_id)))

    def _command_entry(self, command: CommandRow):  # type: ignore[no-untyped-def]
        assert self.store is not None
        token_row = self.store.get_token(command.token) if command.token else None
        note = self.mail.waiting_notes.get(command.id, "") if self.mail is not None else ""
        return presenters.command_entry(command, token_row, note, self.session_label(command.session_id))

    def show_command(self, command: CommandRow) -> None:
        for panel in self.query(CommandsPanel):
            panel.show(self._command_entry(command))
        if command.session_id in self.sessions:
            self.refresh_sessions()

    def show_commands(self, commands: list[CommandRow]) -> None:
        for panel in self.query(CommandsPanel):
            panel.show_all([self._command_entry(row) for row in commands])

    def set_inbound_status(self, text: str) -> None:
        for panel in self.query(InboundPanel):
            panel.set_status(text)

    def show_inbound_problem(self, problem: WatcherProblem | None) -> None:
        for panel in self.query(InboundPanel):  # none left while the app shuts down
            if problem is None:
                panel.clear_problem()
            else:
                panel.show_problem(problem.title, problem.reason, problem.fix)

    def outbox_changed(self, row: OutboxRow) -> None:
        if self.fanout is not None:
            self.fanout.outbox_changed(row)

    def toast(self, message: str, *, title: str = "", severity: str = "information",
              timeout: float | None = None) -> None:
        self.app.notify(message, title=title, severity=severity, timeout=timeout)  # type: ignore[arg-type]

    # ------------------------------------------------------------------------------------------- shutdown

    def agents_running(self) -> list[HostedSession]:
        return [session for session in self.sessions.values() if session.running]

    async def shutdown(self) -> None:
        """End every agent and stop every background part; safe to call twice."""
        self.shutting_down = True
        if self.fanout is not None:
            self.fanout.muted = True
        if self.mail is not None:
            await self.mail.stop()
        for session in list(self.sessions.values()):
            await session.pane.stop()
        if self.mail is not None:
            self.mail = None
        for session in list(self.sessions.values()):
            if session.link is not None:
                await session.link.close()
        if self.store is not None:
            self.store.close()
            self.store = None
