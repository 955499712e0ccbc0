"""Where taskping-tui keeps its files (XDG on Linux, the platform's own places elsewhere)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import platformdirs

APP_NAME = "taskping-tui"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME))


def default_config_path() -> Path:
    return config_dir() / "config.toml"


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


def user_themes_dir() -> Path:
    return data_dir() / "themes"


def state_dir() -> Path:
    return Path(platformdirs.user_state_dir(APP_NAME))


def default_store_path() -> Path:
    return state_dir() / "taskping.sqlite3"


def log_path() -> Path:
    return state_dir() / "taskping-tui.log"


def runtime_dir() -> Path:
    """A directory for sockets: the user's runtime dir when it exists, else a per-user temp dir."""
    xdg_runtime = os.environ.get("XDG_RUNTIME_DIR")
    if xdg_runtime and Path(xdg_runtime).is_dir():
        return Path(xdg_runtime) / APP_NAME
    return Path(tempfile.gettempdir()) / f"{APP_NAME}-{os.getuid()}"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) and make the leaf private to the user (0700)."""
    path.mkdir(parents=True, exist_ok=True)
    if path.stat().st_uid != os.getuid():
        raise PermissionError(f"{path} belongs to another user; refusing to use it")
    os.chmod(path, 0o700)
    return path


def display_path(path: Path | str) -> str:
    """``path`` for people: the home directory as ``~`` (shorter, so a narrow panel need not cut it)."""
    text = str(path)
    home = str(Path.home())
    if home not in ("", "/") and (text == home or text.startswith(home + "/")):
        return "~" + text[len(home) :]
    return text
