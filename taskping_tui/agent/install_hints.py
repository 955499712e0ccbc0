"""How to install the agents people run in the pane, for the "command not found" message."""

from __future__ import annotations

from pathlib import Path

INSTALL_HINTS = {
    "claude": "Install Claude Code with: npm install -g @anthropic-ai/claude-code",
    "codex": "Install Codex with: npm install -g @openai/codex",
    "aider": "Install aider with: python -m pip install aider-install && aider-install",
}


def install_hint_for(argv: list[str]) -> str:
    name = Path(argv[0]).name
    return INSTALL_HINTS.get(name, f"Check that {name!r} is installed and on your PATH.")
