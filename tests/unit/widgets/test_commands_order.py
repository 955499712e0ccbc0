"""The Commands panel's order: what needs you, then what waits for the agent, then the history newest first."""

from __future__ import annotations

from taskping_tui.inbound.commands import CommandState
from taskping_tui.widgets.commands_panel import CommandEntry, display_order, token_text


def entry(text: str, state: str, position: int, updated_at: float = 0.0) -> CommandEntry:
    return CommandEntry(
        position, CommandState(state), "me@example.com", "1m", "", text, position=position, updated_at=updated_at
    )


def test_waiting_for_you_first_in_queue_order_then_agent_then_newest_history() -> None:
    rows = [
        entry("old", "injected", 1, 10.0),
        entry("newer", "rejected", 2, 20.0),
        entry("a", "approved", 3),
        entry("q", "queued", 5),
        entry("b", "blocked", 4),
        entry("u", "unknown", 6),
        entry("i", "injecting", 7),
    ]
    assert [row.command for row in display_order(rows)] == ["b", "q", "u", "a", "i", "newer", "old"]


def test_token_age_says_what_it_is() -> None:
    assert token_text("9s") == "token from 9s ago"
    assert token_text("—") == "no session token"
