"""Fixtures for running the real, pinned Claude Code offline against tests/support/mock_anthropic.py.

Helpers (usable without pytest): ``claude_cli_path``, ``write_offline_claude_json``, ``offline_claude_env``.
Fixtures: ``claude_cli`` (session, the inline 2.1.197), ``claude_cli_332`` (session, the release users have
today: full-screen, auto mode by default), ``claude_project``, ``claude_home``, ``mock_anthropic``, ``claude_env``.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest
import pytest_asyncio

from tests.support import TESTS_DIR
from tests.support.mock_anthropic import MockAnthropic

CLAUDE_CODE_VERSION = "2.1.197"
# What `npm install @anthropic-ai/claude-code` gives users today (Node 20 installs it with a warning).
CLAUDE_CODE_CURRENT_VERSION = "2.1.332"
# Every pinned version tests/run installs (tests/setup/install_claude.sh, once per version).
CLAUDE_CODE_VERSIONS = (CLAUDE_CODE_VERSION, CLAUDE_CODE_CURRENT_VERSION)
INSTALLER = TESTS_DIR / "setup" / "install_claude.sh"
# Any string works offline; Claude Code only wants its last 20 characters pre-approved in .claude.json.
DUMMY_API_KEY = "sk-ant-api03-taskping-offline-test-key-0000000000000000"
ENV_PASSED_THROUGH = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


def tests_cache_dir() -> Path:
    default = Path.home() / ".cache" / "taskping-tui-tests"
    return Path(os.environ.get("TASKPING_TEST_CACHE", str(default)))


def claude_cli_path(version: str = CLAUDE_CODE_VERSION) -> Path:
    """The pinned CLI, installing it with tests/setup/install_claude.sh when it is not there yet."""
    cli = tests_cache_dir() / f"claude-code-{version}" / "node_modules" / ".bin" / "claude"
    if cli.exists():
        return cli
    result = subprocess.run(
        ["bash", str(INSTALLER)],
        env={**os.environ, "CLAUDE_CODE_VERSION": version},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"installing Claude Code {version} failed:\n{result.stderr}")
    return Path(result.stdout.strip().splitlines()[-1])


def write_offline_claude_json(home: Path, project_dirs: Iterable[Path], api_key: str = DUMMY_API_KEY) -> Path:
    """``$HOME/.claude.json`` that skips onboarding, approves the dummy key and trusts the project dirs."""
    config = {
        "hasCompletedOnboarding": True,
        "customApiKeyResponses": {"approved": [api_key[-20:]], "rejected": []},
        "projects": {str(path): {"hasTrustDialogAccepted": True} for path in project_dirs},
    }
    path = home / ".claude.json"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


def offline_claude_env(home: Path, base_url: str, api_key: str = DUMMY_API_KEY) -> dict[str, str]:
    """A minimal environment in which Claude Code talks to ``base_url`` only."""
    env = {name: os.environ[name] for name in ENV_PASSED_THROUGH if name in os.environ}
    env.update(
        {
            "HOME": str(home),
            "TERM": "xterm-256color",
            "ANTHROPIC_API_KEY": api_key,
            "ANTHROPIC_BASE_URL": base_url,
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL": "1",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
            "CLAUDE_CODE_MAX_RETRIES": "1",
            "IS_SANDBOX": "1",
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_STATE_HOME": str(home / ".local" / "state"),
        }
    )
    return env


@pytest.fixture(scope="session")
def claude_cli() -> Path:
    return claude_cli_path()


@pytest.fixture(scope="session")
def claude_cli_332() -> Path:
    return claude_cli_path(CLAUDE_CODE_CURRENT_VERSION)


@pytest.fixture
def claude_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    return project


@pytest.fixture
def claude_home(tmp_path: Path, claude_project: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    write_offline_claude_json(home, [claude_project])
    return home


@pytest_asyncio.fixture
async def mock_anthropic() -> AsyncIterator[MockAnthropic]:
    async with MockAnthropic() as mock:
        yield mock


@pytest.fixture
def claude_env(claude_home: Path, mock_anthropic: MockAnthropic) -> dict[str, str]:
    return offline_claude_env(claude_home, mock_anthropic.base_url)
