"""Fuzz: 20 000 mutated corpus mails through parsing and the gate — never an exception, always a verdict,
and no mutation that costs far more than a corpus mail."""

from __future__ import annotations

import random
import time

import pytest

from taskping_tui.inbound.gate import GateFacts, GatePolicy, TokenInfo, VerdictKind, decide
from taskping_tui.mail.reply import ParsedMail, parse_mail
from tests.support import MAIL_CORPUS

CORPUS = MAIL_CORPUS
SEEDS = [path.read_bytes() for path in sorted(CORPUS.glob("*.eml"))]
MAILS = 20_000
# Mutated mails may cost at most this many times what the unmutated corpus costs per mail, measured
# in the same run (a backtracking pattern or a quadratic loop blows far past it; a slow machine does not).
COST_RATIO_LIMIT = 4.0
REFERENCE_ROUNDS = 5
MAX_SIZE = 12_000

NASTY_HEADERS = [
    b'Content-Type: multipart/mixed; boundary=""',
    b"Content-Type: multipart/alternative",
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n--b\r\n--b--',
    b"Content-Type: message/rfc822",
    b"Content-Type: text/plain; charset=utf-7",
    b'Content-Type: text/plain; charset="\x00\xff"',
    b"Content-Type: text/plain; charset*=utf-8''%E4%B8%AD",
    b"Content-Type: text/html; charset=x-unknown",
    b"Content-Type: ;;;==",
    b"Content-Transfer-Encoding: base64",
    b"Content-Transfer-Encoding: quoted-printable",
    b"Content-Transfer-Encoding: x-uuencode",
    b"Subject: =?utf-8?b?////?= =?gb2312?q?=FF=FE?= =?big5?B?pKSk5Q?=",
    b"Subject: [TaskPing #7K3QZ9MX] \x1b[201~\x03",
    b"From: <<<@@@>>>",
    b"From: a@b.c, d@e.f",
    b'From: "x@y" <z@w>, (comment',
    b"From: =?utf-8?q?=00?= <\xff@\xfe>",
    b"Authentication-Results: ;;;((((",
    b"Authentication-Results: mx.example.com; dkim=pass header.d=; dmarc",
    b"References: " + b"<a@b> " * 300,
    b"In-Reply-To: <<<>>>",
    b"Message-ID: <taskping.1764000245.9f3c2a@devbox.example.com>",
    b"Date: Mon, 99 Foo 99999 99:99:99 +9999",
    b"Return-Path: <>",
    b"Auto-Submitted: (comment) no",
    b"Content-Disposition: attachment",
    b"X-Header-Without-Value:",
    b" folded continuation without a header",
]
NASTY_BODY = [
    b"\x1b[201~",
    b"\x1b]0;title\x07",
    b"\r",
    b"\x00",
    b"\xff\xfe",
    b"\xe4\xb8",
    b"=\r\n",
    b"=E4=B8",
    b"> ",
    b"-- \r\n",
    b"On Mon wrote:\r\n",
    "写道：".encode(),
    b"<blockquote>",
    b"</div>",
    b"&#xFFFFFF;",
    b"\xc2\xa0",
    b"\xe2\x80\xae",
    b"--000000000000a1b2c3d4e5f60718\r\n",
    b"begin 644 x\r\n",
]


def mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(8)
        at = rng.randrange(len(buf) + 1)
        if choice == 0 and buf:  # flip bytes
            for _ in range(rng.randint(1, 12)):
                buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif choice == 1:  # truncate
            del buf[at:]
        elif choice == 2 and buf:  # delete a range
            del buf[at : at + rng.randint(1, 400)]
        elif choice == 3:  # splice in a piece of another mail
            other = rng.choice(SEEDS)
            start = rng.randrange(len(other))
            buf[at:at] = other[start : start + rng.randint(1, 600)]
        elif choice == 4:  # add a hostile header at the top
            buf[0:0] = rng.choice(NASTY_HEADERS) + b"\r\n"
        elif choice == 5:  # hostile bytes anywhere
            buf[at:at] = rng.choice(NASTY_BODY) * rng.randint(1, 3)
        elif choice == 6:  # repeat a line
            end = buf.find(b"\n", at)
            line = bytes(buf[at : end + 1 if end != -1 else len(buf)])[:200]
            buf[at:at] = line * rng.randint(2, 20)
        else:  # random bytes
            buf[at:at] = rng.randbytes(rng.randint(1, 64))
    return bytes(buf[:MAX_SIZE])


def corpus_cost_per_mail(policy: GatePolicy, facts: GateFacts) -> float:
    """CPU seconds to parse and judge one unmutated corpus mail, on this machine, now."""
    started = time.process_time()
    for _ in range(REFERENCE_ROUNDS):
        for raw in SEEDS:
            decide(parse_mail(raw), policy, facts, 1.9e9)
    return (time.process_time() - started) / (REFERENCE_ROUNDS * len(SEEDS))


@pytest.mark.timeout(120)
def test_mutated_mails_never_raise_and_always_get_a_clean_verdict() -> None:
    rng = random.Random(20261124)
    policy = GatePolicy.create(
        allowed_senders=["alice.example@gmail.com", "erin@example.org", "12345678@qq.com"],
        own_addresses=["taskping@example.com"],
        require_auth="mx.example.com",
        max_command_chars=2000,
    )
    facts = GateFacts(
        token_status=lambda t: TokenInfo("active", "s1", 2e9) if t == "7K3QZ9MX" else TokenInfo("unknown"),
        token_for_message_id=lambda m: "7K3QZ9MX" if m.startswith("<taskping.") else None,
        mailbox_uid=(1, 1),
    )
    kinds: dict[VerdictKind, int] = {}
    reference = corpus_cost_per_mail(policy, facts)
    started = time.process_time()  # CPU time: other processes on a busy CI box do not count
    for _ in range(MAILS):
        raw = mutate(rng, rng.choice(SEEDS))
        mail = parse_mail(raw)
        assert isinstance(mail, ParsedMail)
        assert mail.size == len(raw)
        for value in (
            mail.subject,
            mail.from_display,
            mail.text,
            mail.command,
            mail.problem or "",
            mail.return_path or "",
            mail.message_id or "",
            mail.content_type,
            *mail.references,
            *mail.authentication_results,
        ):
            value.encode("utf-8")  # storable: no lone surrogates
        verdict = decide(mail, policy, facts, 1.9e9)
        kinds[verdict.kind] = kinds.get(verdict.kind, 0) + 1
        assert all(ch == "\n" or not (ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0) for ch in verdict.command)
        assert "\x1b" not in verdict.command and "[201~" not in verdict.command
    elapsed = time.process_time() - started
    ratio = elapsed / MAILS / reference
    assert ratio < COST_RATIO_LIMIT, f"{MAILS} mutated mails took {elapsed:.1f} s of CPU: {ratio:.1f}x the corpus"
    # The mutations keep enough mails intact that every verdict occurs.
    assert set(kinds) == set(VerdictKind), kinds
