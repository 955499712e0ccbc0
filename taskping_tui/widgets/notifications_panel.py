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
    "asks_question": ("? Claude asks", "$warning"),
    "api_error": ("✖ API error", "$error"),
    "exited": ("■ Agent exited", "$foreground-muted"),
}
MAIL_STYLES = {
    "queued": "$foreground-muted",
    "sending": "$accent",
    "sent": "$success",
    "retrying": "$warning",
    "failed": "$error",
}


@dataclass(frozen=True)
class NotificationEntry:
    key: str
    time: datetime
    kind: str
    summary: str
    # Mail delivery: "" when mail is off, else queued / sending / sent / retrying / failed.
    mail_state: str = ""
    mail_detail: str = ""
    # The outbox row of its mail, which resend and revoke act on; None when it was not mailed.
    outbox_id: int | None = None


def render_notification(entry: NotificationEntry) -> Content:
    label, style = KIND_LABELS.get(entry.kind, (entry.kind, "$foreground"))
    parts: list[Content | tuple[str, str] | str] = [
        (entry.time.strftime("%H:%M:%S "), "$foreground-muted"),
        (label, f"bold {style}"),
        "\n",
        entry.summary,
    ]
    if entry.mail_state:
        detail = f" — {entry.mail_detail}" if entry.mail_detail else ""
        parts += ["\n", (f"✉ {entry.mail_state}{detail}", MAIL_STYLES.get(entry.mail_state, "$foreground-muted"))]
    return Content.assemble(*parts)


class NotificationsPanel(Panel[NotificationEntry]):
    TITLE = "Notifications"

    BINDINGS = [
        Binding("r", "resend", "Resend mail"),
        Binding("t", "revoke_token", "Revoke token"),
    ]

    @dataclass
    class ResendRequested(Message):
        """Send the failed mail of outbox row ``outbox_id`` again."""

        panel: NotificationsPanel
        outbox_id: int

        @property
        def control(self) -> NotificationsPanel:
            return self.panel

    @dataclass
    class RevokeTokenRequested(Message):
        """Revoke the token carried by the mail of outbox row ``outbox_id``."""

        panel: NotificationsPanel
        outbox_id: int

        @property
        def control(self) -> NotificationsPanel:
            return self.panel

    def __init__(self, mail_enabled: bool, config_hint: str) -> None:
        text = "When the agent finishes a turn, needs a permission or fails, it is listed here."
        if mail_enabled:
            text += " Each one is also mailed to you."
        else:
            # The path on a line of its own: wrapped inside a sentence it was cut mid-word.
            text += (
                "\n\nMail is off. To get these on your phone, run `taskping-tui init`: it adds a [mail] "
                f"section to\n{config_hint}"
            )
        super().__init__(text, id="notifications")
        self.mail_enabled = mail_enabled

    def option_id(self, entry: NotificationEntry) -> str:
        return entry.key

    def render_entry(self, entry: NotificationEntry) -> Content:
        return render_notification(entry)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("resend", "revoke_token"):
            if not self.mail_enabled:
                return False
            return True if self.highlighted_key is not None else None
        return True

    def _highlighted_outbox_id(self) -> int | None:
        entry = self.highlighted_entry
        return entry.outbox_id if entry is not None else None

    def action_resend(self) -> None:
        outbox_id = self._highlighted_outbox_id()
        if outbox_id is not None:
            self.post_message(self.ResendRequested(self, outbox_id))

    def action_revoke_token(self) -> None:
        outbox_id = self._highlighted_outbox_id()
        if outbox_id is not None:
            self.post_message(self.RevokeTokenRequested(self, outbox_id))
