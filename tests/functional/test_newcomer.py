"""Stumbles a newcomer hit in the first hour, each against the real app (issue 15)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from taskping_tui.app import TaskPingApp
from taskping_tui.config import parse_config
from taskping_tui.mail.watcher import WatcherTimings
from taskping_tui.widgets.inbound_panel import InboundPanel
from tests.app_harness import AppDriver
from tests.dovecot_fixtures import DovecotServer
from tests.smtp_fixtures import SmtpServerFactory

FAKE_AGENT = [sys.executable, str(Path(__file__).resolve().parents[1] / "data" / "fake_agent.py")]
PASSWORD_ENV = "TASKPING_NEWCOMER_PASSWORD"


def mail_config(imap_port: int, smtp_port: int, login: str) -> str:
    return f"""
[notify]
desktop = false

[mail]
enabled = true
address = "{login}"
password_env = "{PASSWORD_ENV}"
recipients = ["me@example.com"]
smtp = {{ host = "127.0.0.1", port = {smtp_port}, security = "none", timeout_seconds = 5.0 }}
imap = {{ host = "127.0.0.1", port = {imap_port}, security = "none" }}

[security]
allowed_senders = ["me@example.com"]
"""


@pytest.mark.slow
async def test_wrong_imap_password_is_shown_in_the_inbound_panel_and_a_notice(
        tmp_path: Path, dovecot: DovecotServer, smtp_server_factory: SmtpServerFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The title used to be cut to "reconnecting in 7.0 s …" and the reason never showed."""
    user = dovecot.new_user()
    smtp = smtp_server_factory()
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    config = parse_config(mail_config(dovecot.imap_port, smtp.port, user.login))
    app = TaskPingApp(config, FAKE_AGENT, store_path=tmp_path / "store.sqlite3", runtime_dir=tmp_path / "run",
                      watcher_timings=WatcherTimings(backoff_initial_seconds=0.2, backoff_max_seconds=0.5))
    async with app.run_test(size=(170, 45)) as pilot:
        driver = AppDriver(app, pilot)
        panel = app.query_one(InboundPanel)
        await driver.until(lambda: "login refused" in panel.problem_text, "the problem in the panel", timeout=15)
        await pilot.pause()
        text = panel.problem_text
        assert "Fix:" in text and PASSWORD_ENV in text and "doctor" in text
        assert "not-the-password" not in text
        assert panel.region.height > 0 and panel.query_one(".panel-problem").region.height >= 2
        notices = [n for n in app._notifications if "IMAP login refused" in str(n.title)]
        assert len(notices) == 1, "one notice, not one per retry"
        await pilot.pause(1.5)  # a few more refused retries
        assert len([n for n in app._notifications if "IMAP login refused" in str(n.title)]) == 1
        assert "login refused" in panel.problem_text
