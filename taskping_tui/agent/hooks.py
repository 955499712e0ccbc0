"""Per-launch Claude Code hooks: the private instance dir, the ``--settings`` file and the child's argv.

We never touch ``~/.claude/settings.json``: hooks come in through ``claude --settings <file>``, whose hooks
Claude Code adds to the user's own for that launch only.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import sys
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taskping_tui import paths
from taskping_tui.agent.events import HOOKED_EVENTS

logger = logging.getLogger(__name__)

# Claude Code kills a hook after this many seconds; ours returns in well under one.
HOOK_TIMEOUT_SECONDS = 5
# "" matches every tool / notification type / session source; checked against 2.1.197.
MATCH_ALL = ""
HOOK_CLIENT_MODULE = "taskping_tui.agent.hook_client"
SOCKET_NAME = "hook.sock"
SETTINGS_NAME = "claude-settings.json"
# sockaddr_un.sun_path is 108 bytes on Linux, 104 on macOS.
MAX_SOCKET_PATH = 100

CLAUDE_PACKAGE_MARKER = "@anthropic-ai/claude-code"
CLAUDE_SCRIPT_NAMES = frozenset({"cli.js", "cli.mjs", "cli-wrapper.cjs"})
CLAUDE_BINARY_NAMES = frozenset({"claude", "claude.exe"})
NODE_NAMES = frozenset({"node", "nodejs", "bun"})
# Flags after which Claude Code resumes or names a session itself: then we must not add --session-id.
SESSION_CHOOSING_FLAGS = frozenset({"-c", "--continue", "-r", "--resume", "--session-id", "--fork-session"})


class InstanceDir:
    """A private (0700) directory for one app instance's socket and settings file, removed on cleanup."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, base: Path | None = None) -> InstanceDir:
        """Make a fresh per-instance dir under the user's runtime dir (or a private temp dir if that fails)."""
        candidates = [base] if base is not None else [paths.runtime_dir(), None]
        for candidate in candidates:
            try:
                parent = paths.ensure_private_dir(candidate) if candidate is not None else None
                path = Path(tempfile.mkdtemp(prefix="inst-", dir=parent))
            except OSError as exc:
                logger.warning("cannot use %s for the hook socket: %s", candidate, exc)
                continue
            if len(str(path / SOCKET_NAME)) > MAX_SOCKET_PATH:
                shutil.rmtree(path, ignore_errors=True)
                path = Path(tempfile.mkdtemp(prefix="taskping-"))
            os.chmod(path, 0o700)
            return cls(path)
        raise OSError("no private directory available for the hook socket")

    @property
    def socket_path(self) -> Path:
        return self.path / SOCKET_NAME

    @property
    def settings_path(self) -> Path:
        return self.path / SETTINGS_NAME

    def cleanup(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> InstanceDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def hook_command(socket_path: Path, python: str | None = None) -> str:
    """The shell command each hook runs: this interpreter, absolute, forwarding stdin to our socket.

    It runs the hook client module directly (same code as ``taskping-tui hook``) so that a hook call
    imports nothing beyond it: Claude Code waits for every hook.
    """
    interpreter = os.path.abspath(python or sys.executable)
    return shlex.join([interpreter, "-m", HOOK_CLIENT_MODULE, "--socket", str(socket_path)])


def build_hook_settings(socket_path: Path, python: str | None = None) -> dict[str, Any]:
    """The settings JSON with one command hook per event we follow."""
    command = hook_command(socket_path, python)
    entry = {"type": "command", "command": command, "timeout": HOOK_TIMEOUT_SECONDS}
    return {"hooks": {event: [{"matcher": MATCH_ALL, "hooks": [dict(entry)]}] for event in HOOKED_EVENTS}}


def merge_hook_settings(user_settings: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    """The user's own --settings with our hooks appended, so passing --settings yourself keeps working."""
    merged = dict(user_settings)
    hooks = {key: list(value) for key, value in (user_settings.get("hooks") or {}).items()}
    for event, entries in ours["hooks"].items():
        hooks.setdefault(event, []).extend(entries)
    merged["hooks"] = hooks
    return merged


def write_private_json(path: Path, payload: dict[str, Any]) -> Path:
    """Write JSON to a new 0600 file (replacing a previous one of ours), never following a symlink."""
    if path.is_symlink():
        raise OSError(f"{path} is a symlink; refusing to write settings there")
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2)
    return path


def _is_claude_script(path: str) -> bool:
    name = os.path.basename(path)
    if name not in CLAUDE_SCRIPT_NAMES:
        return False
    return CLAUDE_PACKAGE_MARKER in os.path.realpath(path) or CLAUDE_PACKAGE_MARKER in path


def _is_claude_binary(program: str) -> bool:
    if os.path.basename(program) in CLAUDE_BINARY_NAMES:
        return True
    found = shutil.which(program)
    if found is None:
        return False
    real = os.path.realpath(found)
    return os.path.basename(real) in CLAUDE_BINARY_NAMES or (
        CLAUDE_PACKAGE_MARKER in real and (os.path.basename(real) in CLAUDE_SCRIPT_NAMES)
    )


def claude_program_length(argv: Sequence[str]) -> int:
    """How many leading argv words name the Claude Code program (0 when it is another agent)."""
    if not argv:
        return 0
    if os.path.basename(argv[0]) in NODE_NAMES:
        for index, word in enumerate(argv[1:], start=1):
            if not word.startswith("-"):
                return index + 1 if _is_claude_script(word) else 0
        return 0
    return 1 if _is_claude_binary(argv[0]) else 0


def is_claude_code(argv: Sequence[str]) -> bool:
    """True when ``argv`` launches Claude Code (``claude``, or node running its cli.js / cli-wrapper.cjs)."""
    return claude_program_length(argv) > 0


def chooses_its_own_session(args: Sequence[str]) -> bool:
    """True when the user's own flags resume or name a session (-c, -r, --resume, --session-id, …)."""
    for word in args:
        if word == "--":
            return False
        flag = word.split("=", 1)[0]
        if flag in SESSION_CHOOSING_FLAGS:
            return True
    return False


def _pop_user_settings(args: list[str]) -> tuple[list[str], str | None]:
    """Remove the user's own ``--settings X`` (or ``--settings=X``) from args; return it separately."""
    rest: list[str] = []
    value: str | None = None
    index = 0
    while index < len(args):
        word = args[index]
        if word == "--":
            rest.extend(args[index:])
            break
        if word == "--settings" and index + 1 < len(args):
            value = args[index + 1]
            index += 2
            continue
        if word.startswith("--settings="):
            value = word.split("=", 1)[1]
            index += 1
            continue
        rest.append(word)
        index += 1
    return rest, value


def load_user_settings(value: str) -> dict[str, Any]:
    """Read the user's own --settings value: inline JSON or a path to a JSON file."""
    text = value if value.lstrip().startswith("{") else Path(value).expanduser().read_text(encoding="utf-8")
    loaded = json.loads(text)
    if not isinstance(loaded, dict):
        raise ValueError("settings must be a JSON object")
    return loaded


@dataclass(frozen=True)
class LaunchPlan:
    """What to spawn: the argv, and for Claude Code the session id we chose (None when the user chose)."""

    argv: list[str]
    is_claude: bool
    session_id: str | None = None
    settings_path: Path | None = None


def plan_agent_launch(argv: Sequence[str], instance: InstanceDir, python: str | None = None) -> LaunchPlan:
    """Decide whether ``argv`` is Claude Code and, if so, add ``--settings`` (and ``--session-id``).

    The settings file is written into ``instance`` (0600). Other agents are returned unchanged.
    """
    program_length = claude_program_length(argv)
    if program_length == 0:
        return LaunchPlan(argv=list(argv), is_claude=False)
    program, args = list(argv[:program_length]), list(argv[program_length:])
    args, user_settings_value = _pop_user_settings(args)
    settings = build_hook_settings(instance.socket_path, python)
    if user_settings_value is not None:
        try:
            settings = merge_hook_settings(load_user_settings(user_settings_value), settings)
        except (OSError, ValueError) as exc:
            logger.warning("cannot read your --settings (%s); passing it on without our hooks", exc)
            return LaunchPlan(argv=list(argv), is_claude=True)
    settings_path = write_private_json(instance.settings_path, settings)
    added = ["--settings", str(settings_path)]
    session_id: str | None = None
    if not chooses_its_own_session(args):
        session_id = str(uuid.uuid4())
        added += ["--session-id", session_id]
    return LaunchPlan(argv=program + added + args, is_claude=True, session_id=session_id, settings_path=settings_path)
