"""The Textual app: themes, the input driver, the command palette, the command key and quitting.

Everything else lives in :class:`taskping_tui.screens.main_screen.MainScreen` (layout, focus, dialogs,
panel handlers) and the Textual-free links in :mod:`taskping_tui.core` it drives.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from collections.abc import Iterable
from pathlib import Path

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.theme import Theme
from textual.timer import Timer

from taskping_tui import paths
from taskping_tui.agent.state import AgentTracker
from taskping_tui.config import Config
from taskping_tui.config.writer import ConfigWriteError, update_config_file
from taskping_tui.core.quit_guard import QuitFacts, RunningAgent, quit_question
from taskping_tui.mail.outbox import Outbox
from taskping_tui.mail.password import Secret, resolve_secret
from taskping_tui.mail.watcher import MailWatcher, WatcherTimings
from taskping_tui.screens import presenters
from taskping_tui.screens.main_screen import MainScreen
from taskping_tui.store import Store
from taskping_tui.terminal.driver import driver_class
from taskping_tui.terminal.view import TerminalView
from taskping_tui.themes import DEFAULT_THEME, load_all_themes
from taskping_tui.widgets.confirm_dialog import ConfirmDialog
from taskping_tui.widgets.notifications_panel import NotificationEntry
from taskping_tui.widgets.sidebar import Sidebar

logger = logging.getLogger(__name__)

THEME_SAVE_DELAY = 1.0


def agent_argv_from(config: Config, cli_argv: list[str] | None) -> list[str]:
    if cli_argv:
        return list(cli_argv)
    return [config.agent.command, *config.agent.args]


class TaskPingApp(App[int]):
    """Claude Code (or any agent) in terminal panes, with sessions, notifications, inbound mail and commands."""

    TITLE = "taskping-tui"
    CSS_PATH = "styles/app.tcss"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        # Not priority: while the pane has focus Ctrl+P belongs to the agent (shell history, vim…).
        Binding("ctrl+p", "command_palette", "Commands", show=False),
        # Textual binds Ctrl+Q with priority; here it is not, so it reaches the agent while the pane has focus.
        Binding("ctrl+q", "quit", "Quit", show=False),
    ]

    show_sidebar: reactive[bool] = reactive(True)

    def __init__(
        self,
        config: Config,
        agent_argv: list[str] | None = None,
        *,
        session_dirs: list[str] | None = None,
        store_path: Path | None = None,
        runtime_dir: Path | None = None,
        smtp_ssl_context: ssl.SSLContext | None = None,
        imap_ssl_context: ssl.SSLContext | None = None,
        watcher_timings: WatcherTimings | None = None,
    ) -> None:
        # A driver that hands a bare Esc to the pane at once: Claude Code interrupts a turn with it.
        super().__init__(driver_class=driver_class())
        self.config = config
        self.cli_argv = list(agent_argv) if agent_argv else None
        self.default_argv = agent_argv_from(config, agent_argv)
        self.session_dirs = list(session_dirs or [])
        self.store_path = store_path
        self.runtime_dir = runtime_dir
        self.smtp_ssl_context = smtp_ssl_context
        self.imap_ssl_context = imap_ssl_context
        self.watcher_timings = watcher_timings
        self.command_key = config.ui.command_key
        # The one key kept from the agent pane: it opens the command layer (and leaves it again).
        self._bindings.bind(self.command_key, "command_layer", "Sessions ⇄ pane", priority=True)
        self.set_reactive(TaskPingApp.show_sidebar, config.ui.show_sidebar)
        self._theme_save_timer: Timer | None = None
        self._saved_theme = ""
        self._main: MainScreen | None = None

    # ---------------------------------------------------------------------------------- parts, for tests and tools

    @property
    def main(self) -> MainScreen:
        if self._main is None:
            self._main = MainScreen(cli_argv=self.cli_argv, session_dirs=self.session_dirs)
        return self._main

    @property
    def config_hint(self) -> str:
        return paths.display_path(self.config.path or paths.default_config_path())

    @property
    def pane(self) -> TerminalView:
        """The focused session's pane."""
        session = self.main.focused_session
        if session is None:
            raise LookupError("no session is open")
        pane: TerminalView = session.pane  # the host keeps it as its SessionPane protocol
        return pane

    @property
    def tracker(self) -> AgentTracker | None:
        session = self.main.focused_session
        return session.link.tracker if session is not None and session.link is not None else None

    @property
    def agent_state(self) -> str:
        tracker = self.tracker
        return tracker.state.value if tracker is not None else "starting"

    @property
    def store(self) -> Store | None:
        return self.main.store

    @property
    def outbox(self) -> Outbox | None:
        return self.main.mail.outbox if self.main.mail is not None else None

    @property
    def watcher(self) -> MailWatcher | None:
        return self.main.mail.watcher if self.main.mail is not None else None

    @property
    def notification_entries(self) -> list[NotificationEntry]:
        fanout = self.main.fanout
        return [presenters.notification_entry(record) for record in fanout.records] if fanout else []

    def _get_dom_base(self):  # type: ignore[no-untyped-def]
        # `app.query_one(...)` searches the default screen; the panels and panes live on the main screen.
        return self._main if self._main is not None and self._main.is_attached else super()._get_dom_base()

    async def resolve_password(self) -> Secret:
        # A Secret, never a bare str: Textual's tracebacks print the locals of every frame.
        return await asyncio.to_thread(resolve_secret, self.config.mail)

    # ---------------------------------------------------------------------------------- start-up and themes

    def on_mount(self) -> None:
        self._register_themes()
        self._apply_theme(self.config.ui.theme)
        self._saved_theme = self.theme
        self.theme_changed_signal.subscribe(self, self._on_theme_changed)
        self.push_screen(self.main)

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

    # ---------------------------------------------------------------------------------- keys and palette

    def action_command_layer(self) -> None:
        if isinstance(self.screen, MainScreen):
            self.screen.toggle_layer()

    # The old name of the command key's action (F6 used to be "pane ⇄ sidebar").
    action_switch_focus = action_command_layer

    def watch_show_sidebar(self, show: bool) -> None:
        if not self.main.is_mounted:
            return
        self.main.query_one(Sidebar).display = show
        if not show:
            self.main.action_back_to_pane()

    def action_toggle_sidebar(self) -> None:
        self.show_sidebar = not self.show_sidebar

    def action_restart_agent(self) -> None:
        self.main.action_restart_session()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Toggle sidebar", "Show or hide the panels beside the pane", self.action_toggle_sidebar)
        yield SystemCommand(
            "Restart agent",
            "Restart the focused session's agent (resuming its conversation)",
            self.action_restart_agent,
        )
        yield SystemCommand(
            "New session", "Open a new session (directory, agent command, name)", self.main.action_new_session
        )

    # ---------------------------------------------------------------------------------- quitting

    def quit_question(self) -> str | None:
        """What quitting would stop or leave waiting, or None when nothing runs or waits."""
        main = self.main
        running = [
            RunningAgent(
                session.row.name,
                os.path.basename(session.row.argv[0]) if session.row.argv else "",
                session.link.state.value if session.link and session.link.state else "starting",
            )
            for session in main.agents_running()
        ]
        waiting = [str(row.state) for row in main.store.pending_commands()] if main.store is not None else []
        return quit_question(QuitFacts(running, waiting))

    async def action_quit(self, confirm: bool = True) -> None:
        question = self.quit_question() if confirm else None
        if question is None:
            await self.shutdown()
            self.exit(0)
            return

        async def answer(yes: bool | None) -> None:
            if yes:
                await self.shutdown()
                self.exit(0)

        self.push_screen(ConfirmDialog("Quit taskping-tui?", question, confirm_label="Quit"), answer)

    async def shutdown(self) -> None:
        """End every agent and stop every background part; safe to call twice."""
        await self.main.shutdown()

    async def on_unmount(self) -> None:
        await self.shutdown()
