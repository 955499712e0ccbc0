"""Commands panel: commands from mail waiting for the agent, for your approval, and their history."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from textual.binding import Binding
from textual.content import Content
from textual.message import Message

from taskping_tui.widgets.panel import Panel

STATE_LABELS = {
    "queued": ("waiting for your approval", "$warning"),
    "blocked": ("BLOCKED — dangerous", "$error"),
    "approved": ("waiting for the agent", "$accent"),
    "injecting": ("typing…", "$accent"),
    "injected": ("injected", "$success"),
    "rejected": ("rejected", "$foreground-muted"),
    "expired": ("expired", "$foreground-muted"),
    "failed": ("failed", "$error"),
    "unknown": ("unknown — check the agent", "$error"),
}
APPROVABLE = {"queued", "blocked", "failed", "unknown"}
# Shown first, in this order: what waits for the user, then what waits for the agent, then the history.
NEEDS_YOU = ("blocked", "queued", "unknown", "failed")
IN_PROGRESS = ("injecting", "approved")
REJECTABLE = {"queued", "blocked", "approved", "failed", "unknown"}
MOVABLE = {"queued", "blocked", "approved"}


@dataclass(frozen=True)
class CommandEntry:
    key: str
    state: str
    sender: str
    token_age: str
    auth: str
    command: str
    danger: str = ""
    # Why it is still waiting ("agent is busy"), or what happened to it.
    note: str = ""
    # Queue position (the user can move waiting commands) and when its state last changed.
    position: int = 0
    updated_at: float = 0.0

    @property
    def needs_you(self) -> bool:
        return self.state in NEEDS_YOU


def display_order(entries: Iterable[CommandEntry]) -> list[CommandEntry]:
    """Blocked and queued (and unknown / failed) first in queue order, then the ones waiting for the agent,
    then the history newest first: a new command that needs the user is never below the fold."""

    def key(entry: CommandEntry) -> tuple[int, float]:
        if entry.state in NEEDS_YOU:
            return (0, entry.position)
        if entry.state in IN_PROGRESS:
            return (1, entry.position)
        return (2, -entry.updated_at)

    return sorted(entries, key=key)


def token_text(token_age: str) -> str:
    """The reply's session token, by age: "token from 9s ago" reads as what it is, "token 9s" did not."""
    return "no session token" if token_age in ("", "—") else f"token from {token_age} ago"


def render_command(row: CommandEntry) -> Content:
    label, style = STATE_LABELS.get(row.state, (row.state, "$foreground"))
    # The command itself right under its state: the sender line wraps in the narrow sidebar.
    parts: list[Content | tuple[str, str] | str] = [
        (label, f"bold {style}"),
        "\n",
        (row.command, "bold"),
        "\n",
        (f"{row.sender} · {token_text(row.token_age)} · {row.auth}", "$foreground-muted"),
    ]
    if row.danger:
        parts += ["\n", (f"matches danger pattern: {row.danger}", "$error")]
    if row.note:
        parts += ["\n", (row.note, "$foreground-muted")]
    return Content.assemble(*parts)


class CommandsPanel(Panel):
    TITLE = "Commands"

    BINDINGS = [
        Binding("a", "command('approve')", "Approve"),
        Binding("x", "command('reject')", "Reject"),
        Binding("e", "command('edit')", "Edit & approve"),
        Binding("shift+up", "command('move_up')", "Move up"),
        Binding("shift+down", "command('move_down')", "Move down"),
        Binding("v", "command('view')", "View"),
    ]

    class ActionRequested(Message):
        """The user asked to approve / reject / edit / move_up / move_down / view a command."""

        def __init__(self, key: str, action: str) -> None:
            super().__init__()
            self.key = key
            self.action = action

    def __init__(self, mail_enabled: bool) -> None:
        text = ("Commands from accepted replies wait here until the agent is idle; dangerous ones "
                "(rm -rf, sudo, git push --force…) wait for you to approve them at the keyboard.")
        if not mail_enabled:
            text += "\n\nNothing can arrive while mail is off."
        super().__init__(text, id="commands")
        self._rows: dict[str, CommandEntry] = {}

    def show(self, row: CommandEntry) -> None:
        """Add or update one command; a command that newly needs the user is brought into view."""
        old = self._rows.get(row.key)
        self._rows[row.key] = row
        self._redraw()
        if row.needs_you and (old is None or not old.needs_you):
            self._bring_into_view(row.key)

    def show_all(self, entries: list[CommandEntry]) -> None:
        """Show exactly these commands (after the user moved one), in display order."""
        self._rows = {entry.key: entry for entry in entries}
        self._redraw()

    def _redraw(self) -> None:
        ordered = display_order(self._rows.values())
        keys = [entry.key for entry in ordered]
        entries = self.entries
        current = [entries.get_option_at_index(i).id for i in range(entries.option_count)]
        if [key for key in current if key is not None] == keys:
            for entry in ordered:  # same order: update the prompts in place (no flicker, scroll kept)
                entries.replace_option_prompt(entry.key, render_command(entry))
        else:
            self.replace_entries([(entry.key, render_command(entry)) for entry in ordered])
        self.count = len(keys)
        self.refresh_bindings()

    def _bring_into_view(self, key: str) -> None:
        entries = self.entries
        if entries.has_focus:
            return  # the user is working in the list: their highlight stays where they put it
        # Highlighted (so F6 lands on it, ready for a / x / e) and scrolled into view.
        entries.highlighted = entries.get_option_index(key)
        self.call_after_refresh(entries.scroll_to_highlight)

    def row(self, key: str) -> CommandEntry | None:
        return self._rows.get(key)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action != "command":
            return True
        key = self.highlighted_key
        row = self._rows.get(key) if key is not None else None
        if row is None:
            return False
        allowed = {
            "approve": row.state in APPROVABLE,
            "edit": row.state in APPROVABLE,
            "reject": row.state in REJECTABLE,
            "move_up": row.state in MOVABLE,
            "move_down": row.state in MOVABLE,
            "view": True,
        }
        return allowed.get(str(parameters[0]), False) or None

    def action_command(self, action: str) -> None:
        key = self.highlighted_key
        if key is not None:
            self.post_message(self.ActionRequested(key, action))
