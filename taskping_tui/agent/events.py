"""The hook event record shared by the socket server and the state machine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The events taskping-tui installs hooks for (agent/hooks.py).
HOOKED_EVENTS: tuple[str, ...] = (
    "SessionStart",
    "UserPromptSubmit",
    "Stop",
    "StopFailure",
    "Notification",
    "PermissionRequest",
    "SessionEnd",
)
# Also accepted: events a user's own --settings may route to us.
KNOWN_HOOK_EVENTS = frozenset({*HOOKED_EVENTS, "PreToolUse", "PostToolUse", "SubagentStop", "PreCompact"})


@dataclass(frozen=True)
class HookEvent:
    """One hook call from Claude Code, with the fields we use lifted out of the raw payload."""

    event: str
    session_id: str | None = None
    cwd: str | None = None
    transcript_path: str | None = None
    prompt: str | None = None
    last_assistant_message: str | None = None
    notification_type: str | None = None
    message: str | None = None
    error: str | None = None
    tool_name: str | None = None
    tool_input: dict[str, Any] | None = None
    stop_hook_active: bool = False
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


def _optional_str(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return value if isinstance(value, str) else None


def parse_hook_event(payload: object) -> HookEvent | None:
    """Build a HookEvent from decoded hook JSON, or None when it is not a hook payload we know."""
    if not isinstance(payload, dict):
        return None
    event = payload.get("hook_event_name")
    if not isinstance(event, str) or event not in KNOWN_HOOK_EVENTS:
        return None
    tool_input = payload.get("tool_input")
    return HookEvent(
        event=event,
        session_id=_optional_str(payload, "session_id"),
        cwd=_optional_str(payload, "cwd"),
        transcript_path=_optional_str(payload, "transcript_path"),
        prompt=_optional_str(payload, "prompt"),
        last_assistant_message=_optional_str(payload, "last_assistant_message"),
        notification_type=_optional_str(payload, "notification_type"),
        message=_optional_str(payload, "message"),
        error=_optional_str(payload, "error"),
        tool_name=_optional_str(payload, "tool_name"),
        tool_input=tool_input if isinstance(tool_input, dict) else None,
        stop_hook_active=payload.get("stop_hook_active") is True,
        raw=payload,
    )
