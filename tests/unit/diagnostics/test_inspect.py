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
    return subprocess.run(
        [sys.executable, "-m", "taskping_tui", "inspect", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )


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


def test_a_processed_mail_shows_its_recorded_verdict_and_the_verdict_now(tmp_path: Path) -> None:
    """Inspecting a reply the app already handled used to say "duplicate"; the user wants what was decided."""
    from taskping_tui.diagnostics.inspect import main
    from taskping_tui.inbound.commands import CommandEvent
    from taskping_tui.inbound.processor import InboundProcessor
    from taskping_tui.store import Store
    from tests.unit.inbound.test_processor import CONFIG, KEY, fetched, reply

    store_path = tmp_path / "store.sqlite3"
    store = Store.open(store_path)
    token = store.create_session_token("session-1", 3600).token
    raw = reply(token, "sudo rm -rf build")
    processed = InboundProcessor(store, CONFIG).process(fetched(raw), KEY)
    assert processed is not None and processed.verdict == "blocked"
    assert processed.recorded.command_id is not None
    store.apply_command_event(processed.recorded.command_id, CommandEvent.REJECT, note="rejected at the keyboard")
    store.revoke_token(token)
    store.close()
    mail = tmp_path / "reply.eml"
    mail.write_bytes(raw)

    lines: list[str] = []
    assert main(mail, CONFIG, as_json=False, write=lines.append, store_path=store_path) == 0
    text = "\n".join(lines)
    assert "already processed" in text and ": blocked" in text
    assert "is rejected (rejected at the keyboard)" in text
    now = text.split("what it would be now:")[1]
    assert "verdict: rejected" in now and "revoked" in now
    assert "duplicate" not in text

    lines.clear()
    main(mail, CONFIG, as_json=True, write=lines.append, store_path=store_path)
    data = json.loads(lines[0])
    assert data["recorded"]["verdict"] == "blocked" and data["recorded"]["command_state"] == "rejected"
    assert data["verdict"] == "rejected"


def test_a_new_mail_has_no_recorded_decision(tmp_path: Path) -> None:
    from taskping_tui.diagnostics.inspect import main
    from taskping_tui.store import Store
    from tests.unit.inbound.test_processor import CONFIG

    store_path = tmp_path / "store.sqlite3"
    Store.open(store_path).close()
    lines: list[str] = []
    main(CORPUS / "gmail_web_en.eml", CONFIG, as_json=True, write=lines.append, store_path=store_path)
    assert json.loads(lines[0])["recorded"] is None
