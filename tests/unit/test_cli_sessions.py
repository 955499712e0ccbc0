"""`taskping-tui -s DIR [-s DIR …] [-- CMD …]`: one new session per directory, in that order."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskping_tui import cli


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    seen: list[tuple[object, ...]] = []
    monkeypatch.setattr(cli, "run_app", lambda config, argv, dirs=(): seen.append((config, argv, list(dirs))) or 0)
    return seen


def test_dirs_and_command_reach_the_app(tmp_path: Path, calls: list[tuple[object, ...]]) -> None:
    api, web = tmp_path / "api", tmp_path / "web"
    api.mkdir()
    web.mkdir()
    assert cli.main(["-s", str(api), "--session", str(web), "--", "claude", "--model", "opus"]) == 0
    assert calls == [(None, ["claude", "--model", "opus"], [str(api), str(web)])]


def test_no_arguments_mean_no_new_session_and_no_command(calls: list[tuple[object, ...]]) -> None:
    assert cli.main([]) == 0
    assert calls == [(None, [], [])]


def test_a_missing_directory_is_refused_before_anything_starts(
    tmp_path: Path, calls: list[tuple[object, ...]], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        cli.main(["-s", str(tmp_path / "nope")])
    assert "not a directory" in capsys.readouterr().err
    assert calls == []
