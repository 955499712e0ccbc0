"""The pane's border subtitle: the agent's state, or why it is not running, and whether you are scrolled
back (Textual-free; the app sets it)."""

from __future__ import annotations

RETURN_KEY = "Shift+PgDn"  # terminal/view.py SCROLLBACK_DOWN_KEYS


def pane_subtitle(state: str, *, start_problem: str = "", scroll_offset: int = 0) -> str:
    """``idle``; ``command not found`` (not "starting" when it never started); and while scrolled back
    ``idle · scrolled back 32 lines — Shift+PgDn to return``."""
    label = start_problem or state
    if scroll_offset > 0:
        lines = "line" if scroll_offset == 1 else "lines"
        label += f" · scrolled back {scroll_offset} {lines} — {RETURN_KEY} to return"
    return label
