"""Commands panel: commands from mail waiting for the agent, for your approval, and their history."""

from __future__ import annotations

from collections.abc import Iterable
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
# Shown first, in this order: what waits for the user, then what waits for the agent, then the history.
NEEDS_YOU = (S.BLOCKED, S.QUEUED, S.UNKNOWN, S.FAILED)
IN_PROGRESS = (S.INJECTING, S.APPROVED)


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


def render_command(entry: CommandEntry) -> Content:
    label, style = STATE_LABELS[entry.state]
    # The command itself right under its state: the sender line wraps in the narrow sidebar.
    parts: list[Content | tuple[str, str] | str] = [
        (label, f"bold {style}"),
        "\n",
        (entry.command, "bold"),
        "\n",
        (f"{entry.sender} · {token_text(entry.token_age)} · {entry.auth}", "$foreground-muted"),
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
        text = (
            "Commands from accepted replies wait here until the agent is idle; dangerous ones "
            "(rm -rf, sudo, git push --force…) wait for you to approve them at the keyboard."
        )
        if not mail_enabled:
            text += "\n\nNothing can arrive while mail is off."
        super().__init__(text, id="commands")

    def option_id(self, entry: CommandEntry) -> str:
        return str(entry.command_id)

    def render_entry(self, entry: CommandEntry) -> Content:
        return render_command(entry)

    def show(self, entry: CommandEntry) -> None:
        """Add or update one command; a command that newly needs the user is brought into view."""
        option_id = self.option_id(entry)
        old = self._entries.get(option_id)
        self._entries[option_id] = entry
        self._redraw()
        if entry.needs_you and (old is None or not old.needs_you):
            self._bring_into_view(option_id)

    def show_all(self, entries: list[CommandEntry]) -> None:
        """Show exactly these commands (after the user moved one), in display order."""
        self._entries = {self.option_id(entry): entry for entry in entries}
        self._redraw()

    def _redraw(self) -> None:
        ordered = display_order(self._entries.values())
        ids = [self.option_id(entry) for entry in ordered]
        option_list = self.option_list
        current = [option_list.get_option_at_index(i).id for i in range(option_list.option_count)]
        if [option_id for option_id in current if option_id is not None] == ids:
            for option_id, entry in zip(ids, ordered, strict=True):  # same order: update in place, scroll kept
                option_list.replace_option_prompt(option_id, render_command(entry))
        else:
            self.replace_entries(
                [(option_id, render_command(entry)) for option_id, entry in zip(ids, ordered, strict=True)]
            )
        self.count = len(ids)
        self.refresh_bindings()

    def _bring_into_view(self, option_id: str) -> None:
        option_list = self.option_list
        if option_list.has_focus:
            return  # the user is working in the list: their highlight stays where they put it
        # Highlighted (so F6 lands on it, ready for a / x / e) and scrolled into view.
        option_list.highlighted = option_list.get_option_index(option_id)
        self.call_after_refresh(option_list.scroll_to_highlight)

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
