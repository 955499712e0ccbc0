"""Commands panel: commands from mail waiting for the agent, for your approval, and their history."""

from __future__ import annotations

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


def render_command(row: CommandEntry) -> Content:
    label, style = STATE_LABELS.get(row.state, (row.state, "$foreground"))
    # The command itself right under its state: the sender line wraps in the narrow sidebar.
    parts: list[Content | tuple[str, str] | str] = [
        (label, f"bold {style}"),
        "\n",
        (row.command, "bold"),
        "\n",
        (f"{row.sender} · token {row.token_age} · {row.auth}", "$foreground-muted"),
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
        self._rows[row.key] = row
        self.add_entry(row.key, render_command(row), newest_first=False)
        self.refresh_bindings()

    def show_all(self, entries: list[CommandEntry]) -> None:
        """Show the queue in exactly this order (after the user moved a command)."""
        self._rows = {entry.key: entry for entry in entries}
        self.replace_entries([(entry.key, render_command(entry)) for entry in entries])
        self.refresh_bindings()

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
