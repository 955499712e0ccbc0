"""A refused IMAP login is a problem for the user (with the fix), not just another reconnect."""

from __future__ import annotations

from taskping_tui.config import ImapConfig, MailConfig
from taskping_tui.mail.imap_client import LoginRefused
from taskping_tui.mail.watcher import WatcherState, WatcherStatus
from taskping_tui.mail.watcher_problem import watcher_problem
from tests.unit.mail.test_watcher import Harness, harness, make_watcher, run_until  # noqa: F401  (fixture)


async def test_refused_login_is_flagged_until_a_login_works(harness: Harness) -> None:  # noqa: F811
    harness.server.connect_errors = [LoginRefused("login refused for me: NO [AUTHENTICATIONFAILED] bad")]
    watcher = make_watcher(harness)
    await run_until(harness, watcher, lambda: WatcherState.IDLE in harness.states(), "idle")
    refused = [s for s in harness.statuses if s.login_refused]
    assert refused and refused[0].state is WatcherState.RECONNECTING
    assert "AUTHENTICATIONFAILED" in (refused[0].last_error or "")
    idle = next(s for s in harness.statuses if s.state is WatcherState.IDLE)
    assert not idle.login_refused


def test_problem_names_the_password_source_and_the_provider_hint() -> None:
    mail = MailConfig(
        enabled=True, address="bot@gmail.com", password_env="TP_PW", imap=ImapConfig(host="imap.gmail.com")
    )
    status = WatcherStatus(
        WatcherState.RECONNECTING,
        "reconnecting in 7.0 s",
        retry_in=7.0,
        last_error="login refused for bot@gmail.com: NO [AUTHENTICATIONFAILED]",
        login_refused=True,
    )
    problem = watcher_problem(status, mail)
    assert problem is not None
    assert "AUTHENTICATIONFAILED" in problem.reason
    assert "TP_PW" in problem.fix and "app password" in problem.fix and "doctor" in problem.fix
    assert watcher_problem(WatcherStatus(WatcherState.RECONNECTING, "reconnecting", last_error="timeout"), mail) is None
