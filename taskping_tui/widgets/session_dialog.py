"""The new-session form: directory, agent command and name; the result is what the session will run."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Button, Input, Label

from taskping_tui.widgets.dialog import Dialog


@dataclass(frozen=True)
class SessionRequest:
    cwd: str
    argv: list[str]
    name: str


def parse_session_form(directory: str, command: str, name: str) -> SessionRequest | str:
    """The request the form describes, or a sentence saying what to fix."""
    cwd = os.path.abspath(os.path.expanduser(directory.strip() or "."))
    if not os.path.isdir(cwd):
        return f"{cwd} is not a directory"
    try:
        argv = shlex.split(command)
    except ValueError as error:
        return f"the command cannot be read: {error}"
    if not argv:
        return "the agent command is empty"
    return SessionRequest(cwd, argv, name.strip())


class SessionDialog(Dialog[SessionRequest | None]):
    """A new session: the directory it runs in, the agent command and an optional name."""

    DEFAULT_CSS = """
    SessionDialog #session-error {
        color: $error;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, directory: str, command: str) -> None:
        super().__init__("New session")
        self._directory = directory
        self._command = command

    def compose_body(self) -> ComposeResult:
        yield Label("Directory", classes="details-heading")
        yield Input(self._directory, id="session-dir")
        yield Label("Agent command", classes="details-heading")
        yield Input(self._command, id="session-command")
        yield Label("Name (empty: the directory's name)", classes="details-heading")
        yield Input("", id="session-name")
        yield Label("", id="session-error", markup=False)

    def compose_buttons(self) -> ComposeResult:
        yield Button("Open", id="open", variant="primary")
        yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#session-dir", Input).focus()

    def on_input_submitted(self) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "open":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        result = parse_session_form(
            self.query_one("#session-dir", Input).value,
            self.query_one("#session-command", Input).value,
            self.query_one("#session-name", Input).value,
        )
        if isinstance(result, str):
            self.query_one("#session-error", Label).update(result)
            return
        self.dismiss(result)

    def action_cancel(self) -> None:
        self.dismiss(None)


class RenameDialog(Dialog[str | None]):
    """A new name for a session (shown in the Sessions panel and the subject of its mails)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, name: str) -> None:
        super().__init__("Rename the session")
        self._name = name

    def compose_body(self) -> ComposeResult:
        yield Input(self._name, id="session-name")

    def compose_buttons(self) -> ComposeResult:
        yield Button("Rename", id="rename", variant="primary")
        yield Button("Cancel", id="cancel")

    def on_input_submitted(self) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "rename":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        self.dismiss(self.query_one(Input).value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
