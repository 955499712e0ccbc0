"""Commands panel: commands from mail waiting for the agent, for your approval, and their history."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.content import Content
from textual.message import Message

from taskping_tui.inbound.commands import CommandEvent, CommandState, allows, can_move
from taskping_tui.widgets.panel import Panel

S = CommandState
STATE_LABELS: dict[CommandState, tuple[str, str]] = {
    S.QUEUED: ("waiting for your approval", "$warning"),
    S.BLOCKED: ("BLOCKED — dangerous", "$error"),
    S.APPROVED: ("waiting for the agent", "$accent"),
    S.INJECTING: ("typing…", "$accent"),
    S.INJECTED: ("injected", "$success"),
    S.REJECTED: ("rejected", "$foreground-muted"),
    S.EXPIRED: ("expired", "$foreground-muted"),
    S.FAILED: ("failed", "$error"),
    S.UNKNOWN: ("unknown — check the agent", "$error"),
}


@dataclass(frozen=True)
class CommandEntry:
    command_id: int
    state: CommandState
    sender: str
    token_age: str
    auth: str
    command: str
    danger: str = ""
    # Why it is still waiting ("agent is busy"), or what happened to it.
    note: str = ""


def render_command(entry: CommandEntry) -> Content:
    label, style = STATE_LABELS[entry.state]
    # The command itself right under its state: the sender line wraps in the narrow sidebar.
    parts: list[Content | tuple[str, str] | str] = [
        (label, f"bold {style}"),
        "\n",
        (entry.command, "bold"),
        "\n",
        (f"{entry.sender} · token {entry.token_age} · {entry.auth}", "$foreground-muted"),
    ]
    if entry.danger:
        parts += ["\n", (f"matches danger pattern: {entry.danger}", "$error")]
    if entry.note:
        parts += ["\n", (entry.note, "$foreground-muted")]
    return Content.assemble(*parts)


@dataclass
class CommandRequest(Message):
    """Base of the Commands panel's requests: the user pressed a key on the command ``command_id``."""

    panel: CommandsPanel
    command_id: int

    @property
    def control(self) -> CommandsPanel:
        return self.panel


class CommandsPanel(Panel[CommandEntry]):
    TITLE = "Commands"
    NEWEST_FIRST = False

    BINDINGS = [
        Binding("a", "approve", "Approve"),
        Binding("x", "reject", "Reject"),
        Binding("e", "edit", "Edit & approve"),
        Binding("shift+up", "move(-1)", "Move up"),
        Binding("shift+down", "move(1)", "Move down"),
        Binding("v", "view", "View"),
    ]

    @dataclass
    class ApproveRequested(CommandRequest):
        """Approve the command (a blocked one is confirmed first)."""

    @dataclass
    class RejectRequested(CommandRequest):
        """Reject the command: it will never be typed."""

    @dataclass
    class EditRequested(CommandRequest):
        """Edit the command's text, then approve it."""

    @dataclass
    class MoveRequested(CommandRequest):
        """Move the command ``offset`` places in the queue (-1 up, +1 down)."""

        offset: int

    @dataclass
    class ViewRequested(CommandRequest):
        """Show everything known about the command."""

    def __init__(self, mail_enabled: bool) -> None:
        text = ("Commands from accepted replies wait here until the agent is idle; dangerous ones "
                "(rm -rf, sudo, git push --force…) wait for you to approve them at the keyboard.")
        if not mail_enabled:
            text += "\n\nNothing can arrive while mail is off."
        super().__init__(text, id="commands")

    def option_id(self, entry: CommandEntry) -> str:
        return str(entry.command_id)

    def render_entry(self, entry: CommandEntry) -> Content:
        return render_command(entry)

    def show(self, entry: CommandEntry) -> None:
        super().show(entry)
        self.refresh_bindings()

    def show_all(self, entries: list[CommandEntry]) -> None:
        """Show the queue in exactly this order (after the user moved a command)."""
        super().show_all(entries)
        self.refresh_bindings()

    def entry(self, command_id: int) -> CommandEntry | None:
        return self._entries.get(str(command_id))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action not in ("approve", "reject", "edit", "move", "view"):
            return True
        entry = self.highlighted_entry
        if entry is None:
            return False
        allowed = {
            "approve": allows(entry.state, CommandEvent.APPROVE),
            "edit": allows(entry.state, CommandEvent.APPROVE),
            "reject": allows(entry.state, CommandEvent.REJECT),
            "move": can_move(entry.state),
            "view": True,
        }
        return allowed[action] or None

    def _request(self, message_type: type[CommandRequest]) -> None:
        entry = self.highlighted_entry
        if entry is not None:
            self.post_message(message_type(self, entry.command_id))

    def action_approve(self) -> None:
        self._request(self.ApproveRequested)

    def action_reject(self) -> None:
        self._request(self.RejectRequested)

    def action_edit(self) -> None:
        self._request(self.EditRequested)

    def action_view(self) -> None:
        self._request(self.ViewRequested)

    def action_move(self, offset: int) -> None:
        entry = self.highlighted_entry
        if entry is not None:
            self.post_message(self.MoveRequested(self, entry.command_id, offset))
