"""Inbound mail panel: every reply that reached the service mailbox, with the gate's verdict."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList

from taskping_tui.widgets.panel import Panel

VERDICT_STYLES = {"accepted": "$success", "blocked": "$warning", "rejected": "$error",
                  "ignored": "$foreground-muted"}


@dataclass(frozen=True)
class InboundEntry:
    key: str
    time: datetime
    sender: str
    subject: str
    verdict: str
    reason: str = ""


def render_inbound(row: InboundEntry) -> Content:
    parts: list[Content | tuple[str, str] | str] = [
        (row.time.strftime("%H:%M:%S "), "$foreground-muted"),
        (row.verdict, f"bold {VERDICT_STYLES.get(row.verdict, '$foreground')}"),
        (f"  {row.sender}", "$foreground-muted"),
        "\n",
        row.subject or "(no subject)",
    ]
    if row.reason:
        parts += ["\n", (row.reason, VERDICT_STYLES.get(row.verdict, "$foreground-muted"))]
    return Content.assemble(*parts)


class InboundPanel(Panel):
    TITLE = "Inbound mail"

    BINDINGS = [Binding("enter", "open", "Open mail")]

    class OpenRequested(Message):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(self, mail_enabled: bool, config_hint: str) -> None:
        if mail_enabled:
            text = ("Replies to notification mails appear here with their verdict: accepted, "
                    "blocked (needs your approval), rejected or ignored.")
        else:
            text = (f"Mail is off, so no replies are read. Set [mail] enabled = true in {config_hint} "
                    "and list your address in [security] allowed_senders.")
        super().__init__(text, id="inbound")

    def set_status(self, status: str) -> None:
        """What the mailbox watcher is doing (idle, polling, reconnecting…), shown in the title."""
        self.border_title = f"{self.TITLE} · {status}" if status else self.TITLE

    def show(self, row: InboundEntry) -> None:
        self.add_entry(row.key, render_inbound(row))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(self.OpenRequested(event.option.id))

    def action_open(self) -> None:
        if self.highlighted_key is not None:
            self.post_message(self.OpenRequested(self.highlighted_key))
