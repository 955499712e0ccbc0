"""Inbound mail panel: every reply that reached the service mailbox, with the gate's verdict."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList, Static

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
            text = ("Mail is off, so no replies are read. `taskping-tui init` turns it on (and lists your "
                    f"address in [security] allowed_senders) in\n{config_hint}")
        super().__init__(text, id="inbound")

    def compose(self) -> ComposeResult:
        # Above the entries: a problem that needs the user must not hide behind a cut-off title.
        yield Static("", classes="panel-problem", markup=False)
        yield from super().compose()

    def set_status(self, status: str) -> None:
        """What the mailbox watcher is doing (idle, polling, reconnecting…), shown in the title."""
        self.border_title = f"{self.TITLE} · {status}" if status else self.TITLE

    def show_problem(self, title: str, reason: str, fix: str) -> None:
        """A problem the watcher cannot get past by itself (a refused login): title, reason and fix in the body."""
        self.set_status(title)
        self.query_one(".panel-problem", Static).update(f"Not reading mail: {reason}\nFix: {fix}")
        self.add_class("-problem")

    def clear_problem(self) -> None:
        self.remove_class("-problem")

    @property
    def problem_text(self) -> str:
        return str(self.query_one(".panel-problem", Static).render()) if self.has_class("-problem") else ""

    def show(self, row: InboundEntry) -> None:
        self.add_entry(row.key, render_inbound(row))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(self.OpenRequested(event.option.id))

    def action_open(self) -> None:
        if self.highlighted_key is not None:
            self.post_message(self.OpenRequested(self.highlighted_key))
