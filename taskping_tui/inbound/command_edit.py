"""Approving a command at the keyboard, edited or not: what will be typed, its danger verdict, and whether
the user must confirm it first.

An edited command is checked again with the same danger patterns the gate uses: a blocked
``git push --force`` edited into ``git status`` is no longer dangerous, and a safe command edited into
``rm -rf ~`` is. Textual-free: the app shows the dialog and calls the store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from taskping_tui.inbound.commands import CommandState, needs_confirmation
from taskping_tui.inbound.danger import DangerPattern, match_danger
from taskping_tui.store import CommandEdit


@dataclass(frozen=True)
class ApprovalPlan:
    text: str  # exactly what will be typed
    edited: bool  # the user changed the text: record the edit (both texts) before approving
    danger: str | None  # the danger pattern the text to be typed matches, by name
    matched: str = ""  # the part of the text that matched it
    original_text: str = ""

    @property
    def needs_confirmation(self) -> bool:
        return self.danger is not None

    def confirmation_body(self) -> str:
        lines = [f"It matches the danger pattern {self.danger!r}" + (f": {self.matched}" if self.matched else ".")]
        if self.edited:
            lines.append(f"\n(Checked again after your edit. The mail said:\n\n{self.original_text})")
        lines.append(f"\nIt will be typed into the agent exactly as:\n\n{self.text}")
        return "\n".join(lines)


def plan_approval(
    state: CommandState | str,
    text: str,
    danger_pattern: str | None,
    edited_text: str | None = None,
    extra_patterns: Sequence[DangerPattern | str] = (),
    permission_danger: Callable[[str], str | None] = lambda _text: None,
) -> ApprovalPlan:
    """The plan for approving a command now in ``state`` with ``text`` (and ``danger_pattern`` from the gate).

    ``permission_danger`` is the gate's other check: a "yes" to a permission dialog whose tool input is
    dangerous (``inbound.dangerous_permission``); an edited "Yes" must not slip past it.
    """
    if edited_text is None or edited_text == text:
        blocked = needs_confirmation(CommandState(state))
        return ApprovalPlan(
            text, False, (danger_pattern or "blocked by the gate") if blocked else None, original_text=text
        )
    hit = match_danger(edited_text, extra_patterns)
    if hit is not None:
        return ApprovalPlan(edited_text, True, hit.name, hit.matched, text)
    return ApprovalPlan(edited_text, True, permission_danger(edited_text), original_text=text)


def command_history_rows(edits: Sequence[CommandEdit]) -> list[tuple[str, str]]:
    """Details-dialog rows for a command's edits: the text the mail carried, then each edit."""
    if not edits:
        return []
    rows = [
        (
            "Text from the mail",
            edits[0].old_text + (f"\n  (matched {edits[0].old_danger!r})" if edits[0].old_danger else ""),
        )
    ]
    for edit in edits:
        when = datetime.fromtimestamp(edit.time).strftime("%H:%M:%S")
        verdict = f"matches {edit.new_danger!r}" if edit.new_danger else "no danger pattern matches"
        rows.append((f"Edited at {when}", f"{edit.new_text}\n  ({verdict})"))
    return rows
