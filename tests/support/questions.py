"""AskUserQuestion tool inputs as Claude Code sends them (the unit and the end-to-end tests share them)."""

from __future__ import annotations

from typing import Any

DATABASE: dict[str, Any] = {
    "question": "Which database should the service use?",
    "header": "Database",
    "multiSelect": False,
    "options": [
        {"label": "PostgreSQL", "description": "relational, the team knows it"},
        {"label": "SQLite", "description": "one file, no server"},
    ],
}
FRAMEWORK: dict[str, Any] = {
    "question": "Which web framework?",
    "header": "Framework",
    "multiSelect": False,
    "options": [{"label": "FastAPI", "description": "async"}, {"label": "Flask", "description": "classic"}],
}
DISK: dict[str, Any] = {  # its second option is dangerous: picking it by mail needs the keyboard
    "question": "How should I free the disk?",
    "header": "Disk",
    "multiSelect": False,
    "options": [
        {"label": "Rotate the logs", "description": "keep a week"},
        {"label": "Wipe the data directory", "description": "rm -rf data/"},
    ],
}
FEATURES: dict[str, Any] = {  # several answers may be picked: the keyboard's job
    "question": "Which features should be on?",
    "header": "Features",
    "multiSelect": True,
    "options": [{"label": "Auth"}, {"label": "Billing"}],
}


def tool_input(*questions: dict[str, Any]) -> dict[str, Any]:
    return {"questions": list(questions)}
