"""Theme files: every shipped theme loads with its terminal palette; a broken one is named and skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskping_tui.terminal.palette import palette_for
from taskping_tui.themes import load_all_themes, load_themes_from, shipped_themes_dirs

SHIPPED = ["taskping-dark", "taskping-light", "taskping-high-contrast"]


def test_shipped_themes_cover_dark_light_and_high_contrast(tmp_path: Path) -> None:
    loaded = load_all_themes(user_dir=tmp_path)
    assert loaded.errors == []
    names = [theme.name for theme in loaded.themes]
    assert names == sorted(SHIPPED)
    by_name = {theme.name: theme for theme in loaded.themes}
    assert by_name["taskping-light"].dark is False
    assert by_name["taskping-high-contrast"].background == "#000000"


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_theme_sets_all_16_ansi_colours(name: str, tmp_path: Path) -> None:
    theme = next(t for t in load_all_themes(user_dir=tmp_path).themes if t.name == name)
    for key in ("ansi-red", "ansi-bright-white", "terminal-foreground", "terminal-background"):
        assert theme.variables[key].startswith("#")
    palette = palette_for(theme)
    assert palette.colors["red"] == theme.variables["ansi-red"]
    assert palette.colors["brown"] == theme.variables["ansi-yellow"]
    assert palette.resolve("default", is_background=True) == theme.variables["terminal-background"]
    assert palette.resolve("ff8800", is_background=False) == "#ff8800"


def test_user_theme_loads_and_broken_files_are_reported_by_name(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text('name = "mine"\ndark = false\n[colors]\nprimary = "#112233"\n')
    (tmp_path / "bad-toml.toml").write_text("name = \n")
    (tmp_path / "bad-color.toml").write_text('name = "x"\n[colors]\nprimary = "blue"\n')
    (tmp_path / "bad-key.toml").write_text('name = "y"\n[colors]\nprimary = "#112233"\nprimry = "#000000"\n')
    loaded = load_themes_from(tmp_path)
    assert [theme.name for theme in loaded.themes] == ["mine"]
    messages = sorted(str(error) for error in loaded.errors)
    assert any(m.startswith(str(tmp_path / "bad-color.toml")) and "must be a colour" in m for m in messages)
    assert any("bad-toml.toml: is not valid TOML" in m for m in messages)
    assert any("unknown key 'primry'" in m for m in messages)


def test_builtin_textual_theme_gets_a_fallback_palette() -> None:
    from textual.theme import BUILTIN_THEMES

    palette = palette_for(BUILTIN_THEMES["textual-light"])
    assert palette.colors["black"] == "#000000"
    assert palette.resolve("default", is_background=False).startswith("#")


def test_shipped_themes_dir_is_found() -> None:
    assert shipped_themes_dirs()[0].name == "themes"
