"""Shared fixtures: each real component's fixtures live in their own module, registered here."""

pytest_plugins = [
    "tests.claude_fixtures",
    "tests.smtp_fixtures",
    "tests.dovecot_fixtures",
    "tests.terminal_pane_fixtures",
]
