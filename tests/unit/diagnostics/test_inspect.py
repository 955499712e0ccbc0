"""`taskping-tui inspect`: one mail through parsing and the gate, printed, with nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support import MAIL_CORPUS

CORPUS = MAIL_CORPUS


def run_inspect(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.toml"
    config.write_text('[security]\nallowed_senders = ["alice.example@gmail.com"]\n')
    env = {"XDG_STATE_HOME": str(tmp_path / "state"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", "taskping_tui", "inspect", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=30, env=env)


def test_json_output_has_the_documented_fields(tmp_path: Path) -> None:
    result = run_inspect(tmp_path, "--json", str(CORPUS / "gmail_web_en.eml"))
    data = json.loads(result.stdout)
    assert data["from"] == "alice.example@gmail.com"
    assert data["token"] == "7K3QZ9MX"
    assert data["command"] == "run the tests again and fix the failing one"
    assert data["verdict"] == "rejected"
    assert data["reasons"] == ["unknown session token 7K3QZ9MX"]
    assert not (tmp_path / "state").exists()


def test_text_output_shows_the_command_and_where_tokens_came_from(tmp_path: Path) -> None:
    result = run_inspect(tmp_path, str(CORPUS / "signature_android_danger.eml"))
    assert result.returncode == 0
    assert "command:\n  git push --force origin main" in result.stdout
    assert "tokens are reported as unknown" in result.stdout


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = run_inspect(tmp_path, str(tmp_path / "nope.eml"))
    assert result.returncode == 2
    assert "cannot read" in result.stdout and "nope.eml" in result.stdout
