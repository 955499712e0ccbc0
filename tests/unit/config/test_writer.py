"""Saving settings back into the user's config keeps their comments and never loses their text."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest

from taskping_tui.config.writer import ConfigWriteError, update_config_file

ORIGINAL = """\
# my taskping config
[agent]
command = "claude"   # the agent
args = ["--model", "opus"]

[ui]
# pick something easy on the eyes
theme = "taskping-dark" # was light
"""


def test_changes_keep_comments_and_other_keys(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(ORIGINAL)
    result = update_config_file(
        path, [("ui", "theme", "taskping-light"), ("ui", "show_sidebar", False), ("security", "approval", "manual")]
    )
    text = path.read_text()
    assert result.comments_kept
    assert 'theme = "taskping-light" # was light' in text
    assert "# pick something easy on the eyes" in text
    assert 'command = "claude"   # the agent' in text
    data = tomllib.loads(text)
    assert data["ui"] == {"theme": "taskping-light", "show_sidebar": False}
    assert data["security"] == {"approval": "manual"}
    assert data["agent"]["args"] == ["--model", "opus"]
    assert result.changed == ['ui.theme = "taskping-light"', "ui.show_sidebar = false", 'security.approval = "manual"']


def test_new_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config.toml"
    update_config_file(path, [("mail.smtp", "port", 587)])
    assert tomllib.loads(path.read_text()) == {"mail": {"smtp": {"port": 587}}}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_multiline_value_is_rewritten_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('# note\n[security]\nallowed_senders = [\n  "a@x.com",\n]\n')
    result = update_config_file(path, [("security", "allowed_senders", ["b@x.com"])])
    assert not result.comments_kept
    assert tomllib.loads(path.read_text()) == {"security": {"allowed_senders": ["b@x.com"]}}


def test_broken_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[ui\ntheme = 'x'\n")
    with pytest.raises(ConfigWriteError, match="not valid TOML"):
        update_config_file(path, [("ui", "theme", "y")])
    assert path.read_text() == "[ui\ntheme = 'x'\n"


def test_hash_inside_a_string_is_not_a_comment(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[mail]\npassword_command = "pass show #work"  # keep\n')
    update_config_file(path, [("mail", "password_command", "pass show mail")])
    assert path.read_text() == '[mail]\npassword_command = "pass show mail"  # keep\n'
