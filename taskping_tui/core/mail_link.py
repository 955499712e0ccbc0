"""The shared mail link: outbox, IMAP watcher, inbound processing, expiry, command actions and injection.

One per app, created only when mail is on (so none of its parts is ever Optional). It serves every
session: a reply is routed by its token / In-Reply-To to the session that mail belongs to, and each
session's injector types only that session's commands, under that session's idle / empty-prompt /
not-typing rules. The UI is reached through :class:`MailView`; nothing here imports Textual.
"""

from __future__ import annotations

import dataclasses
import logging
import ssl
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from taskping_tui.agent.state import AgentState
from taskping_tui.config import Config
from taskping_tui.core.permission_followup import DeniedPermissionFollowUp
from taskping_tui.inbound.command_edit import ApprovalPlan, plan_approval
from taskping_tui.inbound.commands import CommandEvent
from taskping_tui.inbound.injector import AgentView, Injector
from taskping_tui.inbound.processor import InboundProcessor, PendingPermission, ProcessedMail, dangerous_permission
from taskping_tui.mail.compose import NotificationFacts, NotificationKind
from taskping_tui.mail.outbox import Outbox
from taskping_tui.mail.password import PasswordError, Secret, resolve_password
from taskping_tui.mail.sender import SmtpSender
from taskping_tui.mail.watcher import FetchedMail, MailWatcher, WatcherStatus, WatcherTimings
from taskping_tui.mail.watcher_problem import WatcherProblem, no_password_problem, watcher_problem
from taskping_tui.store import CommandRow, OutboxRow, Store

logger = logging.getLogger(__name__)

SESSION_ENDED_REASON = "this session has ended"


class MailView(Protocol):
    """What the mail link shows; the main screen implements it."""

    def show_inbound(self, mail_id: int) -> None: ...

    def show_command(self, command: CommandRow) -> None: ...

    def show_commands(self, commands: list[CommandRow]) -> None: ...

    def set_inbound_status(self, text: str) -> None: ...

    def show_inbound_problem(self, problem: WatcherProblem | None) -> None: ...

    def outbox_changed(self, row: OutboxRow) -> None: ...

    def toast(
        self, message: str, *, title: str = "", severity: str = "information", timeout: float | None = None
    ) -> None: ...


@dataclass
class SessionPort:
    """One hosted session as the injector sees it: how to write to its agent and read what it shows."""

    session_id: str
    write: Callable[[bytes], None]
    view: Callable[[], AgentView | None]  # None while the agent is not running
    pending_permission: Callable[[], PendingPermission | None]
    name: Callable[[], str]
    # The agent's directory and last prompt, for the mail that follows a permission denied by mail.
    context: Callable[[], tuple[str, str]] = lambda: ("", "")


Spawn = Callable[[Coroutine[Any, Any, None]], object]


class MailLink:
    """Build with :meth:`start`; call :meth:`tick` often and :meth:`stop` once."""

    def __init__(
        self,
        config: Config,
        store: Store,
        view: MailView,
        *,
        spawn: Spawn,
        session_ended: Callable[[str], bool] = lambda _session: False,
        smtp_ssl_context: ssl.SSLContext | None = None,
        imap_ssl_context: ssl.SSLContext | None = None,
        watcher_timings: WatcherTimings | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.view = view
        self._spawn = spawn
        self._session_ended = session_ended
        self._smtp_ssl_context = smtp_ssl_context
        self._imap_ssl_context = imap_ssl_context
        self._watcher_timings = watcher_timings
        self._ports: dict[str, SessionPort] = {}
        self._injectors: dict[str, Injector] = {}
        self._injecting: set[str] = set()
        self.waiting_notes: dict[int, str] = {}
        self.outbox: Outbox | None = None
        self.processor: InboundProcessor | None = None
        self.watcher: MailWatcher | None = None
        self.secret: Secret | None = None  # never a bare str: tracebacks print locals
        self._watcher_problem: WatcherProblem | None = None
        self._denials: dict[str, DeniedPermissionFollowUp] = {}
        self._stopped = False

    # -- life cycle -----------------------------------------------------------------------------------

    async def start(self, resolve: Callable[[], Awaitable[Secret]]) -> None:
        """Resolve the password (``resolve``: the App's, off the event loop), then build sender and watcher."""
        password_error = ""
        try:
            self.secret = await resolve()
        except PasswordError as error:
            self.view.toast(str(error), title="Mail password", severity="error", timeout=15)
            password_error = str(error)
        secret = self.secret
        sender = SmtpSender(
            self.config.mail,
            ssl_context=self._smtp_ssl_context,
            password_resolver=(lambda _mail: secret.reveal()) if secret is not None else resolve_password,
        )
        self.outbox = Outbox(self.store, self.config.mail, sender=sender)
        self.outbox.add_listener(self.view.outbox_changed)
        self.processor = InboundProcessor(
            self.store,
            self.config,
            permission_for_session=self._pending_permission,
            session_ended=self._session_ended,
        )
        if secret is None:
            self.view.show_inbound_problem(no_password_problem(password_error))
        else:
            self.watcher = MailWatcher(
                self.config.mail.imap,
                self.config.mail.login,
                secret.reveal(),
                self.store,
                self.on_mail,
                on_status=self._on_watcher_status,
                timings=self._watcher_timings,
                ssl_context=self._imap_ssl_context,
            )

    def run(self) -> None:
        """Start sending and watching (after the panels show the history)."""
        assert self.outbox is not None
        self.outbox.start()
        if self.watcher is not None:
            self.watcher.start()

    @property
    def expiry_interval(self) -> float:
        ttl_seconds = self.config.security.command_ttl_minutes * 60
        return min(30.0, max(0.5, ttl_seconds / 4))

    async def stop(self) -> None:
        self._stopped = True
        if self.watcher is not None:
            await self.watcher.stop()
            self.watcher = None
        self._injectors.clear()
        if self.outbox is not None:
            await self.outbox.stop()

    # -- sessions -------------------------------------------------------------------------------------

    def attach(self, port: SessionPort) -> None:
        """Type this session's approved commands into it from now on."""
        self._ports[port.session_id] = port
        only_this_session = frozenset({port.session_id})
        self._injectors[port.session_id] = Injector(self.store, port.write, sessions=lambda: only_this_session)

    def detach(self, session_id: str) -> None:
        self._ports.pop(session_id, None)
        self._injectors.pop(session_id, None)

    def _pending_permission(self, session_id: str | None) -> PendingPermission | None:
        port = self._ports.get(session_id or "")
        return port.pending_permission() if port is not None else None

    def enqueue(self, facts: NotificationFacts) -> OutboxRow:
        assert self.outbox is not None
        return self.outbox.enqueue(facts)

    def _session_name(self, session_id: str) -> str:
        port = self._ports.get(session_id)
        if port is not None:
            return port.name()
        row = self.store.get_session(session_id)
        return row.name if row is not None else ""

    # -- inbound --------------------------------------------------------------------------------------

    async def on_mail(self, mail: FetchedMail) -> None:
        """The watcher's handler: commit the outcome (the watcher marks the mail \\Seen afterwards)."""
        assert self.processor is not None and self.watcher is not None
        processed = self.processor.process(mail, self.watcher.mailbox_key)
        if processed is not None:
            self.show_processed(processed)

    def show_processed(self, processed: ProcessedMail) -> None:
        self.view.show_inbound(processed.recorded.mail_id)
        if processed.ended_session is not None:
            self._answer_ended_session(processed)
        if processed.recorded.command_id is None:
            return
        command = self.store.get_command(processed.recorded.command_id)
        if command is None:
            return
        self.view.show_command(command)
        if command.state == "approved":
            self.tick()  # don't wait for the next tick
        if command.state in ("blocked", "queued"):
            self.view.toast(
                f"{command.sender}: {command.text}",
                title="Command waits for your approval",
                severity="warning",
                timeout=8,
            )

    def _answer_ended_session(self, processed: ProcessedMail) -> None:
        session_id = processed.ended_session
        assert session_id is not None
        self.view.toast(
            f"{processed.sender}: {processed.command}",
            title="Reply to a closed session rejected",
            severity="warning",
            timeout=8,
        )
        if self.outbox is not None:
            self.outbox.enqueue(
                NotificationFacts(
                    kind="session_ended",
                    session_id=session_id,
                    session_name=self._session_name(session_id),
                    summary=f"Not typed: {SESSION_ENDED_REASON}. Open a new session to give an agent work.",
                    prompt=processed.command,
                )
            )

    def _on_watcher_status(self, status: WatcherStatus) -> None:
        """The watcher's state in the Inbound title; a problem it cannot get past (a refused login) in the
        panel's body, with the fix, and in one notice (not one per retry)."""
        problem = watcher_problem(status, self.config.mail)
        if problem is None:
            self.view.set_inbound_status(status.text)
        self.view.show_inbound_problem(problem)
        if problem is not None and problem != self._watcher_problem:
            self.view.toast(f"{problem.reason}\nFix: {problem.fix}", title=problem.title, severity="error", timeout=20)
        self._watcher_problem = problem

    # -- injection ------------------------------------------------------------------------------------

    def tick(self) -> None:
        """Start an injection attempt for each session that has an approved command and is not typing one."""
        if self._stopped:
            return
        for session_id, injector in list(self._injectors.items()):
            if session_id in self._injecting:
                continue
            if injector.next_command() is None:  # the common case: nothing to type, no screen reading
                continue
            self._injecting.add(session_id)
            self._spawn(self._inject_step(session_id, injector))

    async def _inject_step(self, session_id: str, injector: Injector) -> None:
        try:
            port = self._ports.get(session_id)
            view = port.view() if port is not None else None
            if view is None or self._stopped:
                return
            step = await injector.step(view)
            command = step.command
            if command is None or step.plan is None:
                return
            if step.plan.action == "wait":
                note = f"waiting: {step.plan.reason}"
                if self.waiting_notes.get(command.id) != note:
                    self.waiting_notes[command.id] = note
                    self.view.show_command(command)
                return
            self.waiting_notes.pop(command.id, None)
            self.view.show_command(command)
            if step.plan.action == "drop" and command.state == "rejected":
                self._mail_about(command, "command_not_typed", f"Not typed into the agent: {step.plan.reason}.")
            if command.state == "injected":
                self._after_injection(command)
                if port is not None:
                    pending = port.pending_permission()
                    cwd, prompt = port.context()
                    self._denial(session_id).answered(
                        command,
                        step.plan.action,
                        tool_name=pending.tool_name if pending else "",
                        cwd=cwd,
                        prompt=prompt,
                    )
        finally:
            self._injecting.discard(session_id)

    def _denial(self, session_id: str) -> DeniedPermissionFollowUp:
        return self._denials.setdefault(session_id, DeniedPermissionFollowUp())

    def on_agent_state(self, session_id: str, state: AgentState) -> None:
        """After a permission denied by mail, the agent waits for an instruction: say so in the thread."""
        follow_up = self._denial(session_id).on_state(state)
        if follow_up is not None and self.outbox is not None:
            self.outbox.enqueue(dataclasses.replace(follow_up, session_name=self._session_name(session_id)))

    def _after_injection(self, command: CommandRow) -> None:
        self.view.toast(command.text, title="Command typed into the agent", timeout=4)
        if self.config.mail.send_confirmation:
            self._mail_about(command, "command_received", f"Received: {command.text}")

    def expire_commands(self) -> None:
        for command in self.store.expire_commands(self.config.security.command_ttl_minutes * 60):
            self.view.show_command(command)
            self._mail_about(command, "command_expired", f"Expired without being typed: {command.text}")

    def _mail_about(self, command: CommandRow, kind: NotificationKind, summary: str) -> None:
        """A mail about ``command`` in its session's thread."""
        if self.outbox is not None and command.session_id:
            self.outbox.enqueue(
                NotificationFacts(
                    kind=kind,
                    summary=summary,
                    session_id=command.session_id,
                    session_name=self._session_name(command.session_id),
                    prompt=command.text,
                )
            )

    # -- command actions (the Commands panel) ---------------------------------------------------------

    def command(self, command_id: int) -> CommandRow | None:
        return self.store.get_command(command_id)

    def plan_approval(self, command: CommandRow, text: str | None = None) -> ApprovalPlan:
        """What approving ``command`` (edited into ``text``) means: an edit is checked again for danger."""
        patterns = self.config.security.danger_patterns
        pending = self._pending_permission(command.session_id)
        return plan_approval(
            command.state,
            command.text,
            command.danger_pattern,
            text,
            patterns,
            lambda edited: dangerous_permission(edited, pending, patterns),
        )

    def apply(
        self, command: CommandRow, event: CommandEvent, *, text: str | None = None, note: str
    ) -> CommandRow | None:
        """Apply a keyboard decision; None (after a notice) when the command is elsewhere by now."""
        updated = self.store.apply_command_event(command.id, event, text=text, note=note)
        if updated is None:
            self.view.toast(f"A command that is {command.state} cannot be changed that way.", severity="warning")
            return None
        self.view.show_command(updated)
        if updated.state == "approved":
            self.tick()
        return updated

    def approve(self, command: CommandRow, plan: ApprovalPlan | None = None) -> CommandRow | None:
        """Approve (after the screen asked where the plan says so); an edit keeps both texts in its history."""
        plan = plan or self.plan_approval(command)
        if plan.edited and self.store.edit_command(command.id, plan.text, plan.danger) is None:
            self.view.toast(f"A command that is {command.state} cannot be edited.", severity="warning")
            return None
        note = "edited and approved at the keyboard" if plan.edited else "approved at the keyboard"
        return self.apply(command, CommandEvent.APPROVE, note=note)

    def reject(self, command: CommandRow) -> CommandRow | None:
        return self.apply(command, CommandEvent.REJECT, note="rejected at the keyboard")

    def move(self, command: CommandRow, offset: int) -> None:
        if self.store.move_command(command.id, offset):
            self.view.show_commands(self.store.list_commands())

    def resend(self, outbox_id: int) -> None:
        if self.outbox is None or self.outbox.resend(outbox_id) is None:
            self.view.toast("Only a failed mail can be sent again.", severity="warning")

    def revoke_token_of(self, outbox_id: int) -> None:
        row = self.store.get_outbox(outbox_id)
        if row is not None and self.store.revoke_token(row.token):
            self.view.toast(f"Token #{row.token} revoked: replies carrying it are rejected from now on.")
