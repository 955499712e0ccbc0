"""A one-panel app for the panel snapshots: the panel alone at the sidebar's width, every entry visible.

It loads the real app's styles and themes, so the panel looks exactly as it does in the sidebar.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.app import App, ComposeResult
from textual.containers import Vertical

from taskping_tui.themes import DEFAULT_THEME, load_all_themes
from taskping_tui.widgets.panel import Panel

STYLES = Path(__file__).resolve().parents[2] / "taskping_tui" / "styles"


class PanelApp(App[None]):
    TITLE = "taskping-tui"
    CSS_PATH = [str(STYLES / "app.tcss"), str(STYLES / "dialogs.tcss")]
    # Unfocused, as the sidebar is while you work in the pane; a test focuses the panel when it wants to.
    AUTO_FOCUS = None

    def __init__(self, panel: Panel, fill: Callable[[Panel], None], *, theme: str = DEFAULT_THEME) -> None:
        super().__init__()
        self._panel = panel
        self._fill = fill
        self._theme_name = theme

    def compose(self) -> ComposeResult:
        # id="sidebar" gives the panel the sidebar's width and height rules from app.tcss.
        with Vertical(id="sidebar"):
            yield self._panel

    def on_mount(self) -> None:
        for theme in load_all_themes().themes:
            self.register_theme(theme)
        self.theme = self._theme_name
        self._fill(self._panel)
