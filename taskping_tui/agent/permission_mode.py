"""Claude Code's permission mode, and telling the user when it never asks (so no permission mail comes).

Checked against 2.1.332 (tests/functional/test_auto_mode.py): it starts in auto mode by default; the
footer under the input box reads ``⏵⏵ auto mode on (shift+tab to cycle)``, and Shift+Tab cycles through
``⏸ manual mode on`` → ``⏵⏵ accept edits on`` → ``⏸ plan mode on`` → auto again. UserPromptSubmit and
Stop hooks carry ``permission_mode`` (``"auto"``, ``"default"``, ``"acceptEdits"``, ``"plan"``,
``"bypassPermissions"``); SessionStart does not, so the footer is the first sign. 2.1.197 has no auto
mode and draws no such footer in its default mode.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from taskping_tui.agent.events import HookEvent

# Modes in which tools run (or are refused) without a dialog: no PermissionRequest, no permission mail.
NEVER_ASKS = {"auto": "auto mode", "bypassPermissions": "bypass-permissions mode", "dontAsk": "don't-ask mode"}

_FOOTER_MODES = (
    (re.compile(r"⏵⏵\s+auto mode on\b"), "auto"),
    (re.compile(r"⏵⏵\s+bypass permissions on\b"), "bypassPermissions"),
    (re.compile(r"⏵⏵\s+accept edits on\b"), "acceptEdits"),
    (re.compile(r"⏸\s+plan mode on\b"), "plan"),
    (re.compile(r"⏸\s+manual mode on\b"), "default"),
)

HOW_TO_BE_ASKED = (
    "To get a mail before each tool runs, press Shift+Tab in the pane until it shows “manual mode on”, "
    'or start Claude Code with --permission-mode default ([agent] args = ["--permission-mode", "default"] '
    "in the config, or `taskping-tui -- claude --permission-mode default`)."
)


def mode_from_screen(lines: Sequence[str]) -> str | None:
    """The mode named in Claude Code's footer (the bottom-most one drawn), or None when none is drawn."""
    for line in reversed(lines):
        for pattern, mode in _FOOTER_MODES:
            if pattern.search(line):
                return mode
    return None


def mode_from_hook(event: HookEvent) -> str | None:
    mode = event.raw.get("permission_mode")
    return mode if isinstance(mode, str) and mode else None


def never_asks(mode: str | None) -> bool:
    return mode in NEVER_ASKS


def never_asks_notice(mode: str) -> str:
    name = NEVER_ASKS.get(mode, mode)
    return (
        f"Claude Code runs in {name}: tools run without asking you, so no permission mail is sent "
        f"(turn-finished mails still are). {HOW_TO_BE_ASKED}"
    )


@dataclass
class PermissionModeWatch:
    """Follows the agent's mode from hooks and the screen; says once per run when it never asks.

    The screen is read only until the mode is known from it (a few ticks after start): hooks keep
    reporting it after that, so a later switch to auto mode is still caught.
    """

    mode: str | None = None
    notified: bool = False
    screen_checks_left: int = 40

    @property
    def wants_screen(self) -> bool:
        return not self.notified and self.screen_checks_left > 0

    def on_screen(self, lines: Sequence[str]) -> str | None:
        """The notice to show now, or None. Call while ``wants_screen``."""
        self.screen_checks_left -= 1
        mode = mode_from_screen(lines)
        if mode is not None:
            self.screen_checks_left = 0
        return self._seen(mode)

    def on_hook(self, event: HookEvent) -> str | None:
        return self._seen(mode_from_hook(event))

    def _seen(self, mode: str | None) -> str | None:
        if mode is None:
            return None
        self.mode = mode
        if never_asks(mode) and not self.notified:
            self.notified = True
            return never_asks_notice(mode)
        return None
