"""Notifications panel: what the agent did that deserves your attention."""

from __future__ import annotations

from taskping_tui.widgets.panel import Panel


class NotificationsPanel(Panel):
    TITLE = "Notifications"

    def __init__(self, mail_enabled: bool, config_hint: str) -> None:
        text = "When the agent finishes a turn, needs a permission or fails, it is listed here."
        if mail_enabled:
            text += " Each one is also mailed to you."
        else:
            text += f"\n\nMail is off. To get these on your phone, add a [mail] section to {config_hint}."
        super().__init__(text, id="notifications")
