"""Notifications panel: what the agent did that deserves your attention, and where its mail is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.binding import Binding
from textual.content import Content
from textual.message import Message

from taskping_tui.widgets.panel import Panel

KIND_LABELS = {
    "turn_finished": ("✔ Turn finished", "$success"),
    "needs_permission": ("? Needs permission", "$warning"),
    "api_error": ("✖ API error", "$error"),
    "exited": ("■ Agent exited", "$foreground-muted"),
}
MAIL_STYLES = {"queued": "$foreground-muted", "sending": "$accent", "sent": "$success", "retrying": "$warning",
               "failed": "$error"}


@dataclass(frozen=True)
class NotificationEntry:
    key: str
    time: datetime
    kind: str
    summary: str
    # Mail delivery: "" when mail is off, else queued / sending / sent / retrying / failed.
    mail_state: str = ""
    mail_detail: str = ""


def render_notification(row: NotificationEntry) -> Content:
    label, style = KIND_LABELS.get(row.kind, (row.kind, "$foreground"))
    parts: list[Content | tuple[str, str] | str] = [
        (row.time.strftime("%H:%M:%S "), "$foreground-muted"), (label, f"bold {style}"), "\n", row.summary,
    ]
    if row.mail_state:
        detail = f" — {row.mail_detail}" if row.mail_detail else ""
        parts += ["\n", (f"✉ {row.mail_state}{detail}", MAIL_STYLES.get(row.mail_state, "$foreground-muted"))]
    return Content.assemble(*parts)


class NotificationsPanel(Panel):
    TITLE = "Notifications"

    BINDINGS = [
        Binding("r", "resend", "Resend mail"),
        Binding("t", "revoke_token", "Revoke token"),
    ]

    class ResendRequested(Message):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    class RevokeTokenRequested(Message):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(self, mail_enabled: bool, config_hint: str) -> None:
        text = "When the agent finishes a turn, needs a permission or fails, it is listed here."
        if mail_enabled:
            text += " Each one is also mailed to you."
        else:
            # The path on a line of its own: wrapped inside a sentence it was cut mid-word.
            text += ("\n\nMail is off. To get these on your phone, run `taskping-tui init`: it adds a [mail] "
                     f"section to\n{config_hint}")
        super().__init__(text, id="notifications")
        self.mail_enabled = mail_enabled

    def show(self, row: NotificationEntry) -> None:
        self.add_entry(row.key, render_notification(row))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("resend", "revoke_token"):
            if not self.mail_enabled:
                return False
            return True if self.highlighted_key is not None else None
        return True

    def action_resend(self) -> None:
        if self.highlighted_key is not None:
            self.post_message(self.ResendRequested(self.highlighted_key))

    def action_revoke_token(self) -> None:
        if self.highlighted_key is not None:
            self.post_message(self.RevokeTokenRequested(self.highlighted_key))
