"""The one base of every error taskping-tui explains to its user instead of crashing.

A :class:`TaskPingError` carries a *problem* (what is wrong, naming the file or key) and a *fix* (what to
do about it). ``cli.py`` catches the base class: any of them ends start-up with one clean message and exit
status 2, never a traceback (Textual's tracebacks print local variables, and a local can hold a secret).
"""

from __future__ import annotations


class TaskPingError(Exception):
    """A problem worded for the user, with the fix when there is one."""

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(problem + (f"\n  fix: {fix}" if fix else ""))


def describe_error(error: TaskPingError) -> str:
    """The message printed for ``error`` at start-up: ``taskping-tui: <problem>`` and the fix below it."""
    return f"taskping-tui: {error}"
