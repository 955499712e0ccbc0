"""`taskping-tui init`: one keyboard-friendly form that sets up mail and writes the config."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Select, Static

from taskping_tui.config import ConfigError
from taskping_tui.config.init_answers import (
    SetupAnswers,
    answers_to_changes,
    check_answers,
    split_addresses,
)
from taskping_tui.config.writer import ConfigWriteError, WriteResult, update_config_file
from taskping_tui.diagnostics.doctor import Check
from taskping_tui.mail.providers import (
    PROVIDERS,
    address_fits,
    guess_provider,
    provider,
    require_auth_fit,
    servers_fit,
)
from taskping_tui.widgets.confirm_dialog import ConfirmDialog

# Tests the answers live; gets the password typed in the form ("" when it comes from elsewhere).
ConnectionTester = Callable[[SetupAnswers, str], Awaitable[list[Check]]]

SECURITY_CHOICES = {"smtp": ["tls", "starttls", "none"], "imap": ["tls", "none"]}
STATUS_STYLES = {"ok": "green", "warning": "yellow", "error": "red"}


class InitScreen(Screen[WriteResult | None]):
    """Asks for the service mailbox, who gets and who may answer notifications, and writes the file."""

    CSS_PATH = "init_screen.tcss"

    BINDINGS = [
        Binding("ctrl+t", "test", "Test connections"),
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, config_path: Path, tester: ConnectionTester, theme_names: list[str]) -> None:
        super().__init__()
        self.config_path = config_path
        self.tester = tester
        self.theme_names = theme_names

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="init-form"):
            yield Static(
                f"Set up taskping-tui — the config will be written to {self.config_path}", id="init-title", markup=False
            )
            yield Label("Mail provider")
            yield Select([(p.label, p.key) for p in PROVIDERS], value="gmail", allow_blank=False, id="provider")
            yield Static("", id="provider-note", markup=False)
            yield Label("Service mailbox (notifications come from it, replies go to it)")
            yield Input(placeholder="taskping.bot@gmail.com", id="address")
            yield Label("Login name, if it is not the address")
            yield Input(id="username")
            yield Label("Outgoing mail (SMTP): host, port, security")
            with Horizontal(classes="row"):
                yield Input(placeholder="SMTP host", id="smtp_host")
                yield Input(placeholder="port", id="smtp_port", type="integer", classes="port")
                yield Select([(s, s) for s in SECURITY_CHOICES["smtp"]], allow_blank=False, id="smtp_security")
            yield Label("Incoming mail (IMAP): host, port, security")
            with Horizontal(classes="row"):
                yield Input(placeholder="IMAP host", id="imap_host")
                yield Input(placeholder="port", id="imap_port", type="integer", classes="port")
                yield Select([(s, s) for s in SECURITY_CHOICES["imap"]], allow_blank=False, id="imap_security")
            yield Label("Where the password comes from (it is never written to the config)")
            yield Select(
                [
                    ("an environment variable", "env"),
                    ("the system keyring", "keyring"),
                    ("a command that prints it", "command"),
                ],
                value="env",
                allow_blank=False,
                id="password_source",
            )
            yield Input(value="TASKPING_MAIL_PASSWORD", placeholder="variable name or command", id="password_ref")
            yield Input(
                placeholder="password, only to test the connection (and store it in the keyring)",
                password=True,
                id="password",
            )
            yield Label("Send notifications to (comma-separated)")
            yield Input(placeholder="you@example.com", id="recipients")
            yield Label("Accept commands only from (exact addresses; default: the recipients)")
            yield Input(id="allowed_senders")
            yield Label(
                "Trust replies only with this server's Authentication-Results verdict (require_auth; empty: off)"
            )
            yield Input(placeholder="authserv-id, e.g. mx.google.com", id="require_auth")
            yield Static("", id="require-auth-note", markup=False)
            yield Label("Approval")
            yield Select(
                [
                    ("auto: safe commands are typed when the agent is idle", "auto"),
                    ("manual: every command waits for my approval", "manual"),
                ],
                value="auto",
                allow_blank=False,
                id="approval",
            )
            yield Label("Theme")
            yield Select(
                [(name, name) for name in self.theme_names], value=self.theme_names[0], allow_blank=False, id="theme"
            )
            with Horizontal(id="init-buttons"):
                yield Button("Test connections", id="test")
                yield Button("Save", id="save", variant="primary")
            yield Static("", id="init-results")
        yield Footer()

    def on_mount(self) -> None:
        self._fill_provider("gmail")
        self.query_one("#address", Input).focus()

    def _fill_provider(self, key: str) -> None:
        chosen = provider(key)
        note = self.query_one("#provider-note", Static)
        note.update(chosen.note)
        note.display = bool(chosen.note)
        require_auth = self.query_one("#require_auth", Input)
        if chosen.key == "custom":
            # A preset's authserv-id means nothing for servers the user types: keep only one they typed.
            if any(require_auth.value.strip() == p.authserv_id for p in PROVIDERS if p.authserv_id):
                require_auth.value = ""
            return
        require_auth.value = chosen.authserv_id
        self.query_one("#smtp_host", Input).value = chosen.smtp_host
        self.query_one("#smtp_port", Input).value = str(chosen.smtp_port)
        self.query_one("#smtp_security", Select).value = chosen.smtp_security
        self.query_one("#imap_host", Input).value = chosen.imap_host
        self.query_one("#imap_port", Input).value = str(chosen.imap_port)
        self.query_one("#imap_security", Select).value = chosen.imap_security

    @on(Select.Changed, "#provider")
    def provider_changed(self, event: Select.Changed) -> None:
        self._fill_provider(str(event.value))

    @on(Input.Changed, "#address")
    def address_changed(self, event: Input.Changed) -> None:
        guessed = guess_provider(event.value)
        selector = self.query_one("#provider", Select)
        if "@" in event.value and guessed.key != "custom" and selector.value != guessed.key:
            selector.value = guessed.key
        elif not address_fits(provider(str(selector.value)), event.value):
            selector.value = "custom"

    @on(Input.Changed, "#smtp_host, #smtp_port, #imap_host, #imap_port")
    def server_changed(self) -> None:
        """Typed servers that are not the preset's: the picker says "Other" (and drops the preset's
        require_auth, which would reject every reply from another provider)."""
        selector = self.query_one("#provider", Select)
        typed = [self._value(name) for name in ("smtp_host", "smtp_port", "imap_host", "imap_port")]
        if not servers_fit(provider(str(selector.value)), *typed):
            selector.value = "custom"
        self._show_require_auth_fit()

    @on(Input.Changed, "#require_auth")
    def require_auth_changed(self) -> None:
        self._show_require_auth_fit()

    def _show_require_auth_fit(self) -> None:
        fit = require_auth_fit(self._value("require_auth"), self._value("imap_host"))
        note = self.query_one("#require-auth-note", Static)
        note.update(f"{fit.detail}" + (f" — {fit.fix}" if fit.fix else ""))
        note.set_class(fit.fits is False, "-warning")

    @on(Select.Changed, "#password_source")
    def password_source_changed(self, event: Select.Changed) -> None:
        reference = self.query_one("#password_ref", Input)
        reference.display = event.value != "keyring"
        reference.placeholder = "variable name" if event.value == "env" else "e.g. pass show mail/taskping"
        if event.value == "command" and reference.value == "TASKPING_MAIL_PASSWORD":
            reference.value = ""

    def _value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value.strip()

    def _choice(self, widget_id: str) -> str:
        return str(self.query_one(f"#{widget_id}", Select).value)

    def answers(self) -> SetupAnswers:
        recipients = split_addresses(self._value("recipients"))
        source = self._choice("password_source")
        return SetupAnswers(
            address=self._value("address"),
            username=self._value("username"),
            smtp_host=self._value("smtp_host"),
            smtp_port=int(self._value("smtp_port") or 0),
            smtp_security=self._choice("smtp_security"),
            imap_host=self._value("imap_host"),
            imap_port=int(self._value("imap_port") or 0),
            imap_security=self._choice("imap_security"),
            send_id=True,
            password_source=source,
            password_env=self._value("password_ref") if source == "env" else "",
            password_command=self._value("password_ref") if source == "command" else "",
            recipients=recipients,
            allowed_senders=split_addresses(self._value("allowed_senders")) or recipients,
            approval=self._choice("approval"),
            theme=self._choice("theme"),
            require_auth=self._value("require_auth"),
        )

    def _show_results(self, lines: list[Check]) -> None:
        text = "\n".join(
            f"[{STATUS_STYLES.get(line.status, 'white')}]{line.status:>7}[/] {line.name}: {line.detail}"
            + (f"\n        fix: {line.fix}" if line.fix else "")
            for line in lines
        )
        results = self.query_one("#init-results", Static)
        results.update(text)
        results.scroll_visible()

    def _checked_answers(self) -> SetupAnswers | None:
        answers = self.answers()
        try:
            check_answers(answers, self.config_path)
        except ConfigError as error:
            self._show_results([Check("config", "error", f"{error.key}: {error.problem}", error.fix)])
            return None
        return answers

    @on(Button.Pressed, "#test")
    def action_test(self) -> None:
        answers = self._checked_answers()
        if answers is not None:
            self._show_results([Check("connections", "warning", "testing…")])
            self._run_tests(answers, self.query_one("#password", Input).value)

    @work(exclusive=True, group="test")
    async def _run_tests(self, answers: SetupAnswers, password: str) -> None:
        self._show_results(await self.tester(answers, password))

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        answers = self._checked_answers()
        if answers is None:
            return
        if not self.config_path.exists():
            self._write(answers)
            return
        changes = "\n".join(f"  {table}.{key} = {value!r}" for table, key, value in answers_to_changes(answers))
        self.app.push_screen(
            ConfirmDialog(
                f"Update {self.config_path}?",
                f"The file exists. These keys will be set; everything else stays:\n\n{changes}",
                confirm_label="Update",
            ),
            lambda confirmed: self._write(answers) if confirmed else None,
        )

    def _write(self, answers: SetupAnswers) -> None:
        password = self.query_one("#password", Input).value
        if answers.password_source == "keyring" and password:
            try:
                import keyring

                keyring.set_password("taskping-tui", answers.username or answers.address, password)
            except Exception as error:  # keyring backends raise many kinds of errors
                self._show_results(
                    [
                        Check(
                            "keyring",
                            "error",
                            f"could not store the password: {error}",
                            "choose an environment variable or a command instead",
                        )
                    ]
                )
                return
        try:
            result = update_config_file(self.config_path, answers_to_changes(answers))
        except (ConfigWriteError, OSError) as error:
            self._show_results([Check("save", "error", str(error))])
            return
        self.dismiss(result)

    def action_cancel(self) -> None:
        self.dismiss(None)
