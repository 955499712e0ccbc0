"""Edit a command before approving it; the edited text is what will be typed into the agent."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Button, TextArea

from taskping_tui.widgets.dialog import Dialog


class EditDialog(Dialog[str | None]):
    DEFAULT_CSS = """
    EditDialog #edit-text {
        height: 12;
        max-height: 100%;
        margin-bottom: 2;
    }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "approve", "Approve edited"),
    ]

    def __init__(self, title: str, text: str) -> None:
        super().__init__(title)
        self._text = text

    def compose_body(self) -> ComposeResult:
        yield TextArea(self._text, id="edit-text", soft_wrap=True, show_line_numbers=False)

    def compose_buttons(self) -> ComposeResult:
        yield Button("Approve (Ctrl+S)", id="approve", variant="primary")
        yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        area = self.query_one(TextArea)
        area.focus()
        area.move_cursor(area.document.end)  # ready to append, the usual edit

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "approve":
            self.action_approve()
        else:
            self.dismiss(None)

    def action_approve(self) -> None:
        text = self.query_one(TextArea).text.strip()
        self.dismiss(text or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
