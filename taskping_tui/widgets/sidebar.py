"""The sidebar beside the terminal pane: the Sessions panel on top, then the three mail panels."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical

from taskping_tui.widgets.commands_panel import CommandsPanel
from taskping_tui.widgets.inbound_panel import InboundPanel
from taskping_tui.widgets.notifications_panel import NotificationsPanel
from taskping_tui.widgets.panel import Panel
from taskping_tui.widgets.sessions_panel import SessionsPanel


class Sidebar(Vertical):
    BINDINGS = [
        Binding("h", "app.toggle_sidebar", "Hide sidebar"),
        Binding("q", "app.quit", "Quit"),
        # Tab cycles through the panels and stays in the sidebar (F6 goes to the pane): wrapping into the
        # pane made the next Tab a stray keystroke for the agent (Claude Code toggles thinking with it).
        Binding("tab", "cycle_panels(1)", "Next panel", show=False),
        Binding("shift+tab", "cycle_panels(-1)", "Previous panel", show=False),
    ]

    def __init__(self, mail_enabled: bool, config_hint: str) -> None:
        super().__init__(id="sidebar")
        self._mail_enabled = mail_enabled
        self._config_hint = config_hint

    def action_cycle_panels(self, step: int) -> None:
        panels = list(self.query(Panel))
        current = next((index for index, panel in enumerate(panels) if panel.has_focus_within), None)
        target = 0 if current is None else (current + step) % len(panels)
        panels[target].focus()

    def compose(self) -> ComposeResult:
        yield SessionsPanel()
        yield NotificationsPanel(self._mail_enabled, self._config_hint)
        yield InboundPanel(self._mail_enabled, self._config_hint)
        yield CommandsPanel(self._mail_enabled)
