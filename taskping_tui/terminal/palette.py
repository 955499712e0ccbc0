"""The 16 ANSI colours and the default foreground/background of the pane, taken from the app theme.

A theme may set them as variables (`ansi-red`, `ansi-bright-red`, …, `terminal-foreground`,
`terminal-background`); themes that don't (Textual's built-in ones) get a palette that suits their
dark or light background.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.theme import Theme

ANSI_NAMES = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")

# Tango-like palettes that read well on a dark and on a light background.
DARK_DEFAULTS = (
    "#1c1c1c",
    "#e06c75",
    "#98c379",
    "#e5c07b",
    "#61afef",
    "#c678dd",
    "#56b6c2",
    "#c8ccd4",
    "#5c6370",
    "#ff7a85",
    "#b5e890",
    "#ffd68a",
    "#7cc3ff",
    "#de94f0",
    "#6fd3de",
    "#ffffff",
)
LIGHT_DEFAULTS = (
    "#000000",
    "#c4262e",
    "#3a8f2a",
    "#9c7600",
    "#1f5fc4",
    "#a336b5",
    "#148a99",
    "#b8b8b8",
    "#6f6f6f",
    "#e0333c",
    "#4aa838",
    "#b88c00",
    "#2e72e0",
    "#bf4ad2",
    "#1aa3b5",
    "#f5f5f5",
)


def ansi_variable(index: int) -> str:
    """Theme variable name of ANSI colour ``index`` (0-15)."""
    name = ANSI_NAMES[index % 8]
    return f"ansi-bright-{name}" if index >= 8 else f"ansi-{name}"


@dataclass(frozen=True)
class TerminalPalette:
    foreground: str
    background: str
    # Keyed by the names pyte uses: "red", "brightred", and "brown" as pyte's name for yellow.
    colors: dict[str, str]

    def resolve(self, name: str, *, is_background: bool) -> str:
        """A "#rrggbb" colour for a pyte colour value: "default", a name, or 6 hex digits."""
        if name == "default":
            return self.background if is_background else self.foreground
        named = self.colors.get(name)
        if named is not None:
            return named
        if len(name) == 6:
            return f"#{name}"
        return self.background if is_background else self.foreground


def palette_for(theme: Theme) -> TerminalPalette:
    defaults = DARK_DEFAULTS if theme.dark else LIGHT_DEFAULTS
    variables = theme.variables or {}
    colors: dict[str, str] = {}
    for index in range(16):
        value = variables.get(ansi_variable(index), defaults[index])
        base = ANSI_NAMES[index % 8]
        names = [f"bright{base}" if index >= 8 else base]
        if base == "yellow":
            names.append("brightbrown" if index >= 8 else "brown")
        for name in names:
            colors[name] = value
    foreground = variables.get("terminal-foreground") or theme.foreground or defaults[15 if theme.dark else 0]
    background = variables.get("terminal-background") or theme.background or defaults[0 if theme.dark else 15]
    return TerminalPalette(foreground=foreground, background=background, colors=colors)
