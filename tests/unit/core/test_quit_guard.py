"""Quitting asks first when it would end a running agent or leave commands from mail untyped."""

from __future__ import annotations

from taskping_tui.core.quit_guard import QuitFacts, RunningAgent, quit_question


def test_nothing_to_lose_asks_nothing() -> None:
    assert quit_question(QuitFacts()) is None


def test_a_busy_agent_and_waiting_commands_are_named() -> None:
    text = quit_question(QuitFacts([RunningAgent("api", "claude", "busy")], ["approved", "blocked"]))
    assert text is not None
    assert "The agent of api (claude) is running in the middle of a turn: it will be ended" in text
    assert "2 commands from mail not typed yet, 1 waiting for your approval" in text


def test_several_running_agents_are_listed_by_session() -> None:
    text = quit_question(QuitFacts([RunningAgent("api", "claude", "idle"), RunningAgent("web", "claude", "waiting")]))
    assert text is not None
    assert "2 agents are running (api, web), 1 in the middle of a turn or a permission question" in text
