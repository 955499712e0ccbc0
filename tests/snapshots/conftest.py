"""Snapshot tests run in a fixed environment: UTC, a tmp working dir `my-project`, empty XDG dirs (no user themes)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def fixed_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        directory = tmp_path / "xdg" / name.lower()
        directory.mkdir(parents=True)
        monkeypatch.setenv(name, str(directory))
    monkeypatch.delenv("TASKPING_SNAPSHOT_PASSWORD_UNSET", raising=False)
    # The configs name a relative "~/.config/…" path (stable on screen): anything written there lands in tmp.
    # A fixed name: the session in the pane is named after its directory.
    project = tmp_path / "my-project"
    project.mkdir()
    monkeypatch.chdir(project)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
