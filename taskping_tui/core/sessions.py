"""Sessions as the user sees them: what each one needs, which comes next, and what to open at start-up.

Textual-free rules for the Sessions panel and the command layer: the status of a session (from its agent
state, its pending dialog and whether a finished turn was seen), the order ``Space`` walks through
("next that needs you"), ``Tab``'s "last used", and the start-up plan from the command line and config.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from taskping_tui.agent.question import QUESTION_TOOL
from taskping_tui.agent.state import AgentState


class SessionStatus(enum.StrEnum):
    STARTING = "starting"
    BUSY = "busy"
    PERMISSION = "needs permission"
    QUESTION = "asks a question"
    UNREAD = "finished, unread"
    IDLE = "idle"
    EXITED = "exited"
    OFFLINE = "offline, resumable"
    UNKNOWN = "unknown"


# Space visits these first to last; anything else does not need you.
NEEDS_YOU = (SessionStatus.PERMISSION, SessionStatus.QUESTION, SessionStatus.UNREAD)


def session_status(
    agent_state: AgentState | None,
    *,
    running: bool,
    unread: bool = False,
    tool_name: str | None = None,
    is_claude: bool = True,
) -> SessionStatus:
    """What the Sessions panel says about one session; ``unknown`` rather than a wrong guess."""
    if agent_state is None:
        return SessionStatus.OFFLINE
    if agent_state is AgentState.EXITED or not running and agent_state is not AgentState.STARTING:
        return SessionStatus.EXITED
    if agent_state is AgentState.WAITING:
        return SessionStatus.QUESTION if tool_name == QUESTION_TOOL else SessionStatus.PERMISSION
    if agent_state is AgentState.BUSY:
        return SessionStatus.BUSY
    if agent_state is AgentState.IDLE:
        return SessionStatus.UNREAD if unread else SessionStatus.IDLE
    if agent_state is AgentState.STARTING:
        return SessionStatus.STARTING if is_claude or running else SessionStatus.UNKNOWN
    return SessionStatus.UNKNOWN


def next_needing_you(order: Sequence[str], statuses: dict[str, SessionStatus], current: str | None) -> str | None:
    """The session ``Space`` goes to: permission waits first, then questions, then unread finished turns.

    Within one kind the walk starts after ``current``, so pressing Space again moves on.
    """
    for wanted in NEEDS_YOU:
        candidates = [key for key in order if statuses.get(key) is wanted]
        if not candidates:
            continue
        if current in candidates:
            index = candidates.index(current)
            return candidates[(index + 1) % len(candidates)]
        return candidates[0]
    return None


@dataclass
class FocusHistory:
    """Which session was focused before the current one (``Tab`` goes back to it)."""

    current: str | None = None
    previous: str | None = None

    def focus(self, key: str) -> None:
        if key != self.current:
            self.previous, self.current = self.current, key

    def forget(self, key: str) -> None:
        if self.previous == key:
            self.previous = None
        if self.current == key:
            self.current, self.previous = self.previous, None


def default_session_name(cwd: str, taken: Iterable[str] = ()) -> str:
    """The directory's name, with a number when another session already uses it."""
    base = os.path.basename(os.path.normpath(cwd)) or cwd or "session"
    names = set(taken)
    if base not in names:
        return base
    number = 2
    while f"{base} ({number})" in names:
        number += 1
    return f"{base} ({number})"


@dataclass(frozen=True)
class NewSession:
    cwd: str
    argv: list[str]
    name: str = ""


@dataclass(frozen=True)
class StartPlan:
    """What the app opens at start: new sessions, and whether the last run's open ones come back."""

    new: list[NewSession] = field(default_factory=list)
    resume_open: bool = False
    ask: bool = False


def plan_start(
    *,
    default_argv: Sequence[str],
    cli_argv: Sequence[str] | None,
    dirs: Sequence[str] = (),
    on_start: str = "resume",
    cwd: str | None = None,
    has_open: bool = False,
) -> StartPlan:
    """``-s DIR…`` → one new session per dir; ``-- CMD`` → one new session here; neither → bring back the
    open sessions (``[sessions] on_start``), or one new session here when there is none to bring back."""
    here = cwd or os.getcwd()
    argv = list(cli_argv) if cli_argv else list(default_argv)
    if dirs:
        return StartPlan(new=[NewSession(os.path.abspath(each), list(argv)) for each in dirs])
    if cli_argv:
        return StartPlan(new=[NewSession(here, argv)])
    if has_open and on_start == "resume":
        return StartPlan(resume_open=True)
    if has_open and on_start == "ask":
        return StartPlan(ask=True, new=[NewSession(here, argv)])
    return StartPlan(new=[NewSession(here, argv)])
