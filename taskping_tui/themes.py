"""Themes as TOML files: the shipped ones in `themes/`, the user's in the XDG data dir.

Each file maps to a `textual.theme.Theme`; its [terminal] table becomes theme variables
(`ansi-red`, `ansi-bright-red`, …, `terminal-foreground`, `terminal-background`) that the terminal
pane reads. A broken file is reported by name and skipped, never fatal.
"""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from textual.theme import Theme

from taskping_tui import paths
from taskping_tui.terminal.palette import ANSI_NAMES

DEFAULT_THEME = "taskping-dark"
COLOR_KEYS = (
    "primary",
    "secondary",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
    "success",
    "warning",
    "error",
)
TERMINAL_KEYS = ("foreground", "background", *ANSI_NAMES, *(f"bright_{name}" for name in ANSI_NAMES))
HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class ThemeError(Exception):
    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path


@dataclass
class LoadedThemes:
    themes: list[Theme] = field(default_factory=list)
    errors: list[ThemeError] = field(default_factory=list)


def shipped_themes_dirs() -> list[Path]:
    """`themes/` of a source checkout, else the copy installed under `<prefix>/share`."""
    candidates = [
        Path(__file__).resolve().parent.parent / "themes",
        Path(sys.prefix) / "share" / paths.APP_NAME / "themes",
    ]
    return [path for path in candidates if path.is_dir()][:1]


def _color(path: Path, table: str, key: str, value: object) -> str:
    if not isinstance(value, str) or not HEX_COLOR.match(value):
        raise ThemeError(path, f'[{table}] {key} must be a colour like "#1e2127", not {value!r}')
    return value


def _terminal_variable(key: str) -> str:
    if key in ("foreground", "background"):
        return f"terminal-{key}"
    return "ansi-" + key.replace("_", "-")


def theme_from_toml(text: str, path: Path) -> Theme:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ThemeError(path, f"is not valid TOML: {error}") from None
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ThemeError(path, 'needs a name, e.g. name = "my-theme"')
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ThemeError(path, "dark must be true or false")
    colors = data.get("colors", {})
    terminal = data.get("terminal", {})
    for table, allowed, values in (("colors", COLOR_KEYS, colors), ("terminal", TERMINAL_KEYS, terminal)):
        if not isinstance(values, dict):
            raise ThemeError(path, f"[{table}] must be a table")
        unknown = sorted(set(values) - set(allowed))
        if unknown:
            raise ThemeError(path, f"[{table}] has unknown key {unknown[0]!r}; use: {', '.join(allowed)}")
    if "primary" not in colors:
        raise ThemeError(path, '[colors] needs primary, e.g. primary = "#61afef"')
    theme_colors = {key: _color(path, "colors", key, value) for key, value in colors.items()}
    variables = {_terminal_variable(key): _color(path, "terminal", key, value) for key, value in terminal.items()}
    return Theme(name=name.strip(), dark=dark, variables=variables, **theme_colors)


def load_themes_from(directory: Path) -> LoadedThemes:
    loaded = LoadedThemes()
    if not directory.is_dir():
        return loaded
    for path in sorted(directory.glob("*.toml")):
        try:
            loaded.themes.append(theme_from_toml(path.read_text(encoding="utf-8"), path))
        except ThemeError as error:
            loaded.errors.append(error)
        except (OSError, UnicodeDecodeError) as error:
            loaded.errors.append(ThemeError(path, f"cannot be read: {error}"))
    return loaded


def load_all_themes(user_dir: Path | None = None) -> LoadedThemes:
    """Shipped themes first, then the user's (a user theme with the same name wins)."""
    result = LoadedThemes()
    for directory in [*shipped_themes_dirs(), user_dir or paths.user_themes_dir()]:
        loaded = load_themes_from(directory)
        result.themes.extend(loaded.themes)
        result.errors.extend(loaded.errors)
    return result
