"""Quitting asks first when it would end a running agent or leave commands from mail untyped."""

from __future__ import annotations

from taskping_tui.quit_guard import QuitFacts, quit_question


def test_nothing_to_lose_asks_nothing() -> None:
    assert quit_question(QuitFacts("claude", agent_running=False, agent_state="exited")) is None


def test_a_busy_agent_and_waiting_commands_are_named() -> None:
    text = quit_question(QuitFacts("claude", True, "busy", ["approved", "blocked"]))
    assert text is not None
    assert "The agent (claude) is running in the middle of a turn" in text
    assert "2 commands from mail not typed yet, 1 waiting for your approval" in text
