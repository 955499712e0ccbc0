"""A one-panel app for the panel snapshots: the panel alone at the sidebar's width, every entry visible.

Each panel carries its own CSS, so the harness needs no app stylesheet: only the sidebar's width and the
real themes, and the panel looks exactly as it does in the sidebar.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App, ComposeResult
from textual.containers import Vertical

from taskping_tui.themes import DEFAULT_THEME, load_all_themes
from taskping_tui.widgets.panel import Panel


class PanelApp(App[None]):
    TITLE = "taskping-tui"
    # The sidebar's size, as in the main screen's styles/app.tcss.
    CSS = """
    #sidebar {
        width: 44;
        height: 1fr;
    }
    """
    # Unfocused, as the sidebar is while you work in the pane; a test focuses the panel when it wants to.
    AUTO_FOCUS = None

    def __init__(self, panel: Panel, fill: Callable[[Panel], None], *, theme: str = DEFAULT_THEME) -> None:
        super().__init__()
        self._panel = panel
        self._fill = fill
        self._theme_name = theme

    def compose(self) -> ComposeResult:
        with Vertical(id="sidebar"):
            yield self._panel

    def on_mount(self) -> None:
        for theme in load_all_themes().themes:
            self.register_theme(theme)
        self.theme = self._theme_name
        self._fill(self._panel)
