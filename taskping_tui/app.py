"""The Textual app: wires the terminal pane, the agent, mail and the sidebar panels together.

This is the only module that knows all the parts; each part talks up with messages or callbacks and
is driven down with method calls.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import shlex
import ssl
import time
import uuid
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.screen import Screen
from textual.theme import Theme
from textual.timer import Timer
from textual.widgets import Footer

from taskping_tui import paths
from taskping_tui.agent.environment import agent_environment
from taskping_tui.agent.events import HookEvent
from taskping_tui.agent.hooks import InstanceDir, LaunchPlan, plan_agent_launch
from taskping_tui.agent.install_hints import install_hint_for
from taskping_tui.agent.local_notify import TerminalNotifier
from taskping_tui.agent.permission_mode import PermissionModeWatch
from taskping_tui.agent.screen_hints import (
    claude_prompt_text,
    cursor_at_prompt,
    permission_dialog_visible,
    permission_options,
)
from taskping_tui.agent.socket_server import HookSocketServer
from taskping_tui.agent.state import (
    AgentState,
    AgentTracker,
    Notification,
    TrackerSettings,
)
from taskping_tui.config import Config, expand_env
from taskping_tui.config.writer import ConfigWriteError, update_config_file
from taskping_tui.errors import TaskPingError, describe_error
from taskping_tui.inbound.command_edit import ApprovalPlan, command_history_rows, plan_approval
from taskping_tui.inbound.commands import CommandEvent
from taskping_tui.inbound.injector import AgentView, Injector
from taskping_tui.inbound.processor import InboundProcessor, PendingPermission, ProcessedMail, dangerous_permission
from taskping_tui.mail.compose import NotificationFacts
from taskping_tui.mail.outbox import Outbox
from taskping_tui.mail.password import PasswordError, Secret, resolve_password, resolve_secret
from taskping_tui.mail.sender import SmtpSender
from taskping_tui.mail.watcher import (
    FetchedMail,
    MailWatcher,
    WatcherStatus,
    WatcherTimings,
)
from taskping_tui.mail.watcher_problem import WatcherProblem, no_password_problem, watcher_problem
from taskping_tui.pane_label import pane_subtitle
from taskping_tui.permission_followup import DeniedPermissionFollowUp
from taskping_tui.quit_guard import QuitFacts, quit_question
from taskping_tui.startup import open_mail_store
from taskping_tui.store import CommandRow, InboundMailRow, OutboxRow, Store
from taskping_tui.terminal.driver import driver_class
from taskping_tui.terminal.view import TerminalView
from taskping_tui.themes import DEFAULT_THEME, load_all_themes
from taskping_tui.widgets.commands_panel import CommandEntry, CommandsPanel
from taskping_tui.widgets.confirm_dialog import ConfirmDialog
from taskping_tui.widgets.details_dialog import DetailsDialog
from taskping_tui.widgets.edit_dialog import EditDialog
from taskping_tui.widgets.inbound_panel import InboundEntry, InboundPanel
from taskping_tui.widgets.notifications_panel import NotificationEntry, NotificationsPanel
from taskping_tui.widgets.panel import Panel
from taskping_tui.widgets.sidebar import Sidebar

logger = logging.getLogger(__name__)

# Moves focus between the pane and the sidebar. Claude Code uses Esc, Esc Esc, Ctrl+C/D/R/O/T/B/V/G/S/_
# and Shift+Tab; shells and editors use the Ctrl and Alt letters. No common TUI binds F6.
SWITCH_KEY = "f6"
AGENT_TICK_SECONDS = 0.25
THEME_SAVE_DELAY = 1.0
# A non-Claude agent that exits (code 0) this soon after a key in the pane was left on purpose (exit, Ctrl+D).
USER_EXIT_SECONDS = 3.0

KIND_TITLES = {
    "turn_finished": "Turn finished",
    "needs_permission": "Needs permission",
    "api_error": "API error",
    "exited": "Agent exited",
}


def agent_argv_from(config: Config, cli_argv: list[str] | None) -> list[str]:
    if cli_argv:
        return list(cli_argv)
    return [config.agent.command, *config.agent.args]


def facts_from(note: Notification, session_id: str) -> NotificationFacts:
    return NotificationFacts(
        kind=note.kind.value,
        summary=note.summary,
        session_id=note.session_id or session_id,
        cwd=note.cwd or "",
        prompt=note.prompt or "",
        last_assistant_message=note.last_assistant_message or "",
        tool_name=note.tool_name or "",
        tool_input=note.tool_input,
        error=note.error or "",
        time=note.when,
    )


def mail_status(row: OutboxRow) -> tuple[str, str]:
    """(state, detail) of an outbox row, worded for the Notifications panel."""
    state = str(row.state)
    if state == "sent" and row.sent_at is not None:
        detail = datetime.fromtimestamp(row.sent_at).strftime("%H:%M:%S")
        return state, f"{detail} — {row.warning}" if row.warning else detail
    if state == "retrying":
        at = datetime.fromtimestamp(row.next_try_at).strftime("%H:%M:%S")
        return state, f"next try {at}: {row.last_error}"
    if state == "failed":
        return state, f"{row.last_error} (r to resend)"
    return state, ""


def age(seconds: float) -> str:
    """A short age: 45s, 12m, 3h, 2d."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{max(0, int(seconds))}s"


def inbound_entry(row: InboundMailRow) -> InboundEntry:
    return InboundEntry(row.id, datetime.fromtimestamp(row.received_at), row.sender or "(unknown sender)",
                        row.subject, str(row.verdict), "; ".join(row.reasons))


def inbound_details(row: InboundMailRow) -> list[tuple[str, str]]:
    headers = "\n".join(f"{name}: {value}" for name, value in row.headers.items())
    return [
        ("Verdict", f"{row.verdict}" + "".join(f"\n  - {reason}" for reason in row.reasons)),
        ("From", row.sender),
        ("Subject", row.subject),
        ("Token", row.token or "(none)"),
        ("Extracted command", row.command or "(none)"),
        ("Headers that mattered", headers),
        ("Text part", row.raw_text),
    ]


class TaskPingApp(App[int]):
    """Claude Code (or any agent) in a terminal pane, with notifications, inbound mail and commands."""

    TITLE = "taskping-tui"
    CSS_PATH = "styles/app.tcss"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding(SWITCH_KEY, "switch_focus", "Pane ⇄ sidebar", priority=True),
        # Not priority: while the pane has focus Ctrl+P belongs to the agent (shell history, vim…).
        Binding("ctrl+p", "command_palette", "Commands", show=False),
        # Textual binds Ctrl+Q with priority; here it is not, so it reaches the agent while the pane has focus.
        Binding("ctrl+q", "quit", "Quit", show=False),
    ]

    show_sidebar: reactive[bool] = reactive(True)
    agent_state: reactive[str] = reactive(AgentState.STARTING.value)

    def __init__(
        self,
        config: Config,
        agent_argv: list[str] | None = None,
        *,
        store_path: Path | None = None,
        runtime_dir: Path | None = None,
        smtp_ssl_context: ssl.SSLContext | None = None,
        imap_ssl_context: ssl.SSLContext | None = None,
        watcher_timings: WatcherTimings | None = None,
    ) -> None:
        # A driver that hands a bare Esc to the pane at once: Claude Code interrupts a turn with it.
        super().__init__(driver_class=driver_class())
        self.config = config
        self.agent_argv = agent_argv_from(config, agent_argv)
        self.set_reactive(TaskPingApp.show_sidebar, config.ui.show_sidebar)
        self._store_path = store_path
        self._runtime_dir = runtime_dir
        self._smtp_ssl_context = smtp_ssl_context
        self._imap_ssl_context = imap_ssl_context
        self._watcher_timings = watcher_timings
        self.watcher: MailWatcher | None = None
        self.injector: Injector | None = None
        self._processor: InboundProcessor | None = None
        self._pending_permission: PendingPermission | None = None
        self._watcher_problem: WatcherProblem | None = None
        self._mode_watch = PermissionModeWatch()
        self._denial = DeniedPermissionFollowUp()
        self._start_problem = ""  # why the agent is not running ("command not found"), for the pane's label
        self._pane_scroll = 0
        self._waiting_notes: dict[int, str] = {}
        self._injecting = False
        self._theme_save_timer: Timer | None = None
        self._saved_theme = ""
        self._shutting_down = False
        self._pane: TerminalView | None = None
        self._instance: InstanceDir | None = None
        self._hook_server: HookSocketServer | None = None
        self._plan: LaunchPlan | None = None
        self._tracker: AgentTracker | None = None
        self._session_id = str(uuid.uuid4())
        # Every agent session this app has hosted: replies to any of them are typed into this pane.
        self._session_ids: set[str] = set()
        self.store: Store | None = None
        self._mail_secret: Secret | None = None  # never a bare str: tracebacks print locals
        self.outbox: Outbox | None = None
        self._desktop = TerminalNotifier(self)
        self._entry_ids = itertools.count(1)
        self._entries: dict[str, NotificationEntry] = {}
        self._entries_by_outbox: dict[int, list[str]] = {}

    @property
    def config_hint(self) -> str:
        return paths.display_path(self.config.path or paths.default_config_path())

    @property
    def pane(self) -> TerminalView:
        # Kept after mount: timers and workers may still ask for it while the app tears its screen down.
        if self._pane is None:
            self._pane = self.query_one(TerminalView)
        return self._pane

    @property
    def tracker(self) -> AgentTracker | None:
        return self._tracker

    # ---------------------------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield TerminalView(id="pane", scrollback=self.config.ui.scrollback_lines)
            yield Sidebar(self.config.mail.enabled, self.config_hint)
        yield Footer()

    async def on_mount(self) -> None:
        self._register_themes()
        self._apply_theme(self.config.ui.theme)
        self._saved_theme = self.theme
        self.theme_changed_signal.subscribe(self, self._on_theme_changed)
        self.pane.border_title = shlex.join(self.agent_argv)
        self.pane.focus()
        self.query_one(Sidebar).display = self.show_sidebar
        await self._start_agent_link()
        if self.config.mail.enabled and not await self._start_mail():
            return  # exiting with the reason (see _start_mail)
        self.set_interval(AGENT_TICK_SECONDS, self._tick_agent)
        self.call_after_refresh(self._start_agent)

    def _register_themes(self) -> None:
        loaded = load_all_themes()
        for theme in loaded.themes:
            self.register_theme(theme)
        for error in loaded.errors:
            self.notify(f"{error} — theme skipped.", title="Broken theme", severity="warning", timeout=10)

    def _apply_theme(self, name: str) -> None:
        fallback = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else "textual-dark"
        if name not in self.available_themes:
            self.notify(f"Theme {name!r} not found; using {fallback!r}.", severity="warning")
            name = fallback
        self.theme = name

    def _on_theme_changed(self, theme: Theme) -> None:
        # The palette's theme picker previews every theme it passes: save once the choice settles.
        # Textual also announces the start-up theme: that one is already in the config.
        if theme.name == self._saved_theme and self._theme_save_timer is None:
            return
        if self._theme_save_timer is not None:
            self._theme_save_timer.stop()
        self._theme_save_timer = self.set_timer(THEME_SAVE_DELAY, lambda: self._save_theme(theme.name))

    def _save_theme(self, name: str) -> None:
        self._theme_save_timer = None
        if name == self._saved_theme:
            return
        self._saved_theme = name
        path = self.config.path or paths.default_config_path()
        try:
            result = update_config_file(path, [("ui", "theme", name)])
        except (ConfigWriteError, OSError) as error:
            self.notify(f"Theme not saved: {error}", severity="warning")
            return
        note = "" if result.comments_kept else " (the file was rewritten; its comments could not be kept)"
        self.notify(f"Theme {name!r} saved to {path}{note}.", timeout=3)

    # ---------------------------------------------------------------------------------- agent

    async def _start_agent_link(self) -> None:
        """Hooks socket + tracker; the launch plan adds our --settings and --session-id for Claude Code."""
        self._instance = InstanceDir.create(self._runtime_dir)
        self._plan = plan_agent_launch(self.agent_argv, self._instance)
        self._session_id = self._plan.session_id or self._session_id
        self._session_ids.add(self._session_id)
        self._hook_server = HookSocketServer(self._instance.socket_path, self._on_hook_event)
        await self._hook_server.start()
        self._new_tracker()

    def _new_tracker(self) -> None:
        assert self._plan is not None
        self._tracker = AgentTracker(
            is_claude=self._plan.is_claude,
            settings=TrackerSettings(silence_seconds=self.config.agent.silence_seconds),
            on_state_change=self._on_agent_state_change,
            session_id=self._session_id,
            cwd=os.getcwd(),
        )
        self.agent_state = self._tracker.state.value

    def _start_agent(self) -> None:
        argv = self._plan.argv if self._plan else self.agent_argv
        env = agent_environment(os.environ, expand_env(self.config.agent.env), self.config.mail, self._mail_secret)
        self.pane.start(argv, env=env, cwd=os.getcwd(),  # a None value unsets a secret
                        not_found_hint=install_hint_for(self.agent_argv))

    def _on_hook_event(self, event: HookEvent) -> None:
        if event.session_id:  # with -c / -r Claude Code picks the session id itself
            self._session_ids.add(event.session_id)
        self._show_mode_notice(self._mode_watch.on_hook(event))
        if self._tracker is not None:
            self._handle(self._tracker.on_hook(event))

    def _on_agent_state_change(self, old: AgentState, new: AgentState) -> None:
        self.agent_state = new.value
        follow_up = self._denial.on_state(new)
        if follow_up is not None and self.outbox is not None:
            self.outbox.enqueue(follow_up)
        if new is not AgentState.WAITING:
            self._pending_permission = None

    def watch_agent_state(self, state: str) -> None:
        self._update_pane_subtitle()

    def _update_pane_subtitle(self) -> None:
        if self.is_mounted:
            self.pane.border_subtitle = pane_subtitle(self.agent_state, start_problem=self._start_problem,
                                                      scroll_offset=self._pane_scroll)

    def _screen_lines(self) -> list[str]:
        return list(self.pane.terminal_screen.display)

    def _tick_agent(self) -> None:
        tracker = self._tracker
        if tracker is None or self._shutting_down:
            return
        if self.pane.scroll_offset != self._pane_scroll:
            self._pane_scroll = self.pane.scroll_offset
            self._update_pane_subtitle()
        if tracker.state is not AgentState.EXITED:
            self._tick_tracker(tracker)
            if tracker.is_claude and self._mode_watch.wants_screen:
                self._show_mode_notice(self._mode_watch.on_screen(self._screen_lines()))
        self._start_injection_step()

    def _show_mode_notice(self, notice: str | None) -> None:
        if notice:
            self.notify(notice, title="No permission mails", severity="warning", timeout=20)

    def _tick_tracker(self, tracker: AgentTracker) -> None:
        lines: list[str] | None = None
        dialog: bool | None = None
        if tracker.state is AgentState.WAITING:
            lines = self._screen_lines()
            dialog = permission_dialog_visible(lines)
        at_prompt = False
        excerpt: str | None = None
        if not tracker.is_claude:
            screen = self.pane.terminal_screen
            lines = lines or self._screen_lines()
            at_prompt = cursor_at_prompt(lines, screen.cursor.y, screen.cursor.x)
            excerpt = "\n".join(line.rstrip() for line in lines if line.strip())[-2000:]
        self._handle(tracker.tick(cursor_at_prompt=at_prompt, screen_excerpt=excerpt,
                                  permission_dialog_visible=dialog))

    def _start_injection_step(self) -> None:
        if self.injector is None or self._injecting or self._shutting_down:
            return
        if self.injector.next_command() is None:  # the common case: nothing to type, no screen reading
            return
        self._injecting = True
        self.run_worker(self._inject_step(), group="inject", exclusive=False)

    def on_terminal_view_title_changed(self, message: TerminalView.TitleChanged) -> None:
        self.pane.border_title = message.title or shlex.join(self.agent_argv)
        if self._tracker is not None:
            self._handle(self._tracker.on_title(message.title))

    def on_terminal_view_output_activity(self, message: TerminalView.OutputActivity) -> None:
        if self._tracker is not None:
            self._handle(self._tracker.on_output(message.nbytes))

    def on_terminal_view_start_failed(self, message: TerminalView.StartFailed) -> None:
        self._start_problem = message.reason
        self._update_pane_subtitle()

    def on_terminal_view_started(self, message: TerminalView.Started) -> None:
        self._start_problem = ""
        self._update_pane_subtitle()
        if self._tracker is not None and self._tracker.state is AgentState.EXITED:
            self._new_tracker()

    def on_terminal_view_bell(self, message: TerminalView.Bell) -> None:
        self.notify("The agent rang the bell.", title="Bell", timeout=3)

    def on_terminal_view_child_exited(self, message: TerminalView.ChildExited) -> None:
        if self._tracker is not None:
            code = message.status if message.status is not None else (
                -message.signal if message.signal is not None else None)
            typed_last = time.monotonic() - self.pane.last_key_time < USER_EXIT_SECONDS
            self._handle(self._tracker.on_exit(code, user_typed_last=typed_last))
        if self._instance is not None and not self._shutting_down:
            # A restart is a new Claude Code session: it needs a session id of its own.
            self._plan = plan_agent_launch(self.agent_argv, self._instance)
            self._session_id = self._plan.session_id or str(uuid.uuid4())
            self._session_ids.add(self._session_id)
            self.pane.argv = self._plan.argv

    # ---------------------------------------------------------------------------------- notifications

    def _handle(self, notes: list[Notification]) -> None:
        for note in notes:
            self._record_notification(note)

    def _record_notification(self, note: Notification) -> None:
        if self._shutting_down:  # the user quit: "agent exited" is no news to them
            return
        if note.kind.value == "needs_permission":
            self._pending_permission = PendingPermission(note.tool_name or "", note.tool_input)
        key = f"n{next(self._entry_ids)}"
        entry = NotificationEntry(key, note.when, note.kind.value, note.summary)
        title = KIND_TITLES.get(note.kind.value, note.kind.value)
        if self.config.notify.toast:
            severity = "warning" if note.kind.value in ("needs_permission", "api_error") else "information"
            self.notify(note.summary, title=title, severity=severity)
        if self.config.notify.desktop:
            self._desktop.notify(f"taskping-tui: {title}", note.summary)
        if self.outbox is not None:
            row = self.outbox.enqueue(facts_from(note, self._session_id))
            self._entries_by_outbox.setdefault(row.id, []).append(key)
            state, detail = mail_status(row)
            entry = NotificationEntry(key, entry.time, entry.kind, entry.summary, state, detail, row.id)
        self._show_entry(entry)

    def _show_entry(self, entry: NotificationEntry) -> None:
        self._entries[entry.key] = entry
        if not self.config.notify.panel:
            return
        for panel in self.query(NotificationsPanel):  # none left while the app shuts down
            panel.show(entry)

    @property
    def notification_entries(self) -> list[NotificationEntry]:
        return list(self._entries.values())

    # ---------------------------------------------------------------------------------- mail

    async def _start_mail(self) -> bool:
        """Store, outbox, processor and watcher; False when start-up cannot go on (the app exits with why)."""
        try:
            self.store = open_mail_store(self._store_path)
            self._processor = InboundProcessor(self.store, self.config,
                                               pending_permission=lambda: self._pending_permission)
        except TaskPingError as error:  # one clean message and exit 2, never a traceback with locals
            self.exit(return_code=2, message=describe_error(error))
            return False
        recovery = self.store.recovery
        if recovery.outbox_resent:
            self.notify(f"{len(recovery.outbox_resent)} mail(s) were being sent when taskping-tui stopped; "
                        "they are sent again (a recipient may get one twice).", severity="warning", timeout=10)
        password_error = ""
        try:
            self._mail_secret = secret = await self._resolve_password()
        except PasswordError as error:
            self.notify(str(error), title="Mail password", severity="error", timeout=15)
            secret, password_error = None, str(error)
        sender = SmtpSender(self.config.mail, ssl_context=self._smtp_ssl_context,
                            password_resolver=(lambda _mail: secret.reveal()) if secret is not None else resolve_password)
        self.outbox = Outbox(self.store, self.config.mail, sender=sender)
        self.outbox.add_listener(self._on_outbox_row)
        self.injector = Injector(self.store, self.pane.write, sessions=lambda: self._session_ids)
        self._show_history()
        self.outbox.start()
        if recovery.commands_unknown:
            self.notify(f"{len(recovery.commands_unknown)} command(s) were being typed when taskping-tui stopped. "
                        "They are marked unknown: check the agent, then approve or reject them.",
                        severity="warning", timeout=15)
        ttl_seconds = self.config.security.command_ttl_minutes * 60
        self.set_interval(min(30.0, max(0.5, ttl_seconds / 4)), self._expire_commands)
        if secret is None:
            problem = no_password_problem(password_error)
            for panel in self.query(InboundPanel):
                panel.show_problem(problem.title, problem.reason, problem.fix)
        else:
            self.watcher = MailWatcher(self.config.mail.imap, self.config.mail.login, secret.reveal(), self.store,
                                       self._on_mail, on_status=self._on_watcher_status,
                                       timings=self._watcher_timings, ssl_context=self._imap_ssl_context)
            self.watcher.start()
        return True

    async def _resolve_password(self) -> Secret:
        return await asyncio.to_thread(resolve_secret, self.config.mail)

    def _on_outbox_row(self, row: OutboxRow) -> None:
        state, detail = mail_status(row)
        for key in self._entries_by_outbox.get(row.id, []):
            old = self._entries.get(key)
            if old is not None:
                self._show_entry(NotificationEntry(old.key, old.time, old.kind, old.summary, state, detail, row.id))

    def on_notifications_panel_resend_requested(self, message: NotificationsPanel.ResendRequested) -> None:
        if self.outbox is None:
            return
        if self.outbox.resend(message.outbox_id) is None:
            self.notify("Only a failed mail can be sent again.", severity="warning")

    def on_notifications_panel_revoke_token_requested(
        self, message: NotificationsPanel.RevokeTokenRequested
    ) -> None:
        if self.store is None:
            return
        row = self.store.get_outbox(message.outbox_id)
        if row is not None and self.store.revoke_token(row.token):
            self.notify(f"Token #{row.token} revoked: replies carrying it are rejected from now on.")

    # ---------------------------------------------------------------------------------- inbound & commands

    def _show_history(self) -> None:
        assert self.store is not None
        # Mail left unsent by the last run goes out now: show it with the rest.
        for row in self.store.pending_outbox():
            key = f"o{row.id}"
            self._entries_by_outbox.setdefault(row.id, []).append(key)
            self._show_entry(NotificationEntry(key, datetime.fromtimestamp(row.created_at), row.kind,
                                               f"(from the last run) {row.subject}", *mail_status(row), row.id))
        for row in reversed(self.store.list_inbound_mail(limit=100)):
            self.query_one(InboundPanel).show(inbound_entry(row))
        # In one go: what needs you first, from the top (no highlight: nothing is new news at start).
        self.query_one(CommandsPanel).show_all([self._command_entry(row) for row in self.store.list_commands(limit=200)])

    async def _on_mail(self, mail: FetchedMail) -> None:
        """The watcher's handler: commit the outcome (the watcher marks the mail \\Seen afterwards)."""
        assert self._processor is not None and self.watcher is not None and self.store is not None
        processed = self._processor.process(mail, self.watcher.mailbox_key)
        if processed is None:
            return
        self._show_processed(processed)

    def _show_processed(self, processed: ProcessedMail) -> None:
        assert self.store is not None
        row = self.store.get_inbound_mail(processed.recorded.mail_id)
        if row is not None:
            self.query_one(InboundPanel).show(inbound_entry(row))
        if processed.recorded.command_id is not None:
            command = self.store.get_command(processed.recorded.command_id)
            if command is not None:
                self._show_command(command)
                if command.state == "approved":
                    self._start_injection_step()  # don't wait for the next tick
                if command.state in ("blocked", "queued"):
                    self.notify(f"{command.sender}: {command.text}", title="Command waits for your approval",
                                severity="warning", timeout=8)

    def _on_watcher_status(self, status: WatcherStatus) -> None:
        problem = watcher_problem(status, self.config.mail)
        for panel in self.query(InboundPanel):  # none left while the app shuts down
            if problem is None:
                panel.clear_problem()
                panel.set_status(status.text)
            else:
                panel.show_problem(problem.title, problem.reason, problem.fix)
        if problem is not None and problem != self._watcher_problem:
            self.notify(f"{problem.reason}\nFix: {problem.fix}", title=problem.title, severity="error", timeout=20)
        self._watcher_problem = problem

    def _command_entry(self, command: CommandRow) -> CommandEntry:
        assert self.store is not None
        token_row = self.store.get_token(command.token) if command.token else None
        token_age = age(time.time() - token_row.created_at) if token_row else "—"
        note = self._waiting_notes.get(command.id, "") if command.state == "approved" else command.note
        return CommandEntry(command.id, command.state, command.sender, token_age,
                            command.auth_result or "auth not checked", command.text,
                            command.danger_pattern or "", note, command.position, command.updated_at)

    def _show_command(self, command: CommandRow) -> None:
        self.query_one(CommandsPanel).show(self._command_entry(command))

    async def _inject_step(self) -> None:
        try:
            if self.injector is None or self._tracker is None:
                return
            step = await self.injector.step(self._agent_view())
            command = step.command
            if command is None or step.plan is None:
                return
            if step.plan.action == "wait":
                if self._waiting_notes.get(command.id) != f"waiting: {step.plan.reason}":
                    self._waiting_notes[command.id] = f"waiting: {step.plan.reason}"
                    self._show_command(command)
                return
            self._waiting_notes.pop(command.id, None)
            self._show_command(command)
            if command.state == "injected":
                self._after_injection(command)
                pending = self._pending_permission
                self._denial.answered(command, step.plan.action, tool_name=pending.tool_name if pending else "",
                                      cwd=self._tracker.cwd or "", prompt=self._tracker.last_prompt or "")
        finally:
            self._injecting = False

    def _agent_view(self) -> AgentView:
        assert self._tracker is not None
        screen = self.pane.terminal_screen
        lines = self._screen_lines()
        if self._tracker.is_claude:
            prompt = claude_prompt_text(lines, [screen.buffer[y] for y in range(len(lines))])
        else:
            prompt = "" if cursor_at_prompt(lines, screen.cursor.y, screen.cursor.x) else None
        return AgentView(
            state=self._tracker.state.value,
            prompt_text=prompt,
            dialog_options=permission_options(lines) if self._tracker.state is AgentState.WAITING else {},
            seconds_since_key=time.monotonic() - self.pane.last_key_time,
            bracketed_paste=screen.bracketed_paste,
        )

    def _after_injection(self, command: CommandRow) -> None:
        self.notify(command.text, title="Command typed into the agent", timeout=4)
        if self.outbox is not None and self.config.mail.send_confirmation and command.session_id:
            self.outbox.enqueue(NotificationFacts(kind="command_received", summary=f"Received: {command.text}",
                                                  session_id=command.session_id, prompt=command.text))

    def _expire_commands(self) -> None:
        if self.store is None:
            return
        for command in self.store.expire_commands(self.config.security.command_ttl_minutes * 60):
            self._show_command(command)
            if self.outbox is not None and command.session_id:
                self.outbox.enqueue(NotificationFacts(
                    kind="command_expired", summary=f"Expired without being typed: {command.text}",
                    session_id=command.session_id, prompt=command.text))

    def _command_for(self, command_id: int) -> CommandRow | None:
        return self.store.get_command(command_id) if self.store is not None else None

    def on_commands_panel_approve_requested(self, message: CommandsPanel.ApproveRequested) -> None:
        if (command := self._command_for(message.command_id)) is not None:
            self._approve(command)

    def on_commands_panel_reject_requested(self, message: CommandsPanel.RejectRequested) -> None:
        if (command := self._command_for(message.command_id)) is not None:
            self._apply(command, CommandEvent.REJECT, note="rejected at the keyboard")

    def on_commands_panel_edit_requested(self, message: CommandsPanel.EditRequested) -> None:
        if (command := self._command_for(message.command_id)) is not None:
            self.push_screen(EditDialog(f"Edit the command from {command.sender}", command.text),
                             lambda text: self._approve(command, text) if text else None)

    def on_commands_panel_move_requested(self, message: CommandsPanel.MoveRequested) -> None:
        if self.store is not None and self.store.move_command(message.command_id, message.offset):
            self._reorder_commands()

    def on_commands_panel_view_requested(self, message: CommandsPanel.ViewRequested) -> None:
        if self.store is not None and (command := self.store.get_command(message.command_id)) is not None:
            self.push_screen(DetailsDialog(f"Command #{command.id}", [
                ("State", f"{command.state} — {command.note}" if command.note else str(command.state)),
                ("From", command.sender), ("Token", command.token or "(none)"),
                ("Authentication", command.auth_result or "not checked"),
                ("Danger pattern", command.danger_pattern or "none"), ("Command", command.text),
                *command_history_rows(self.store.command_edits(command.id))]))

    def _approve(self, command: CommandRow, text: str | None = None) -> None:
        patterns = self.config.security.danger_patterns
        plan = plan_approval(command.state, command.text, command.danger_pattern, text, patterns,
                             lambda edited: dangerous_permission(edited, self._pending_permission, patterns))
        if plan.needs_confirmation:
            self.push_screen(ConfirmDialog("Approve a dangerous command?", plan.confirmation_body(),
                                           confirm_label="Approve", danger=True),
                             lambda yes: self._approve_now(command, plan) if yes else None)
        else:
            self._approve_now(command, plan)

    def _approve_now(self, command: CommandRow, plan: ApprovalPlan) -> None:
        assert self.store is not None
        if plan.edited and self.store.edit_command(command.id, plan.text, plan.danger) is None:
            self.notify(f"A command that is {command.state} cannot be edited.", severity="warning")
            return
        note = "edited and approved at the keyboard" if plan.edited else "approved at the keyboard"
        self._apply(command, CommandEvent.APPROVE, note=note)

    def _apply(self, command: CommandRow, event: CommandEvent, *, text: str | None = None, note: str) -> None:
        assert self.store is not None
        updated = self.store.apply_command_event(command.id, event, text=text, note=note)
        if updated is None:
            self.notify(f"A command that is {command.state} cannot be changed that way.", severity="warning")
            return
        self._show_command(updated)

    def _reorder_commands(self) -> None:
        assert self.store is not None
        self.query_one(CommandsPanel).show_all([self._command_entry(row) for row in self.store.list_commands()])

    def on_inbound_panel_open_requested(self, message: InboundPanel.OpenRequested) -> None:
        if self.store is None:
            return
        row = self.store.get_inbound_mail(message.mail_id)
        if row is not None:
            self.push_screen(DetailsDialog(f"Mail from {row.sender or '(unknown)'}", inbound_details(row)))

    # ---------------------------------------------------------------------------------- focus & commands

    def watch_show_sidebar(self, show: bool) -> None:
        if not self.is_mounted:
            return
        self.query_one(Sidebar).display = show
        if not show:
            self.pane.focus()

    def action_switch_focus(self) -> None:
        if self.pane.has_focus:
            self.show_sidebar = True
            self.call_after_refresh(self._focus_sidebar)
        else:
            self.pane.focus()

    def _focus_sidebar(self) -> None:
        self.query_one(Sidebar).query_one(Panel).focus()

    def action_toggle_sidebar(self) -> None:
        self.show_sidebar = not self.show_sidebar

    def action_restart_agent(self) -> None:
        if self._tracker is not None:
            self._tracker.expect_exit()
        self.pane.restart()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Toggle sidebar", "Show or hide the panels beside the pane",
                            self.action_toggle_sidebar)
        yield SystemCommand("Restart agent", "End the agent and start it again", self.action_restart_agent)

    async def action_quit(self) -> None:
        question = quit_question(self._quit_facts())
        if question is None:
            await self._quit_now()
            return
        async def quit_if_confirmed(yes: bool | None) -> None:
            if yes:
                await self._quit_now()

        self.push_screen(ConfirmDialog("Quit taskping-tui?", question, confirm_label="Quit"), quit_if_confirmed)

    def _quit_facts(self) -> QuitFacts:
        waiting = [str(row.state) for row in self.store.pending_commands()] if self.store is not None else []
        running = self.pane.pid is not None and self.agent_state != AgentState.EXITED.value
        return QuitFacts(os.path.basename(self.agent_argv[0]), running, self.agent_state, waiting)

    async def _quit_now(self) -> None:
        await self.shutdown()
        self.exit(0)

    async def shutdown(self) -> None:
        """End the agent and stop every background part; safe to call twice."""
        self._shutting_down = True
        if self.watcher is not None:
            await self.watcher.stop()
            self.watcher = None
        self.injector = None
        for pane in self.query(TerminalView):
            await pane.stop()
        if self.outbox is not None:
            await self.outbox.stop()
            self.outbox = None
        if self._hook_server is not None:
            await self._hook_server.stop()
            self._hook_server = None
        if self._instance is not None:
            self._instance.cleanup()
            self._instance = None
        if self.store is not None:
            self.store.close()
            self.store = None

    async def on_unmount(self) -> None:
        await self.shutdown()
