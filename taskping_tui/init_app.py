"""The small app behind `taskping-tui init`: the set-up form, its live connection tests, the themes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from textual.app import App

from taskping_tui.config import ConfigError
from taskping_tui.config.init_answers import SetupAnswers, check_answers
from taskping_tui.config.writer import WriteResult
from taskping_tui.diagnostics.doctor import Check, check_mail
from taskping_tui.themes import DEFAULT_THEME, load_all_themes
from taskping_tui.widgets.init_screen import InitScreen


async def test_answers(answers: SetupAnswers, password: str) -> list[Check]:
    """Log in to SMTP and IMAP with what the form holds, before anything is saved."""
    try:
        config = check_answers(answers)
    except ConfigError as error:
        return [Check("config", "error", f"{error.key}: {error.problem}", error.fix)]
    return await check_mail(dataclasses.replace(config.mail, enabled=True), password=password or None)


class InitApp(App[WriteResult | None]):
    TITLE = "taskping-tui init"

    def __init__(self, config_path: Path) -> None:
        super().__init__()
        self.config_path = config_path

    def on_mount(self) -> None:
        loaded = load_all_themes()
        for theme in loaded.themes:
            self.register_theme(theme)
        self.theme = DEFAULT_THEME
        names = [theme.name for theme in loaded.themes] + [
            name for name in self.available_themes if not name.startswith("taskping-")
        ]
        self.push_screen(InitScreen(self.config_path, test_answers, names), self.exit)
