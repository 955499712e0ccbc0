"""Secrets and start-up failures (issue 13 items 1-3): the agent's environment, one address validator,
clean exits instead of tracebacks, reprs that hide the password, and logs without mail text.

The whole-loop versions (the app, dovecot, aiosmtpd, a byte-logging agent) are in
tests/functional/test_hostile_mail_loop.py.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import traceback
from pathlib import Path

import pytest
from rich.console import Console
from rich.traceback import Traceback

from taskping_tui import cli, paths
from taskping_tui.agent.environment import agent_environment, secret_variable_names
from taskping_tui.config import Config, ConfigError, MailConfig, SecurityConfig, parse_config
from taskping_tui.errors import TaskPingError
from taskping_tui.inbound.gate import GatePolicy
from taskping_tui.inbound.processor import InboundProcessor
from taskping_tui.mail.address import AddressError, config_address
from taskping_tui.mail.password import PasswordError, Secret, resolve_secret
from taskping_tui.mail.watcher import FetchedMail
from taskping_tui.startup import check_startup
from taskping_tui.store import SCHEMA_VERSION, Store, StoreError
from taskping_tui.terminal.process import build_child_env

MARKER = "pw-MARKER-7f3a9c"  # the mail password in every test here
BAD_ADDRESSES = [
    "@example.com",
    "bot@",
    "@",
    "example.com",
    "a@b@c.com",
    "me@example..com",
    "me@-x.com",
    "me@example.com, you@example.com",
    "<>",
    "  ",
    "me@exa mple.com",
]


def mail_on(
    address: str = "bot@example.com",
    senders: str = '"me@example.com"',
    recipients: str = '"me@example.com"',
    store: str = "",
) -> str:
    return f"""
[mail]
enabled = true
address = "{address}"
password_env = "TP_TEST_PW"
recipients = [{recipients}]
smtp = {{ host = "127.0.0.1", port = 2525, security = "none" }}
imap = {{ host = "127.0.0.1", port = 1143, security = "none" }}
[security]
allowed_senders = [{senders}]
"""


# -- item 2: one address validator ------------------------------------------------------------------


@pytest.mark.parametrize("value", BAD_ADDRESSES)
def test_the_one_validator_refuses_what_the_gate_could_never_match(value: str) -> None:
    with pytest.raises(AddressError):
        config_address(value, "x")
    with pytest.raises(ValueError):
        GatePolicy.create(allowed_senders=[value])


@pytest.mark.parametrize(
    "value", ["me@example.com", "Me <ME@Example.COM>", "a.b+tag@mail.example.co.uk", "me@localhost", "12345678@qq.com"]
)
def test_the_one_validator_accepts_plain_addresses(value: str) -> None:
    assert config_address(value) == value.split("<")[-1].rstrip(">").lower()


@pytest.mark.parametrize("bad", ["@example.com", "bot@", "me@example..com"])
@pytest.mark.parametrize("key", ["security.allowed_senders[0]", "mail.address", "mail.recipients[0]"])
def test_every_address_setting_is_checked_with_the_key_named(key: str, bad: str) -> None:
    text = {
        "security.allowed_senders[0]": mail_on(senders=f'"{bad}"'),
        "mail.address": mail_on(address=bad),
        "mail.recipients[0]": mail_on(recipients=f'"{bad}"'),
    }[key]
    with pytest.raises(ConfigError) as caught:
        parse_config(text, Path("/cfg.toml"))
    message = str(caught.value)
    assert message.startswith(f"/cfg.toml: {key}: ")
    assert "fix: write one plain address" in message


def test_every_start_up_error_is_a_taskping_error() -> None:
    from taskping_tui.inbound.danger import DangerPatternError
    from taskping_tui.mail.watcher import WatcherSetupError

    for cls in (ConfigError, StoreError, PasswordError, AddressError, DangerPatternError, WatcherSetupError):
        assert issubclass(cls, TaskPingError), cls


# -- item 2: the state file -------------------------------------------------------------------------


def store_file(kind: str, path: Path) -> Path:
    if kind == "not a database":
        path.write_bytes(b"this is not sqlite, it is a text file someone put here\n" * 4)
    elif kind == "newer schema":
        with sqlite3.connect(path) as conn:
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    elif kind == "truncated header":
        path.write_bytes(b"SQLite format 3\x00\x10")
    elif kind == "another user's":
        with Store.open(path):
            pass
        os.chown(path, 65534, 65534)
    return path


STORE_CASES = ["not a database", "newer schema", "truncated header", "another user's"]


@pytest.mark.parametrize("kind", STORE_CASES)
def test_store_check_names_the_file_and_the_fix(kind: str, tmp_path: Path) -> None:
    if kind == "another user's" and os.getuid() != 0:
        pytest.skip("needs root to give the file away")  # CI runs as root; a developer's run skips this one
    path = store_file(kind, tmp_path / "store.sqlite3")
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(StoreError) as caught:
        Store.check(path)
    assert str(path) in caught.value.problem and caught.value.fix
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # the check changed nothing


def test_store_check_accepts_a_missing_an_empty_and_a_good_store(tmp_path: Path) -> None:
    Store.check(tmp_path / "missing.sqlite3")
    (tmp_path / "empty.sqlite3").write_bytes(b"")
    Store.check(tmp_path / "empty.sqlite3")
    with Store.open(tmp_path / "good.sqlite3"):
        pass
    Store.check(tmp_path / "good.sqlite3")


@pytest.mark.parametrize("kind", ["not a database", "newer schema"])
def test_cli_start_up_with_a_broken_state_file_is_one_message_and_exit_2(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TP_TEST_PW", MARKER)
    config = tmp_path / "config.toml"
    config.write_text(mail_on())
    paths.ensure_private_dir(paths.state_dir())
    store_file(kind, paths.default_store_path())
    assert cli.main(["--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("taskping-tui: ") and str(paths.default_store_path()) in err and "fix: " in err
    assert "Traceback" not in err and MARKER not in err


@pytest.mark.parametrize("bad", ["@example.com", "bot@"])
def test_cli_start_up_with_a_bad_address_is_one_message_and_exit_2(
    bad: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TP_TEST_PW", MARKER)
    config = tmp_path / "config.toml"
    config.write_text(mail_on(senders=f'"{bad}"') if bad.startswith("@") else mail_on(address=bad))
    assert cli.main(["--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert f"{config}: " in err and "fix: " in err and "Traceback" not in err and MARKER not in err


def test_check_startup_passes_a_good_config(tmp_path: Path) -> None:
    check_startup(parse_config(mail_on()), tmp_path / "store.sqlite3")
    assert not (tmp_path / "store.sqlite3").exists()


# -- item 2: no traceback shows the password --------------------------------------------------------


def test_secret_and_mail_config_never_show_the_password() -> None:
    secret = Secret(MARKER)
    config = Config(mail=MailConfig(password=MARKER), security=SecurityConfig(allowed_senders=["me@example.com"]))
    for text in (repr(secret), str(secret), f"{secret}", repr(config), str(config.mail), repr([secret, config])):
        assert MARKER not in text
    assert secret.reveal() == MARKER


def test_resolve_secret_wraps_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TP_TEST_PW", MARKER)
    secret = resolve_secret(MailConfig(password_env="TP_TEST_PW"))
    assert isinstance(secret, Secret) and secret.reveal() == MARKER and MARKER not in repr(secret)


def test_a_traceback_with_locals_through_mail_start_up_shows_no_password(tmp_path: Path) -> None:
    """What Textual prints on a crash: rich's Traceback with show_locals, over frames holding the config."""
    config = Config(
        mail=MailConfig(address="bot@example.com", password=MARKER),
        security=SecurityConfig(allowed_senders=["me@example.com"]),
    )
    secret = Secret(MARKER)

    def start_mail(config: Config, secret: Secret) -> None:
        store = Store.open(tmp_path / "s.sqlite3")
        InboundProcessor(store, config)
        raise RuntimeError("something unexpected after the password was resolved")

    try:
        start_mail(config, secret)
    except RuntimeError as error:
        console = Console(record=True, width=200)
        console.print(Traceback.from_exception(type(error), error, error.__traceback__, show_locals=True))
        text = console.export_text()
    assert "secret = Secret('***')" in text.replace("  ", " ") or "Secret('***')" in text
    assert MARKER not in text
    assert MARKER not in "".join(traceback.format_exc())


# -- item 1: the agent's environment ----------------------------------------------------------------


def test_agent_environment_drops_the_password_variable_and_copies_of_the_password() -> None:
    base = {
        "HOME": "/home/me",
        "PATH": "/usr/bin",
        "TP_TEST_PW": MARKER,
        "COPY": MARKER,
        "URL": f"imaps://me:{MARKER}@imap.example.com",
        "EDITOR": "vim",
        "SHORT": "1",
    }
    mail = MailConfig(password_env="TP_TEST_PW")
    changes = agent_environment(base, {"FROM_CONFIG": MARKER, "MODE": "fast"}, mail, Secret(MARKER))
    assert changes == {"TP_TEST_PW": None, "COPY": None, "URL": None, "FROM_CONFIG": None, "MODE": "fast"}
    assert secret_variable_names(mail, base, None) == {"TP_TEST_PW"}  # unresolved: the named variable still goes


def test_a_short_password_is_only_matched_whole() -> None:
    base = {"PW": "abc", "OTHER": "xabcx", "SAME": "abc"}
    assert secret_variable_names(MailConfig(), base, Secret("abc")) == {"PW", "SAME"}


def test_the_child_environment_applies_removals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TP_TEST_PW", MARKER)
    monkeypatch.setenv("TP_KEEP", "kept")
    env = build_child_env({"TP_TEST_PW": None, "TP_NEW": "new"})
    assert "TP_TEST_PW" not in env and env["TP_KEEP"] == "kept" and env["TP_NEW"] == "new"
    assert MARKER not in "".join(env.values())


# -- item 3: logs carry ids, verdicts and reasons, never subject or body text -----------------------


def test_processing_mail_logs_ids_and_verdicts_but_no_mail_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = parse_config(mail_on())
    store = Store.open(tmp_path / "s.sqlite3")
    processor = InboundProcessor(store, config)
    subject_text, body_text = "SUBJECT-SECRET-prompt", "BODY-SECRET-command"
    raws = [
        (
            f"From: me@example.com\r\nSubject: Re: [TaskPing #7K3QZ9MX] {subject_text}\r\nMessage-ID: <a1@x>\r\n\r\n"
            f"{body_text}\r\n"
        ).encode(),
        (
            f"From: stranger@evil.example\r\nSubject: {subject_text}\r\nMessage-ID: <a2@x>\r\n\r\n{body_text}\r\n"
        ).encode(),
        (
            f"From: me@example.com\r\nSubject: {subject_text} rm\r\nMessage-ID: <a3@x>\r\n\r\nrm -rf / {body_text}\r\n"
        ).encode(),
    ]
    with caplog.at_level(logging.DEBUG):
        for uid, raw in enumerate(raws, start=1):
            processor.process(FetchedMail(uidvalidity=1, uid=uid, size=len(raw), raw=raw, too_big=False), "key")
        processor.process(FetchedMail(uidvalidity=1, uid=9, size=10**9, raw=None, too_big=True), "key")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "mail UID 1 (Message-ID <a1@x>, token 7K3QZ9MX): rejected [token-unknown]" in logged
    assert "mail UID 2 (Message-ID <a2@x>" in logged and "sender-not-allowed" in logged
    assert "mail UID 9 (Message-ID -, token -): rejected [too-big]" in logged
    assert subject_text not in logged and body_text not in logged and "rm -rf" not in logged


async def test_a_sent_notification_is_logged_by_ids_not_by_its_subject(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from datetime import UTC, datetime

    from taskping_tui.mail.compose import NotificationFacts
    from taskping_tui.mail.outbox import Outbox
    from taskping_tui.mail.sender import SendResult

    class Sender:
        async def send(self, message: bytes, *, sender: str, recipients: object) -> SendResult:
            return SendResult("sent", "250 ok")

    config = parse_config(mail_on())
    store = Store.open(tmp_path / "s.sqlite3")
    outbox = Outbox(store, config.mail, sender=Sender())  # type: ignore[arg-type]
    facts = NotificationFacts(
        kind="turn_finished",
        summary="The agent finished its turn.",
        session_id="s1",
        cwd="/home/ann/webshop",
        prompt="PROMPT-SECRET-words",
        last_assistant_message="done",
        time=datetime.now(UTC),
    )
    with caplog.at_level(logging.DEBUG):
        row = outbox.enqueue(facts)
        assert "PROMPT-SECRET-words" in row.subject  # the subject does carry the prompt
        assert await outbox.send_next_due()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"outbox mail {row.id} sent (token {row.token}, Message-ID {row.message_id})" in logged
    assert "PROMPT-SECRET-words" not in logged
