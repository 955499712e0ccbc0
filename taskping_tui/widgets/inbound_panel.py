"""Inbound mail panel: every reply that reached the service mailbox, with the gate's verdict."""

from __future__ import annotations

from taskping_tui.widgets.panel import Panel


class InboundPanel(Panel):
    TITLE = "Inbound mail"

    def __init__(self, mail_enabled: bool, config_hint: str) -> None:
        if mail_enabled:
            text = ("Replies to notification mails appear here with their verdict: accepted, "
                    "blocked (needs your approval), rejected or ignored.")
        else:
            text = (f"Mail is off, so no replies are read. Set [mail] enabled = true in {config_hint} "
                    "and list your address in [security] allowed_senders.")
        super().__init__(text, id="inbound")
