"""The base of the modal dialogs: a centred box with a title, a body, and buttons docked at its bottom."""

from __future__ import annotations

from typing import TypeVar

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

ResultType = TypeVar("ResultType")


class Dialog(ModalScreen[ResultType]):
    """Subclasses yield their body from `compose_body` and their buttons from `compose_buttons`."""

    DEFAULT_CSS = """
    Dialog {
        align: center middle;
        background: $background 60%;
    }

    #dialog {
        width: 80%;
        max-width: 100;
        height: auto;
        max-height: 80%;
        border: thick $primary;
        background: $surface;
        padding: 1 2;
    }

    #dialog-title {
        text-style: bold;
        width: 1fr;
        margin-bottom: 1;
    }

    /* The buttons are docked so a long body scrolls instead of pushing them out of the dialog; the body's
       bottom margin keeps its last line clear of them (max-height: 100% does not count docked widgets). */
    #dialog-body {
        height: auto;
        max-height: 100%;
        margin-bottom: 2;
    }

    #dialog-buttons {
        dock: bottom;
        height: auto;
        align-horizontal: right;
    }

    #dialog-buttons Button {
        margin-left: 2;
    }
    """

    def __init__(self, title: str, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._title = title

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self._title, id="dialog-title", markup=False)
            yield from self.compose_body()
            with Horizontal(id="dialog-buttons"):
                yield from self.compose_buttons()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def compose_buttons(self) -> ComposeResult:
        yield from ()
