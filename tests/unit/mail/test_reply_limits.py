"""Hostile shapes of mail (up to the 1 MB fetch limit) are parsed and gated quickly: no regex blow-up.

The watcher runs parsing on the app's event loop, so a mail that took seconds would freeze the screen.
Each case once took from 12 s to minutes before the code was made linear; the limit leaves room for a
slow CI machine while still failing on anything quadratic.
"""

from __future__ import annotations

import time

import pytest

from taskping_tui.inbound.danger import match_danger
from taskping_tui.inbound.gate import GateFacts, GatePolicy, decide
from taskping_tui.mail.reply import parse_mail

LIMIT_SECONDS = 2.0
PLAIN = b"From: a@example.org\r\nSubject: [TaskPing #7K3QZ9MX]\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
HTML = b"From: a@example.org\r\nSubject: [TaskPing #7K3QZ9MX]\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
POLICY = GatePolicy.create(allowed_senders=["a@example.org"], max_command_chars=2_000_000)

BODIES = {
    "lines of dashes": PLAIN + ("-" * 399 + "\r\n").encode() * 2500,
    "one line of dashes": PLAIN + b"-" * 1_000_000,
    "separator look-alikes": PLAIN + ("-- Original -- " * 25 + "\r\n").encode() * 2500,
    "From: lines": PLAIN + b"From: x\r\n" * 100_000,
    "date-like lines": PLAIN + ("2026年 " * 50 + "\r\n").encode() * 3000,
    "marker words": PLAIN + ("reply above this line " * 18 + "\r\n").encode() * 2500,
    "escape sequences": PLAIN + b"\x1b[201~" * 150_000,
    "nested paste markers": PLAIN + b"[20" * 100_000 + b"1~" * 100_000,
    "nested html": HTML + b"<div>" * 50_000 + b"x" + b"</div>" * 50_000,
    "many parts": b"From: a@example.org\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
    + b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" * 20_000
    + b"--b--\r\n",
    "deeply nested parts": b"From: a@example.org\r\n"
    + b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(2000))
    + b"Content-Type: text/plain\r\n\r\nhi\r\n",
}


@pytest.mark.parametrize("name", sorted(BODIES))
def test_hostile_mail_is_parsed_and_gated_quickly(name: str) -> None:
    raw = BODIES[name]
    started = time.process_time()
    mail = parse_mail(raw)
    verdict = decide(mail, POLICY, GateFacts(), 0.0)
    elapsed = time.process_time() - started
    assert elapsed < LIMIT_SECONDS, f"{name}: {elapsed:.2f} s"
    assert "\x1b" not in verdict.command and "[201~" not in verdict.command


def test_nested_paste_markers_vanish_completely() -> None:
    mail = parse_mail(BODIES["nested paste markers"])
    assert decide(mail, POLICY, GateFacts(), 0.0).command == ""


@pytest.mark.parametrize(
    "unit",
    [
        "git ",
        "git push ",
        "git reset ",
        "rm ",
        "rm -r ",
        "curl | ",
        "sh ",
        "dd ",
        "chmod -R ",
        "chmod ",
        "find ",
        "crontab ",
        ":(){ ",
        "a() { a | ",
        "> ~/",
        "bash $( ",
    ],
)
def test_danger_patterns_stay_linear_on_repeated_words(unit: str) -> None:
    text = (unit * 20_000)[:100_000]
    started = time.process_time()
    match_danger(text)
    assert time.process_time() - started < LIMIT_SECONDS / 2
