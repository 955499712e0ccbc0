"""The Textual app: wires the terminal pane, the agent, mail and the sidebar panels together.

This is the only module that knows all the parts; each part talks up with messages and is driven
down with method calls.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable
from pathlib import Path

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer

from taskping_tui import paths
from taskping_tui.config import Config, expand_env
from taskping_tui.terminal.view import TerminalView
from taskping_tui.themes import DEFAULT_THEME, load_all_themes
from taskping_tui.widgets.panel import Panel
from taskping_tui.widgets.sidebar import Sidebar

# Moves focus between the pane and the sidebar. Claude Code uses Esc, Esc Esc, Ctrl+C/D/R/O/T/B/V/G/S/_
# and Shift+Tab; shells and editors use the Ctrl and Alt letters. No common TUI binds F6.
SWITCH_KEY = "f6"

INSTALL_HINTS = {
    "claude": "Install Claude Code with: npm install -g @anthropic-ai/claude-code",
    "codex": "Install Codex with: npm install -g @openai/codex",
    "aider": "Install aider with: python -m pip install aider-install && aider-install",
}


def agent_argv_from(config: Config, cli_argv: list[str] | None) -> list[str]:
    if cli_argv:
        return list(cli_argv)
    return [config.agent.command, *config.agent.args]


def install_hint_for(argv: list[str]) -> str:
    name = Path(argv[0]).name
    return INSTALL_HINTS.get(name, f"Check that {name!r} is installed and on your PATH.")


class TaskPingApp(App[int]):
    """Claude Code (or any agent) in a terminal pane, with notifications, inbound mail and commands."""

    TITLE = "taskping-tui"
    CSS_PATH = "styles/app.tcss"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding(SWITCH_KEY, "switch_focus", "Pane ⇄ sidebar", priority=True),
        # Not priority: while the pane has focus Ctrl+P belongs to the agent (shell history, vim…).
        Binding("ctrl+p", "command_palette", "Commands", show=False),
    ]

    show_sidebar: reactive[bool] = reactive(True)

    def __init__(self, config: Config, agent_argv: list[str] | None = None) -> None:
        super().__init__()
        self.config = config
        self.agent_argv = agent_argv_from(config, agent_argv)
        self.show_sidebar = config.ui.show_sidebar

    @property
    def config_hint(self) -> str:
        return str(self.config.path or paths.default_config_path())

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield TerminalView(id="pane", scrollback=self.config.ui.scrollback_lines)
            yield Sidebar(self.config.mail.enabled, self.config_hint)
        yield Footer()

    def on_mount(self) -> None:
        self._register_themes()
        self._apply_theme(self.config.ui.theme)
        pane = self.query_one(TerminalView)
        pane.border_title = shlex.join(self.agent_argv)
        pane.focus()
        self.query_one(Sidebar).display = self.show_sidebar
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

    def _start_agent(self) -> None:
        env = expand_env(self.config.agent.env)
        self.query_one(TerminalView).start(
            self.agent_argv,
            env=env,
            cwd=os.getcwd(),
            not_found_hint=install_hint_for(self.agent_argv),
        )

    def watch_show_sidebar(self, show: bool) -> None:
        if not self.is_mounted:
            return
        self.query_one(Sidebar).display = show
        if not show:
            self.query_one(TerminalView).focus()

    def action_switch_focus(self) -> None:
        pane = self.query_one(TerminalView)
        if pane.has_focus:
            self.show_sidebar = True
            self.call_after_refresh(self._focus_sidebar)
        else:
            pane.focus()

    def _focus_sidebar(self) -> None:
        self.query_one(Sidebar).query_one(Panel).focus()

    def action_toggle_sidebar(self) -> None:
        self.show_sidebar = not self.show_sidebar

    def action_restart_agent(self) -> None:
        self.query_one(TerminalView).restart()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Toggle sidebar", "Show or hide the panels beside the pane",
                            self.action_toggle_sidebar)
        yield SystemCommand("Restart agent", "End the agent and start it again", self.action_restart_agent)

    def on_terminal_view_title_changed(self, message: TerminalView.TitleChanged) -> None:
        self.query_one(TerminalView).border_title = message.title or shlex.join(self.agent_argv)

    def on_terminal_view_bell(self, message: TerminalView.Bell) -> None:
        self.notify("The agent rang the bell.", title="Bell", timeout=3)

    def on_terminal_view_child_exited(self, message: TerminalView.ChildExited) -> None:
        self.query_one(TerminalView).border_subtitle = "exited"

    async def action_quit(self) -> None:
        await self.query_one(TerminalView).stop()
        self.exit(0)
