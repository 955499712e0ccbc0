"""Commands panel: commands from mail waiting for the agent, for your approval, and their history."""

from __future__ import annotations

from taskping_tui.widgets.panel import Panel


class CommandsPanel(Panel):
    TITLE = "Commands"

    def __init__(self, mail_enabled: bool) -> None:
        text = ("Commands from accepted replies wait here until the agent is idle; dangerous ones "
                "(rm -rf, sudo, git push --force…) wait for you to approve them at the keyboard.")
        if not mail_enabled:
            text += "\n\nNothing can arrive while mail is off."
        super().__init__(text, id="commands")
