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

VERDICT_STYLES = {"accepted": "$success", "blocked": "$warning", "rejected": "$error", "ignored": "$foreground-muted"}


@dataclass(frozen=True)
class InboundEntry:
    mail_id: int
    time: datetime
    sender: str
    subject: str
    verdict: str
    reason: str = ""


def render_inbound(entry: InboundEntry) -> Content:
    parts: list[Content | tuple[str, str] | str] = [
        (entry.time.strftime("%H:%M:%S "), "$foreground-muted"),
        (entry.verdict, f"bold {VERDICT_STYLES.get(entry.verdict, '$foreground')}"),
        (f"  {entry.sender}", "$foreground-muted"),
        "\n",
        entry.subject or "(no subject)",
    ]
    if entry.reason:
        parts += ["\n", (entry.reason, VERDICT_STYLES.get(entry.verdict, "$foreground-muted"))]
    return Content.assemble(*parts)


class InboundPanel(Panel[InboundEntry]):
    TITLE = "Inbound mail"

    BINDINGS = [Binding("enter", "open", "Open mail")]

    @dataclass
    class OpenRequested(Message):
        """Show the mail ``mail_id`` in full, with its verdict."""

        panel: InboundPanel
        mail_id: int

        @property
        def control(self) -> InboundPanel:
            return self.panel

    def __init__(self, mail_enabled: bool, config_hint: str) -> None:
        if mail_enabled:
            text = (
                "Replies to notification mails appear here with their verdict: accepted, "
                "blocked (needs your approval), rejected or ignored."
            )
        else:
            text = (
                "Mail is off, so no replies are read. `taskping-tui init` turns it on (and lists your "
                f"address in [security] allowed_senders) in\n{config_hint}"
            )
        super().__init__(text, id="inbound")

    def compose(self) -> ComposeResult:
        # Above the entries: a problem that needs the user must not hide behind a cut-off title.
        yield Static("", classes="panel-problem", markup=False)
        yield from super().compose()

    def option_id(self, entry: InboundEntry) -> str:
        return str(entry.mail_id)

    def render_entry(self, entry: InboundEntry) -> Content:
        return render_inbound(entry)

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

    def _open(self, option_id: str | None) -> None:
        entry = self._entries.get(option_id) if option_id is not None else None
        if entry is not None:
            self.post_message(self.OpenRequested(self, entry.mail_id))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._open(event.option.id)

    def action_open(self) -> None:
        self._open(self.highlighted_key)
