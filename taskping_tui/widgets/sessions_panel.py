"""Sessions panel: one row per hosted session, with its number, state, time in that state and badges.

It is also the command layer: the command key (F6) focuses it, and its keys (1–9, Tab, Space, j/k, Enter,
n, r, R, x, s, q, Esc) act on the sessions. The footer lists them while it has focus.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList

from taskping_tui.widgets.panel import Panel

STATUS_STYLES = {
    "starting": "$foreground-muted",
    "busy": "$accent",
    "needs permission": "$warning",
    "asks a question": "$warning",
    "finished, unread": "$success",
    "idle": "$foreground",
    "exited": "$foreground-muted",
    "offline, resumable": "$foreground-muted",
    "unknown": "$foreground-muted",
}
STATUS_MARKS = {
    "starting": "…",
    "busy": "●",
    "needs permission": "?",
    "asks a question": "?",
    "finished, unread": "✔",
    "idle": "○",
    "exited": "■",
    "offline, resumable": "◌",
    "unknown": "·",
}


@dataclass(frozen=True)
class SessionEntry:
    key: str
    number: int
    name: str
    status: str
    since: str  # "12m"
    replies_waiting: int = 0  # approved replies held until the agent can take them
    blocked: int = 0  # commands waiting for your approval
    focused: bool = False


def render_session(entry: SessionEntry) -> Content:
    style = STATUS_STYLES.get(entry.status, "$foreground")
    parts: list[Content | tuple[str, str] | str] = [
        (f"{entry.number} ", "bold"),
        (entry.name, "bold $accent" if entry.focused else "bold"),
        "\n",
        (f"{STATUS_MARKS.get(entry.status, '·')} {entry.status}", style),
        (f" · {entry.since}", "$foreground-muted"),
    ]
    if entry.replies_waiting:
        parts.append((f"  ✉ {entry.replies_waiting} queued", "$accent"))
    if entry.blocked:
        parts.append((f"  ⛔ {entry.blocked} blocked", "$error"))
    return Content.assemble(*parts)


class SessionsPanel(Panel[SessionEntry]):
    TITLE = "Sessions"

    BINDINGS = [
        Binding("1", "screen.focus_number(1)", "Session", key_display="1-9"),
        *(Binding(str(n), f"screen.focus_number({n})", f"Session {n}", show=False) for n in range(2, 10)),
        Binding("tab", "screen.focus_last", "Last"),
        Binding("space", "screen.focus_next_needing", "Next"),
        Binding("j", "cursor(1)", "Down", show=False),
        Binding("k", "cursor(-1)", "Up", show=False),
        Binding("n", "screen.new_session", "New"),
        Binding("r", "screen.rename_session", "Rename"),
        Binding("R", "screen.restart_session", "Restart"),
        Binding("x", "screen.close_session", "Close"),
        Binding("s", "screen.send_command_key", "Send key"),
        Binding("escape", "screen.back_to_pane", "Pane"),
        Binding("q", "app.quit", "Quit", show=False),
    ]

    @dataclass
    class Selected(Message):
        """The user picked a session row (Enter or a click)."""

        panel: SessionsPanel
        key: str  # the session's id

        @property
        def control(self) -> SessionsPanel:
            return self.panel

    def __init__(self) -> None:
        super().__init__("No session yet: press n to open one.", id="sessions")
        self._sessions: list[SessionEntry] = []

    def option_id(self, entry: SessionEntry) -> str:
        return entry.key

    def render_entry(self, entry: SessionEntry) -> Content:
        return render_session(entry)

    def show_sessions(self, entries: list[SessionEntry]) -> None:
        if entries == self._sessions:
            return
        old, self._sessions = self._sessions, list(entries)
        self._entries = {entry.key: entry for entry in entries}
        if [entry.key for entry in old] == [entry.key for entry in entries]:
            # Same sessions in the same order (a state, a badge or the focus moved): change those rows only.
            for before, after in zip(old, entries, strict=True):
                if before != after:
                    self.option_list.replace_option_prompt(after.key, render_session(after))
            return
        self.replace_entries([(entry.key, render_session(entry)) for entry in entries])

    @property
    def shown(self) -> list[SessionEntry]:
        return list(self._sessions)

    def highlight(self, key: str) -> None:
        keys = [entry.key for entry in self._sessions]
        if key in keys:
            self.option_list.highlighted = keys.index(key)

    def action_cursor(self, offset: int) -> None:
        if offset > 0:
            self.option_list.action_cursor_down()
        else:
            self.option_list.action_cursor_up()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(self.Selected(self, event.option.id))
