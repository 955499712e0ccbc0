"""Driving a running TaskPingApp from tests: wait for conditions, read the pane, type like a user."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass

from textual.pilot import Pilot

from taskping_tui.app import TaskPingApp


@dataclass
class AppDriver:
    app: TaskPingApp
    pilot: Pilot[int]

    def screen_text(self) -> str:
        return "\n".join(line.rstrip() for line in self.app.pane.terminal_screen.display)

    def describe(self) -> str:
        return f"agent={self.app.agent_state}\n{self.screen_text()}"

    async def until(self, condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}; {self.describe()}")
            await asyncio.sleep(0.05)

    async def type_prompt(self, text: str) -> None:
        """Wait for Claude Code's ❯ prompt, then type ``text`` and Enter through the pane, key by key."""
        await self.until(lambda: self.app.agent_state == "idle" and "❯" in self.screen_text(), "the ❯ prompt")
        await self.pilot.press(*["space" if char == " " else char for char in text], "enter")


def agent_env_toml(env: dict[str, str]) -> str:
    """An [agent] env inline table for a test config."""
    return "{ " + ", ".join(f"{name} = {json.dumps(value)}" for name, value in env.items()) + " }"
