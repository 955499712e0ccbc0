"""Shared fixtures: each real component's fixtures live in their own module, registered here."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = [
    "tests.support.claude_fixtures",
    "tests.support.smtp_fixtures",
    "tests.support.dovecot_fixtures",
    "tests.support.terminal_pane_fixtures",
]


@pytest.fixture(autouse=True)
def private_xdg_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own config, data and state dirs: the developer's own files are never touched."""
    root = tmp_path_factory.mktemp("xdg")
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        (root / name).mkdir()
        monkeypatch.setenv(name, str(root / name))
    return root
