"""A yes/no dialog that shows the full text of what is about to happen."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Button, Static

from taskping_tui.widgets.dialog import Dialog


class ConfirmDialog(Dialog[bool]):
    DEFAULT_CSS = """
    ConfirmDialog.-danger #dialog {
        border: thick $error;
    }
    """

    BINDINGS = [
        Binding("escape", "answer(False)", "Cancel"),
        Binding("y", "answer(True)", "Yes", show=False),
        Binding("n", "answer(False)", "No", show=False),
    ]

    def __init__(self, title: str, body: str, *, confirm_label: str = "Yes", danger: bool = False) -> None:
        super().__init__(title, classes="-danger" if danger else "")
        self._body = body
        self._confirm_label = confirm_label

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="dialog-body"):
            yield Static(self._body, markup=False)

    def compose_buttons(self) -> ComposeResult:
        yield Button(self._confirm_label, id="yes", variant="error" if self.has_class("-danger") else "primary")
        yield Button("Cancel", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
