"""A read-only dialog for the whole of something: an inbound mail, or a command and its history."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Button, Label, Static

from taskping_tui.widgets.dialog import Dialog


class DetailsDialog(Dialog[None]):
    DEFAULT_CSS = """
    DetailsDialog .details-heading {
        margin-top: 1;
        color: $text-muted;
        text-style: bold;
    }

    DetailsDialog #dialog-body > .details-heading:first-child {
        margin-top: 0;
    }
    """

    BINDINGS = [Binding("escape", "close", "Close"), Binding("enter", "close", "Close", show=False)]

    def __init__(self, title: str, sections: list[tuple[str, str]]) -> None:
        super().__init__(title)
        self._sections = sections

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="dialog-body"):
            for heading, text in self._sections:
                yield Label(heading, classes="details-heading", markup=False)
                yield Static(text or "(empty)", classes="details-text", markup=False)

    def compose_buttons(self) -> ComposeResult:
        yield Button("Close", id="close", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
