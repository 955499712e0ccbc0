"""One hosted agent session's link to its agent: hook socket, launch plan, tracker, ids, screen reading.

Each session has its own private instance dir (0700) with its own hook socket and ``--settings`` file, so
a hook event can only ever reach the session whose agent sent it and ``taskping-tui hook`` stays as small
as it is. Nothing here imports Textual: the pane is reached through the small :class:`AgentPane`
protocol, which a unit test fakes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from taskping_tui.agent.events import HookEvent
from taskping_tui.agent.hooks import InstanceDir, LaunchPlan, is_claude_code, plan_agent_launch
from taskping_tui.agent.permission_mode import PermissionModeWatch
from taskping_tui.agent.question import QUESTION_TOOL, mail_answerable_questions
from taskping_tui.agent.screen_hints import (
    claude_prompt_text,
    cursor_at_prompt,
    permission_dialog_visible,
    permission_options,
    question_dialog_options,
)
from taskping_tui.agent.socket_server import HookSocketServer
from taskping_tui.agent.state import AgentState, AgentTracker, Notification, TrackerSettings
from taskping_tui.inbound.injector import AgentView
from taskping_tui.inbound.permission import dialog_key
from taskping_tui.inbound.processor import PendingPermission

logger = logging.getLogger(__name__)


class AgentPane(Protocol):
    """What the link needs of the terminal pane showing the agent (``TerminalView`` fits)."""

    last_key_time: float

    @property
    def terminal_screen(self) -> Any: ...

    def write(self, data: bytes) -> None: ...


def screen_lines(pane: AgentPane) -> list[str]:
    return list(pane.terminal_screen.display)


def resume_argv(argv: Sequence[str], agent_session_id: str | None, transcript_path: str | None) -> list[str]:
    """The argv that brings a session back: Claude Code resumes its conversation when the transcript exists."""
    if agent_session_id and transcript_path and Path(transcript_path).is_file() and is_claude_code(argv):
        return [*argv, "--resume", agent_session_id]
    return list(argv)


@dataclass(frozen=True)
class AgentIds:
    """Claude Code's own id for the conversation, and where its transcript is (for ``--resume``)."""

    session_id: str | None
    transcript_path: str | None


Notes = Callable[[list[Notification]], None]
StateChange = Callable[[AgentState, AgentState], None]
IdsChange = Callable[[AgentIds], None]
Notice = Callable[[str], None]


class AgentLink:
    """Hook server, launch plan and tracker of one session; the screen hands it the pane's signals."""

    def __init__(
        self,
        argv: Sequence[str],
        cwd: str,
        *,
        settings: TrackerSettings,
        on_notes: Notes,
        on_state_change: StateChange | None = None,
        on_ids_change: IdsChange | None = None,
        on_notice: Notice | None = None,
        runtime_dir: Path | None = None,
        agent_ids: AgentIds | None = None,
    ) -> None:
        self.argv = list(argv)
        self.cwd = cwd
        self.settings = settings
        self._on_notes = on_notes
        self._on_state_change = on_state_change
        self._on_ids_change = on_ids_change
        self._on_notice = on_notice
        # Claude Code's permission mode: one notice when it runs in a mode that never asks (auto mode).
        self.mode_watch = PermissionModeWatch()
        self._runtime_dir = runtime_dir
        self.ids = agent_ids or AgentIds(None, None)
        self.pending_permission: PendingPermission | None = None
        self._instance: InstanceDir | None = None
        self._hook_server: HookSocketServer | None = None
        self.plan: LaunchPlan | None = None
        self._planned_ids: AgentIds | None = None
        self.tracker: AgentTracker | None = None

    @property
    def is_claude(self) -> bool:
        return self.plan.is_claude if self.plan is not None else is_claude_code(self.argv)

    @property
    def state(self) -> AgentState | None:
        return self.tracker.state if self.tracker is not None else None

    # -- life cycle -----------------------------------------------------------------------------------

    async def open(self, *, resume: bool = False) -> LaunchPlan:
        """Start the hook socket and plan the first launch (``resume``: continue the known conversation)."""
        self._instance = InstanceDir.create(self._runtime_dir)
        self._hook_server = HookSocketServer(self._instance.socket_path, self.on_hook)
        await self._hook_server.start()
        plan = self.plan_launch(resume=resume)
        self._take_planned_ids()
        self.new_tracker()
        return plan

    def _take_planned_ids(self) -> None:
        if self._planned_ids is not None:
            self._set_ids(self._planned_ids)
            self._planned_ids = None

    def plan_launch(self, *, resume: bool = False) -> LaunchPlan:
        """A new launch plan: a fresh ``--session-id`` for Claude Code, or ``--resume`` of the last one."""
        assert self._instance is not None, "open() first"
        argv = resume_argv(self.argv, self.ids.session_id, self.ids.transcript_path) if resume else self.argv
        self.plan = plan_agent_launch(argv, self._instance)
        # A fresh --session-id replaces the known conversation only once that launch really starts.
        self._planned_ids = AgentIds(self.plan.session_id, None) if self.plan.session_id else None
        return self.plan

    def new_tracker(self) -> AgentTracker:
        self.tracker = AgentTracker(
            is_claude=self.is_claude,
            settings=self.settings,
            on_state_change=self._state_changed,
            session_id=self.ids.session_id,
            cwd=self.cwd,
        )
        self.pending_permission = None
        return self.tracker

    async def close(self) -> None:
        if self._hook_server is not None:
            await self._hook_server.stop()
            self._hook_server = None
        if self._instance is not None:
            self._instance.cleanup()
            self._instance = None

    # -- signals from the agent and its pane -------------------------------------------------------------

    def on_hook(self, event: HookEvent) -> None:
        if event.session_id and (
            event.session_id != self.ids.session_id
            or (event.transcript_path and event.transcript_path != self.ids.transcript_path)
        ):
            # SessionStart after startup / resume / clear / compact: the conversation Claude Code now writes.
            self._set_ids(AgentIds(event.session_id, event.transcript_path or self.ids.transcript_path))
        self._notice(self.mode_watch.on_hook(event))
        if self.tracker is not None:
            self._handle(self.tracker.on_hook(event))

    def on_title(self, title: str) -> None:
        if self.tracker is not None:
            self._handle(self.tracker.on_title(title))

    def on_output(self, nbytes: int) -> None:
        if self.tracker is not None:
            self._handle(self.tracker.on_output(nbytes))

    def on_started(self) -> None:
        self._take_planned_ids()
        if self.tracker is None or self.tracker.state is AgentState.EXITED:
            self.new_tracker()
            self._state_changed(AgentState.EXITED, AgentState.STARTING)

    def expect_exit(self) -> None:
        """The user ends the agent (restart, close): its exit is no news, so no "Agent exited" mail."""
        if self.tracker is not None:
            self.tracker.expect_exit()

    def on_exit(
        self, status: int | None, signal: int | None, *, resume: bool = False, user_typed_last: bool = False
    ) -> LaunchPlan | None:
        """Record the exit; returns the plan for the next start (a new Claude Code session id, or ``resume``
        the conversation) unless the link is closed.

        ``user_typed_last``: a key in the pane came just before a clean exit (``exit``, Ctrl+D): on purpose.
        """
        if self.tracker is not None:
            code = status if status is not None else (-signal if signal is not None else None)
            self._handle(self.tracker.on_exit(code, user_typed_last=user_typed_last))
        if self._instance is None:
            return None
        return self.plan_launch(resume=resume)

    def tick(self, pane: AgentPane) -> None:
        tracker = self.tracker
        if tracker is None or tracker.state is AgentState.EXITED:
            return
        lines: list[str] | None = None
        dialog: bool | None = None
        if tracker.state is AgentState.WAITING:
            lines = screen_lines(pane)
            # Claude's question is a dialog too: while it is drawn the agent still waits.
            dialog = permission_dialog_visible(lines) or bool(question_dialog_options(lines))
        at_prompt = False
        excerpt: str | None = None
        if not tracker.is_claude:
            screen = pane.terminal_screen
            lines = lines or screen_lines(pane)
            at_prompt = cursor_at_prompt(lines, screen.cursor.y, screen.cursor.x)
            excerpt = "\n".join(line.rstrip() for line in lines if line.strip())[-2000:]
        self._handle(tracker.tick(cursor_at_prompt=at_prompt, screen_excerpt=excerpt, permission_dialog_visible=dialog))
        if tracker.is_claude and self.mode_watch.wants_screen:
            self._notice(self.mode_watch.on_screen(lines or screen_lines(pane)))

    @property
    def context(self) -> tuple[str, str]:
        """The agent's directory and its last prompt (for mails that follow up on a turn)."""
        tracker = self.tracker
        return (tracker.cwd if tracker and tracker.cwd else self.cwd), (tracker.last_prompt or "" if tracker else "")

    def agent_view(self, pane: AgentPane) -> AgentView:
        """What the injector needs to know about this agent right now, read from its pane."""
        tracker = self.tracker
        state = tracker.state if tracker is not None else AgentState.STARTING
        screen = pane.terminal_screen
        lines = screen_lines(pane)
        if self.is_claude:
            prompt = claude_prompt_text(lines, [screen.buffer[y] for y in range(len(lines))])
        else:
            prompt = "" if cursor_at_prompt(lines, screen.cursor.y, screen.cursor.x) else None
        pending = self.pending_permission if state is AgentState.WAITING else None
        asks = pending is not None and pending.tool_name == QUESTION_TOOL
        questions = mail_answerable_questions(pending.tool_name, pending.tool_input) if pending is not None else ()
        if questions:
            options = question_dialog_options(lines)
        else:
            options = permission_options(lines) if state is AgentState.WAITING and not asks else {}
        return AgentView(
            state=state,
            prompt_text=prompt,
            dialog_options=options,
            seconds_since_key=time.monotonic() - pane.last_key_time,
            bracketed_paste=screen.bracketed_paste,
            questions=questions,
            question_needs_keyboard=asks and not questions,
            dialog_key=dialog_key(pending.tool_name, pending.tool_input) if pending is not None else "",
        )

    # -- inside ---------------------------------------------------------------------------------------

    def _handle(self, notes: list[Notification]) -> None:
        for note in notes:
            if note.kind.value == "needs_permission":
                self.pending_permission = PendingPermission(note.tool_name or "", note.tool_input)
        if notes:
            self._on_notes(notes)

    def _notice(self, notice: str | None) -> None:
        if notice and self._on_notice is not None:
            self._on_notice(notice)

    def _state_changed(self, old: AgentState, new: AgentState) -> None:
        if new is not AgentState.WAITING:
            self.pending_permission = None
        if self._on_state_change is not None:
            self._on_state_change(old, new)

    def _set_ids(self, ids: AgentIds) -> None:
        self.ids = ids
        if self._on_ids_change is not None:
            self._on_ids_change(ids)
