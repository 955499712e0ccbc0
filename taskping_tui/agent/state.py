"""What the agent is doing, as a pure state machine fed by hooks, the terminal title, output and exit.

Nothing here does I/O except reading the transcript file named by a hook (and that is injectable). Time
comes from the ``clock`` given to the tracker, so tests drive it by hand. The caller calls ``tick()``
periodically (a few times a second is plenty) for the time-based transitions.

Observed on Claude Code 2.1.197 (see tests/functional/test_claude_hooks.py):
- title ``✳ Claude Code`` when the prompt waits for input, ``<braille spinner> Claude Code`` while working;
- the title shows ``✳`` while a permission dialog is open too, and it turns ``✳`` a little *before* the Stop
  hook arrives (the hook is a separate process). So a title going idle is only trusted as an Esc interrupt
  after a grace period without any hook explaining it.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from taskping_tui.agent.events import HookEvent
from taskping_tui.agent.question import QUESTION_TOOL, read_questions

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
TranscriptReader = Callable[[str], "str | None"]

IDLE_TITLE_MARK = "✳"
# Claude Code's spinner frames (braille dots), plus the star-like frames some versions use.
BUSY_TITLE_MARKS = frozenset("⠁⠂⠄⡀⢀⠠⠐⠈⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏✢✶✻✽·*")
SUMMARY_WIDTH = 100
# SessionEnd reasons that mean the user left on purpose (2.1.332: /exit and Ctrl+D twice → prompt_input_exit).
USER_EXIT_REASONS = frozenset({"prompt_input_exit", "logout"})
TRANSCRIPT_TAIL_BYTES = 2 * 1024 * 1024


class AgentState(enum.StrEnum):
    STARTING = "starting"
    BUSY = "busy"
    IDLE = "idle"
    WAITING = "waiting"
    EXITED = "exited"


class NotificationKind(enum.StrEnum):
    TURN_FINISHED = "turn_finished"
    NEEDS_PERMISSION = "needs_permission"
    API_ERROR = "api_error"
    EXITED = "exited"


@dataclass(frozen=True)
class Notification:
    """One event worth telling the user about, with the facts a mail needs."""

    time: float
    kind: NotificationKind
    summary: str
    session_id: str | None = None
    cwd: str | None = None
    prompt: str | None = None
    last_assistant_message: str | None = None
    transcript_path: str | None = None
    tool_name: str | None = None
    tool_input: dict[str, Any] | None = None
    error: str | None = None
    exit_code: int | None = None

    @property
    def when(self) -> datetime:
        return datetime.fromtimestamp(self.time, tz=UTC).astimezone()


@dataclass(frozen=True)
class TrackerSettings:
    """Timings of the tracker (all seconds)."""

    # A second Stop within this window of the first, in the same turn, is a repeat.
    stop_debounce: float = 3.0
    # A title going idle with no hook is taken as an Esc interrupt only after this long.
    title_idle_grace: float = 2.0
    # A Notification permission_prompt this soon after a PermissionRequest is the same dialog (2.1.197: ≈6 s).
    permission_dedupe: float = 30.0
    # WAITING ends (dialog answered "No" / Esc: no hook, no title change) once the dialog is off screen this long.
    dialog_gone_grace: float = 1.5
    # Non-Claude agents: idle after this much output silence (with the cursor at a prompt).
    silence_seconds: float = 3.0
    # Non-Claude agents: a busy spell with less output than this (key echo) is not a finished turn.
    min_turn_output_bytes: int = 256


def one_line(text: str | None, width: int = SUMMARY_WIDTH) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def title_kind(title: str) -> AgentState | None:
    """IDLE for ``✳ …``, BUSY for a spinner glyph prefix, None for anything else (e.g. the empty exit title)."""
    stripped = title.lstrip()
    if not stripped:
        return None
    if stripped.startswith(IDLE_TITLE_MARK):
        return AgentState.IDLE
    if stripped[0] in BUSY_TITLE_MARKS or 0x2800 <= ord(stripped[0]) <= 0x28FF:
        return AgentState.BUSY
    return None


def assistant_text(entry: dict[str, Any]) -> str | None:
    message = entry.get("message")
    if entry.get("type") != "assistant" or not isinstance(message, dict):
        return None
    content = message.get("content")
    if isinstance(content, str):
        return content or None
    texts = [b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text"]
    joined = "\n".join(t for t in texts if t)
    return joined or None


def read_last_assistant_text(transcript_path: str) -> str | None:
    """The last assistant text in a Claude Code transcript (JSONL), reading only the file's tail."""
    try:
        with open(transcript_path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - TRANSCRIPT_TAIL_BYTES))
            tail = handle.read()
    except OSError as exc:
        logger.debug("cannot read transcript %s: %s", transcript_path, exc)
        return None
    for raw in reversed(tail.splitlines()):
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if isinstance(entry, dict):
            text = assistant_text(entry)
            if text:
                return text
    return None


@dataclass
class _Turn:
    """What we know about the current turn."""

    notified: bool = False
    stop_at: float | None = None
    stop_message: str | None = None


@dataclass
class _Silence:
    """Output bookkeeping for agents without hooks."""

    last_output_at: float | None = None
    bytes_in_spell: int = 0


class AgentTracker:
    """Consumes agent signals and returns the Notifications they deserve; ``state`` is always current."""

    def __init__(
        self,
        *,
        is_claude: bool,
        clock: Clock = time.time,
        settings: TrackerSettings | None = None,
        transcript_reader: TranscriptReader = read_last_assistant_text,
        on_state_change: Callable[[AgentState, AgentState], None] | None = None,
        session_id: str | None = None,
        cwd: str | None = None,
    ) -> None:
        self.is_claude = is_claude
        self.clock = clock
        self.settings = settings or TrackerSettings()
        self.transcript_reader = transcript_reader
        self.on_state_change = on_state_change
        self.state = AgentState.STARTING
        self.session_id = session_id
        self.cwd = cwd
        self.transcript_path: str | None = None
        self.last_prompt: str | None = None
        self.title: str | None = None
        self.interrupted_turns = 0
        self._turn = _Turn()
        self._title_idle_since: float | None = None
        self._last_permission_request_at: float | None = None
        self._dialog_gone_since: float | None = None
        self._silence = _Silence()
        # The user ended the agent (/exit, Ctrl+D twice: SessionEnd "prompt_input_exit"; a restart): no news.
        self._exit_on_purpose = False

    # -- inputs ----------------------------------------------------------------------------------------

    def on_hook(self, event: HookEvent) -> list[Notification]:
        if self.state is AgentState.EXITED:
            return []
        self._remember_facts(event)
        handler = {
            "SessionStart": self._on_session_start,
            "UserPromptSubmit": self._on_prompt_submit,
            "Stop": self._on_stop,
            "StopFailure": self._on_stop_failure,
            "PermissionRequest": self._on_permission_request,
            "Notification": self._on_notification,
            "SessionEnd": self._on_session_end,
        }.get(event.event)
        return handler(event) if handler else []

    def on_title(self, title: str) -> list[Notification]:
        """The child set its window title (OSC 0/2)."""
        self.title = title
        if self.state is AgentState.EXITED or not self.is_claude:  # ✳ / spinner titles are Claude Code's
            return []
        kind = title_kind(title)
        if kind is AgentState.BUSY:
            self._title_idle_since = None
            if self.state is not AgentState.BUSY:
                if self.state is AgentState.IDLE:
                    self._start_turn()
                self._set_state(AgentState.BUSY)
        elif kind is AgentState.IDLE:
            if self.state is AgentState.STARTING:
                self._set_state(AgentState.IDLE)
            elif self.state is AgentState.BUSY and self._title_idle_since is None:
                self._title_idle_since = self.clock()
        return []

    def on_output(self, nbytes: int) -> list[Notification]:
        """The child wrote output. Drives the state only for agents without hooks."""
        if self.is_claude or self.state is AgentState.EXITED or nbytes <= 0:
            return []
        self._silence.last_output_at = self.clock()
        self._silence.bytes_in_spell += nbytes
        # Start-up output (banner, first prompt) is not a turn: STARTING ends in IDLE once output goes quiet.
        if self.state is AgentState.IDLE and self._silence.bytes_in_spell >= self.settings.min_turn_output_bytes:
            self._set_state(AgentState.BUSY)
        return []

    def expect_exit(self) -> None:
        """The app ends the agent itself (restart): its exit is no news."""
        self._exit_on_purpose = True

    def on_exit(self, exit_code: int | None, *, user_typed_last: bool = False) -> list[Notification]:
        """The child process ended. ``user_typed_last``: a key in the pane came just before (``exit``, Ctrl+D).

        An exit the user asked for sends no notification; an unexpected one (a crash, a kill) does.
        """
        if self.state is AgentState.EXITED:
            return []
        self._set_state(AgentState.EXITED)
        # The typed-just-before rule also covers Claude Code when its SessionEnd hook is read after the exit.
        if self._exit_on_purpose or (user_typed_last and exit_code == 0):
            return []
        summary = "Agent exited" if exit_code is None else f"Agent exited (code {exit_code})"
        return [self._notification(NotificationKind.EXITED, summary, exit_code=exit_code)]

    def tick(
        self,
        cursor_at_prompt: bool = False,
        screen_excerpt: str | None = None,
        permission_dialog_visible: bool | None = None,
    ) -> list[Notification]:
        """Time-based transitions.

        ``permission_dialog_visible`` (see ``screen_hints``; None = unknown) lets WAITING end when the user
        answered the dialog with "No". ``cursor_at_prompt``/``screen_excerpt`` matter only for non-Claude agents.
        """
        if self.state is AgentState.EXITED:
            return []
        now = self.clock()
        if self._title_idle_since is not None and now - self._title_idle_since >= self.settings.title_idle_grace:
            return self._title_settled_idle()
        if self.state is AgentState.WAITING and permission_dialog_visible is not None:
            self._watch_dialog(now, permission_dialog_visible)
        if not self.is_claude:
            return self._silence_tick(now, cursor_at_prompt, screen_excerpt)
        return []

    def next_deadline(self) -> float | None:
        """When ``tick()`` could next change something (clock time), or None when nothing is pending."""
        deadlines = []
        if self._title_idle_since is not None:
            deadlines.append(self._title_idle_since + self.settings.title_idle_grace)
        if self._dialog_gone_since is not None:
            deadlines.append(self._dialog_gone_since + self.settings.dialog_gone_grace)
        if not self.is_claude and self._silence.last_output_at is not None:
            deadlines.append(self._silence.last_output_at + self.settings.silence_seconds)
        return min(deadlines) if deadlines else None

    # -- hook handlers ---------------------------------------------------------------------------------

    def _remember_facts(self, event: HookEvent) -> None:
        if event.session_id:
            self.session_id = event.session_id
        if event.cwd:
            self.cwd = event.cwd
        if event.transcript_path:
            self.transcript_path = event.transcript_path

    def _on_session_end(self, event: HookEvent) -> list[Notification]:
        if event.raw.get("reason") in USER_EXIT_REASONS:
            self._exit_on_purpose = True
        return []

    def _on_session_start(self, event: HookEvent) -> list[Notification]:
        if self.state is AgentState.STARTING:
            self._set_state(AgentState.IDLE)
        return []

    def _on_prompt_submit(self, event: HookEvent) -> list[Notification]:
        self._title_idle_since = None
        if event.prompt is not None:
            self.last_prompt = event.prompt
        if self.state is not AgentState.BUSY or self._turn.notified:
            self._start_turn()
        self._set_state(AgentState.BUSY)
        return []

    def _on_stop(self, event: HookEvent) -> list[Notification]:
        if event.stop_hook_active:
            logger.debug("Stop with stop_hook_active: another hook keeps the turn going")
            return []
        self._title_idle_since = None
        now = self.clock()
        if self._is_repeat_stop(event, now):
            logger.debug("repeated Stop in the same turn ignored")
            return []
        self._set_state(AgentState.IDLE)
        answer = event.last_assistant_message or self._transcript_answer(event)
        self._turn = _Turn(notified=True, stop_at=now, stop_message=event.last_assistant_message)
        summary = f"Turn finished: {one_line(answer)}" if answer else "Turn finished"
        return [self._notification(NotificationKind.TURN_FINISHED, summary, last_assistant_message=answer)]

    def _on_stop_failure(self, event: HookEvent) -> list[Notification]:
        self._title_idle_since = None
        now = self.clock()
        if (
            self._turn.notified
            and self._turn.stop_at is not None
            and now - self._turn.stop_at < self.settings.stop_debounce
        ):
            return []
        self._set_state(AgentState.IDLE)
        self._turn = _Turn(notified=True, stop_at=now, stop_message=event.last_assistant_message)
        error = event.error or "unknown error"
        summary = f"API error: {one_line(error, 40)}"
        if event.last_assistant_message:
            summary += f" — {one_line(event.last_assistant_message, 60)}"
        return [
            self._notification(
                NotificationKind.API_ERROR, summary, error=error, last_assistant_message=event.last_assistant_message
            )
        ]

    def _on_permission_request(self, event: HookEvent) -> list[Notification]:
        self._title_idle_since = None
        self._last_permission_request_at = self.clock()
        return self._enter_waiting(event.tool_name, event.tool_input, event.message)

    def _on_notification(self, event: HookEvent) -> list[Notification]:
        if event.notification_type == "permission_prompt":
            if self.state is AgentState.WAITING or self._recent_permission_request():
                return []  # the dialog a PermissionRequest already reported
            self._title_idle_since = None
            return self._enter_waiting(None, None, event.message)
        if event.notification_type == "idle_prompt" and self.state in (AgentState.BUSY, AgentState.STARTING):
            self._title_idle_since = None
            self._set_state(AgentState.IDLE)
        return []

    # -- helpers ---------------------------------------------------------------------------------------

    def _enter_waiting(
        self, tool_name: str | None, tool_input: dict[str, Any] | None, message: str | None
    ) -> list[Notification]:
        self._set_state(AgentState.WAITING)
        questions = read_questions(tool_input) if tool_name == QUESTION_TOOL else ()
        if questions:
            more = f" (+{len(questions) - 1} more)" if len(questions) > 1 else ""
            summary = f"Asks: {one_line(questions[0].text, 80)}{more}"
        elif tool_name:
            detail = tool_input.get("command") if tool_input else None
            what = f"{tool_name}({one_line(str(detail), 60)})" if detail else tool_name
            summary = f"Needs permission: {what}"
        else:
            summary = f"Needs permission: {one_line(message or 'a permission dialog is open', 80)}"
        return [
            self._notification(NotificationKind.NEEDS_PERMISSION, summary, tool_name=tool_name, tool_input=tool_input)
        ]

    def _watch_dialog(self, now: float, visible: bool) -> None:
        if visible:
            self._dialog_gone_since = None
        elif self._dialog_gone_since is None:
            self._dialog_gone_since = now
        elif now - self._dialog_gone_since >= self.settings.dialog_gone_grace:
            # Denied or dismissed: the agent is back at its prompt. No notification, the user did this.
            self._dialog_gone_since = None
            self._set_state(AgentState.IDLE)

    def _recent_permission_request(self) -> bool:
        at = self._last_permission_request_at
        return at is not None and self.clock() - at < self.settings.permission_dedupe

    def _is_repeat_stop(self, event: HookEvent, now: float) -> bool:
        if not self._turn.notified:
            return False
        within_window = self._turn.stop_at is not None and now - self._turn.stop_at < self.settings.stop_debounce
        same_answer = event.last_assistant_message == self._turn.stop_message
        return within_window or same_answer

    def _transcript_answer(self, event: HookEvent) -> str | None:
        path = event.transcript_path or self.transcript_path
        return self.transcript_reader(path) if path else None

    def _title_settled_idle(self) -> list[Notification]:
        """The title went idle and no hook explained it within the grace period: Esc interrupted the turn.

        No notification: whoever pressed Esc is at the keyboard; mailing them about it would be noise. The
        state still becomes IDLE so queued commands can go in.
        """
        self._title_idle_since = None
        if self.state is AgentState.BUSY:
            # The turn stays "not notified": a Stop hook that was merely slow still gets its notification.
            self.interrupted_turns += 1
            self._set_state(AgentState.IDLE)
        return []

    def _silence_tick(self, now: float, cursor_at_prompt: bool, screen_excerpt: str | None) -> list[Notification]:
        last = self._silence.last_output_at
        if last is None or now - last < self.settings.silence_seconds or not cursor_at_prompt:
            return []
        was = self.state
        spell_bytes = self._silence.bytes_in_spell
        self._silence = _Silence()
        if was is AgentState.IDLE:
            return []
        self._set_state(AgentState.IDLE)
        if was is not AgentState.BUSY or spell_bytes < self.settings.min_turn_output_bytes:
            return []  # start-up output or key echo: not a finished turn
        summary = (
            f"Turn finished: {one_line(screen_excerpt)}" if screen_excerpt else "Turn finished (output went quiet)"
        )
        return [self._notification(NotificationKind.TURN_FINISHED, summary, last_assistant_message=screen_excerpt)]

    def _start_turn(self) -> None:
        self._turn = _Turn()

    def _set_state(self, new: AgentState) -> None:
        old = self.state
        if old is new:
            return
        self.state = new
        self._dialog_gone_since = None
        logger.debug("agent state %s -> %s", old.value, new.value)
        if self.on_state_change is not None:
            self.on_state_change(old, new)

    def _notification(self, kind: NotificationKind, summary: str, **facts: Any) -> Notification:
        base: dict[str, Any] = {
            "session_id": self.session_id,
            "cwd": self.cwd,
            "prompt": self.last_prompt,
            "transcript_path": self.transcript_path,
        }
        base.update(facts)
        return Notification(time=self.clock(), kind=kind, summary=summary, **base)
