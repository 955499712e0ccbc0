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
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer

from taskping_tui.agent.environment import agent_environment
from taskping_tui.agent.install_hints import install_hint_for
from taskping_tui.agent.local_notify import TerminalNotifier
from taskping_tui.agent.state import AgentState
from taskping_tui.config import expand_env
from taskping_tui.core.fanout import NotificationFanout, NotificationRecord
from taskping_tui.core.mail_link import MailLink
from taskping_tui.core.session_host import HostedSession, SessionHost
from taskping_tui.core.sessions import FocusHistory, NewSession, SessionStatus, next_needing_you, plan_start
from taskping_tui.errors import TaskPingError, describe_error
from taskping_tui.mail.watcher_problem import WatcherProblem
from taskping_tui.screens import presenters
from taskping_tui.screens.pane_label import pane_subtitle
from taskping_tui.startup import open_mail_store
from taskping_tui.store import CommandRow, InboundMailRow, OutboxRow, SessionRow, Store
from taskping_tui.terminal.keys import encode_key
from taskping_tui.terminal.view import TerminalView
from taskping_tui.widgets.commands_panel import CommandEntry, CommandsPanel
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
SESSIONS_REFRESH_SECONDS = 1.0


class SessionPane(TerminalView):
    """A session's terminal pane; each message it posts names the pane, so the screen knows whose it is."""

    def post_message(self, message: Message) -> bool:
        message.pane = self  # type: ignore[attr-defined]
        return super().post_message(message)


class MainScreen(Screen[None]):
    """Sessions, their panes and the sidebar panels."""

    def __init__(self, *, cli_argv: list[str] | None, session_dirs: list[str]) -> None:
        super().__init__()
        self._cli_argv = cli_argv
        self._session_dirs = session_dirs
        self.host: SessionHost | None = None
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
            self.config.notify,
            toast=lambda message, title, severity: app.notify(message, title=title, severity=severity),  # type: ignore[arg-type]
            desktop=desktop.notify,
            show=self._show_record,
        )
        try:
            self.store = open_mail_store(app.store_path)
            recovery = self.store.recovery
            if self.config.mail.enabled:
                await self._start_mail(self.store)
        except TaskPingError as error:  # one clean message and exit 2, never a traceback with locals
            app.exit(return_code=2, message=describe_error(error))
            return
        self.host = SessionHost(
            self.config,
            self.store,
            self.fanout,
            self,
            mail=self.mail,
            runtime_dir=app.runtime_dir,
            on_state=self._on_agent_state,
        )
        await self._open_start_sessions(self.host)
        if self.mail is not None:
            self._show_history(self.mail)
            self.mail.run()
            if recovery.commands_unknown:
                app.notify(
                    f"{len(recovery.commands_unknown)} command(s) were being typed when taskping-tui "
                    "stopped. They are marked unknown: check the agent, then approve or reject them.",
                    severity="warning",
                    timeout=15,
                )
            self.set_interval(self.mail.expiry_interval, self.mail.expire_commands)
        self.set_interval(AGENT_TICK_SECONDS, self._tick_agents)
        self.set_interval(SESSIONS_REFRESH_SECONDS, self.refresh_sessions)

    async def _start_mail(self, store: Store) -> None:
        recovery = store.recovery
        if recovery.outbox_resent:
            self.tapp.notify(
                f"{len(recovery.outbox_resent)} mail(s) were being sent when taskping-tui stopped; "
                "they are sent again (a recipient may get one twice).",
                severity="warning",
                timeout=10,
            )
        app = self.tapp
        self.mail = MailLink(
            self.config,
            store,
            self,
            spawn=lambda coro: self.run_worker(coro, group="inject"),
            session_ended=store.session_is_closed,
            smtp_ssl_context=app.smtp_ssl_context,
            imap_ssl_context=app.imap_ssl_context,
            watcher_timings=app.watcher_timings,
        )
        await self.mail.start(app.resolve_password)
        assert self.fanout is not None
        self.fanout.enqueue = self.mail.enqueue

    def _show_history(self, mail: MailLink) -> None:
        assert self.fanout is not None and self.store is not None
        for row in self.store.pending_outbox():  # mail left unsent by the last run goes out now
            self.fanout.add_left_over(row)
        self._show_mail_rows()

    def _show_mail_rows(self) -> None:
        """The recent inbound mail, and the commands in one go: what needs you first, from the top."""
        assert self.store is not None
        for row in reversed(self.store.list_inbound_mail(limit=100)):
            self._show_inbound_row(row)
        self.show_commands(self.store.list_commands(limit=200))

    # ------------------------------------------------------------------------------------------- sessions

    @property
    def sessions(self) -> dict[str, HostedSession]:
        return self.host.sessions if self.host is not None else {}

    @property
    def ordered(self) -> list[HostedSession]:
        return self.host.ordered if self.host is not None else []

    async def _open_start_sessions(self, host: SessionHost) -> None:
        open_rows = host.store.list_sessions()
        plan = plan_start(
            default_argv=self.tapp.default_argv,
            cli_argv=self._cli_argv,
            dirs=self._session_dirs,
            on_start=self.config.sessions.on_start,
            has_open=bool(open_rows),
        )
        for row in open_rows:  # listed as offline / resumable unless brought back below
            host.host(row)
        # Entries name their session once two are listed: decided now, so the panels are drawn once.
        self._labelled = len(open_rows) + (0 if plan.ask else len(plan.new)) >= 2
        if plan.ask:
            self.app.push_screen(
                ConfirmDialog(
                    "Bring back the last run's sessions?",
                    "\n".join(f"{row.number}  {row.name}  ({row.cwd})" for row in open_rows),
                    confirm_label="Resume all",
                ),
                lambda resume: self._answer_resume_question(resume, plan.new),
            )
            return
        if plan.resume_open:
            for row in open_rows:
                await host.open(self.sessions[row.id], resume=True)
        for new in plan.new:
            await self.new_session(new, focus=False)

    async def _answer_resume_question(self, resume: bool | None, instead: list[NewSession]) -> None:
        """Resume the listed sessions, or open the plan's new session (here, the default agent) instead."""
        if self.host is None:
            return
        if resume:
            for session in [s for s in self.ordered if not s.opened]:
                await self.host.open(session, resume=True)
            return
        for new in instead:
            await self.new_session(new)

    async def new_session(self, new: NewSession, *, focus: bool = True) -> HostedSession:
        assert self.host is not None
        session = await self.host.new(new)
        if focus:
            self.focus_session(session.key)
        return session

    # HostView: what the host asks of the screen.

    def new_pane(self, row: SessionRow) -> SessionPane:
        pane = SessionPane(
            id=f"pane-{next(self._pane_numbers)}", classes="agent-pane", scrollback=self.config.ui.scrollback_lines
        )
        pane.display = False
        pane.border_title = shlex.join(row.argv)
        pane.border_subtitle = SessionStatus.OFFLINE.value
        self.query_one("#panes").mount(pane)
        return pane

    def start_pane(self, session: HostedSession, argv: list[str], *, waited: int = 0) -> None:
        """Start the agent in its pane; a hidden pane starts at the shown pane's size once that is known."""
        if self.focused_session is None:
            self.focus_session(session.key)
        size = self._pane_size()
        if not session.pane.display and size is None and waited < 5:
            self.call_after_refresh(lambda: self.start_pane(session, argv, waited=waited + 1))
            return
        if not session.pane.display and size is None:
            size = self._estimated_pane_size()
        # The agent gets the user's environment without any secret the app read (the mail password).
        env = agent_environment(
            os.environ,
            expand_env(self.config.agent.env),
            self.config.mail,
            self.mail.secret if self.mail is not None else None,
        )
        session.pane.start(
            argv,
            env=env,
            cwd=session.row.cwd,
            not_found_hint=install_hint_for(list(session.row.argv)),
            initial_size=size,
        )

    async def drop_pane(self, session: HostedSession) -> None:
        self.history.forget(session.key)
        await session.pane.remove()

    def sessions_changed(self) -> None:
        self.refresh_sessions()

    def is_focused(self, session: HostedSession) -> bool:
        return session is self.focused_session

    def refused(self, session: HostedSession, reason: str) -> None:
        self.app.notify(f"Not opened: {reason}.", title="Session in use", severity="warning", timeout=8)

    def notice(self, session: HostedSession, text: str) -> None:
        """A one-time notice about a session's agent (it runs in a mode that never asks, for one)."""
        named = f"{session.row.number} {session.row.name}: {text}" if len(self.sessions) > 1 else text
        self.app.notify(named, title="No permission mails", severity="warning", timeout=20)

    def _on_agent_state(self, session: HostedSession, state: AgentState) -> None:
        self._show_label(session, state.value)

    @staticmethod
    def _show_label(session: HostedSession, state: str) -> None:
        session.pane.border_subtitle = pane_subtitle(
            state, start_problem=session.start_problem, scroll_offset=session.scrolled_back
        )

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

    # Focus and the Sessions panel.

    @property
    def focused_session(self) -> HostedSession | None:
        key = self.history.current
        return self.sessions.get(key) if key is not None else None

    def focus_session(self, key: str, *, focus_pane: bool = True) -> None:
        session = self.sessions.get(key)
        if session is None or self.host is None:
            return
        if not session.opened:  # an offline session comes back (resumed) when you go to it
            session.opened = True
            self.run_worker(self.host.open(session, resume=True), group="sessions")
        self.history.focus(key)
        session.unread = False
        for other in self.sessions.values():
            if other is not session and other.pane.display:
                other.pane.display = False
        session.pane.display = True
        if focus_pane:
            session.pane.focus()
        self.refresh_sessions()

    def _session_of(self, message: Any) -> HostedSession | None:
        pane = getattr(message, "pane", None)
        return next((s for s in self.sessions.values() if s.pane is pane), None)

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
            entries.append(
                SessionEntry(
                    session.key,
                    session.row.number,
                    session.row.name,
                    status.value,
                    presenters.since(now - session.row.state_since),
                    waiting,
                    blocked,
                    session is self.focused_session,
                )
            )
        for panel in self.query(SessionsPanel):
            panel.show_sessions(entries)

    def statuses(self) -> dict[str, SessionStatus]:
        return self.host.statuses() if self.host is not None else {}

    # ------------------------------------------------------------------------------------------- agent signals

    def _tick_agents(self) -> None:
        if self.shutting_down or self.host is None:
            return
        self.host.tick()
        for session in self.host.sessions.values():
            if session.pane.lines_scrolled_back != session.scrolled_back:
                session.scrolled_back = session.pane.lines_scrolled_back
                state = session.link.state if session.link is not None else None
                self._show_label(session, state.value if state is not None else SessionStatus.OFFLINE.value)
        if self.mail is not None:
            self.mail.tick()

    def on_terminal_view_title_changed(self, message: TerminalView.TitleChanged) -> None:
        session = self._session_of(message)
        if session is not None and self.host is not None:
            session.pane.border_title = message.title or shlex.join(session.row.argv)
            self.host.on_title(session, message.title)

    def on_terminal_view_output_activity(self, message: TerminalView.OutputActivity) -> None:
        session = self._session_of(message)
        if session is not None and self.host is not None:
            self.host.on_output(session, message.nbytes)

    def on_terminal_view_started(self, message: TerminalView.Started) -> None:
        session = self._session_of(message)
        if session is not None and self.host is not None:
            self.host.on_started(session)

    def on_terminal_view_start_failed(self, message: TerminalView.StartFailed) -> None:
        session = self._session_of(message)
        if session is not None:
            session.start_problem = message.reason
            self._show_label(session, message.reason)

    def on_terminal_view_bell(self, message: TerminalView.Bell) -> None:
        self.app.notify("The agent rang the bell.", title="Bell", timeout=3)

    def on_terminal_view_child_exited(self, message: TerminalView.ChildExited) -> None:
        session = self._session_of(message)
        if session is not None and self.host is not None:
            self.host.on_exited(session, message.status, message.signal)

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
        host = self.host
        if session is None or host is None:
            return

        def rename(name: str | None) -> None:
            if name:
                host.rename(session, name)

        self.app.push_screen(RenameDialog(session.row.name), rename)

    def action_restart_session(self) -> None:
        session = self._highlighted_session()
        if session is None or self.host is None:
            return
        session.opened = True  # focusing it below must not open it a second time
        self.run_worker(self.host.restart(session), group="sessions")
        self.focus_session(session.key)

    def action_close_session(self) -> None:
        session = self._highlighted_session()
        if session is None or self.host is None:
            return
        self.app.push_screen(
            ConfirmDialog(
                "Close this session?",
                "\n\n".join(self.host.closing_summary(session)),
                confirm_label="Close",
                danger=True,
            ),
            self._close_if_confirmed(session),
        )

    def _close_if_confirmed(self, session: HostedSession) -> Callable[[bool | None], Awaitable[None]]:
        async def close(yes: bool | None) -> None:
            if yes:
                await self.close_session(session)

        return close

    async def close_session(self, session: HostedSession) -> None:
        assert self.host is not None
        for command in await self.host.close(session):
            self.show_command(command)
        if not self.sessions:
            await self.tapp.action_quit(confirm=False)
            return
        self.focus_session((self.focused_session or self.ordered[0]).key, focus_pane=False)

    def action_send_command_key(self) -> None:
        session = self.focused_session
        if session is not None:
            data = encode_key(self.tapp.command_key, None, app_cursor_keys=False)
            if data:
                session.pane.write(data)
            session.pane.focus()

    # ------------------------------------------------------------------------------------------- panels

    def on_notifications_panel_resend_requested(self, message: NotificationsPanel.ResendRequested) -> None:
        if self.mail is not None:
            self.mail.resend(message.outbox_id)

    def on_notifications_panel_revoke_token_requested(self, message: NotificationsPanel.RevokeTokenRequested) -> None:
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
        if (found := self._command(message.command_id)) is None:
            return
        mail, command = found

        def approve_edited(text: str | None) -> None:
            if text:
                self._approve(mail, command, text)

        self.app.push_screen(EditDialog(f"Edit the command from {command.sender}", command.text), approve_edited)

    def on_commands_panel_move_requested(self, message: CommandsPanel.MoveRequested) -> None:
        if (found := self._command(message.command_id)) is not None:
            mail, command = found
            mail.move(command, message.offset)

    def on_commands_panel_view_requested(self, message: CommandsPanel.ViewRequested) -> None:
        if (found := self._command(message.command_id)) is not None:
            mail, command = found
            sections = presenters.command_details(
                command, self.session_label(command.session_id), mail.store.command_edits(command.id)
            )
            self.app.push_screen(DetailsDialog(f"Command #{command.id}", sections))

    def _approve(self, mail: MailLink, command: CommandRow, text: str | None = None) -> None:
        """Approve at once, or after a confirmation when the command (or what it was edited into) is dangerous."""
        plan = mail.plan_approval(command, text)
        if not plan.needs_confirmation:
            mail.approve(command, plan)
            return

        def approve_confirmed(yes: bool | None) -> None:
            if yes:
                mail.approve(command, plan)

        self.app.push_screen(
            ConfirmDialog(
                "Approve a dangerous command?", plan.confirmation_body(), confirm_label="Approve", danger=True
            ),
            approve_confirmed,
        )

    def on_inbound_panel_open_requested(self, message: InboundPanel.OpenRequested) -> None:
        row = self.store.get_inbound_mail(message.mail_id) if self.store is not None else None
        if row is not None:
            self.app.push_screen(
                DetailsDialog(f"Mail from {row.sender or '(unknown)'}", presenters.inbound_details(row))
            )

    # ------------------------------------------------------------------------------------------- views

    def _relabel_panels(self) -> None:
        """Show every entry again, now with (or without) the name of its session."""
        if self.fanout is not None:
            for record in self.fanout.records:
                self._show_record(record)
        if self.store is not None and self.mail is not None:
            self._show_mail_rows()

    def _show_record(self, record: NotificationRecord) -> None:
        for panel in self.query(NotificationsPanel):  # none left while the app shuts down
            panel.show(presenters.notification_entry(record, self.session_label(record.session_id)))

    def show_inbound(self, mail_id: int) -> None:
        row = self.store.get_inbound_mail(mail_id) if self.store is not None else None
        if row is not None:
            self._show_inbound_row(row)

    def _show_inbound_row(self, row: InboundMailRow) -> None:
        for panel in self.query(InboundPanel):
            panel.show(presenters.inbound_entry(row, self.session_label(row.session_id)))

    def _command_entry(self, command: CommandRow) -> CommandEntry:
        assert self.store is not None
        token_row = self.store.get_token(command.token) if command.token else None
        note = self.mail.waiting_notes.get(command.id, "") if self.mail is not None else ""
        session = self.sessions.get(command.session_id or "")
        if command.state == "approved" and session is not None and not session.running:
            note = f"waiting: session {session.row.number} is not running ({self.tapp.command_key.upper()}, then R)"
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

    def toast(
        self, message: str, *, title: str = "", severity: str = "information", timeout: float | None = None
    ) -> None:
        self.app.notify(message, title=title, severity=severity, timeout=timeout)  # type: ignore[arg-type]

    # ------------------------------------------------------------------------------------------- shutdown

    def agents_running(self) -> list[HostedSession]:
        return self.host.running() if self.host is not None else []

    async def shutdown(self) -> None:
        """End every agent and stop every background part; safe to call twice."""
        self.shutting_down = True
        if self.fanout is not None:
            self.fanout.muted = True
        if self.mail is not None:
            await self.mail.stop()
            self.mail = None
        if self.host is not None:
            await self.host.shutdown()
        if self.store is not None:
            self.store.close()
            self.store = None
