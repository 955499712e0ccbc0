"""Every corpus mail through parsing and the gate ends in the verdict a user would expect."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from taskping_tui.inbound.gate import GateFacts, GatePolicy, Reason, TokenInfo, VerdictKind, decide
from taskping_tui.mail.reply import parse_mail
from tests.support import MAIL_CORPUS

CORPUS = MAIL_CORPUS
EXPECTED: dict[str, dict[str, Any]] = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
NOW = 1_764_000_000.0
TOKEN = "7K3QZ9MX"
SESSION = "session-1"
OUR_MSGID = "<taskping.1764000245.9f3c2a@devbox.example.com>"

POLICY = GatePolicy.create(
    allowed_senders=sorted({str(e["sender"]) for e in EXPECTED.values()} - {"alice.example@gmail.com.evil.example"}),
    own_addresses=["taskping@example.com"],
)
FACTS = GateFacts(
    token_status=lambda t: TokenInfo("active", SESSION, NOW + 3600) if t == TOKEN else TokenInfo("unknown"),
    token_for_message_id=lambda m: TOKEN if m == OUR_MSGID else None,
    mailbox_uid=(1, 100),
)


def verdict_for(name: str, policy: GatePolicy = POLICY, facts: GateFacts = FACTS) -> Any:
    return decide(parse_mail((CORPUS / name).read_bytes()), policy, facts, NOW)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_mail_verdict(name: str) -> None:
    expected = EXPECTED[name]
    verdict = verdict_for(name)
    assert verdict.kind == expected["verdict"], verdict.reasons
    if verdict.kind in (VerdictKind.ACCEPTED, VerdictKind.BLOCKED):
        assert verdict.command == expected.get("sanitized", expected["command"])
        assert verdict.session_id == SESSION


def test_stranger_is_rejected_for_the_sender_only() -> None:
    verdict = verdict_for("stranger.eml")
    assert verdict.codes == [Reason.SENDER_NOT_ALLOWED]


def test_unknown_charset_with_ascii_bytes_is_read_and_says_so() -> None:
    verdict = verdict_for("unknown_charset.eml")
    assert verdict.kind is VerdictKind.ACCEPTED
    assert verdict.codes == [Reason.CHARSET_FALLBACK]
    assert verdict.reasons == ["unknown charset 'x-foo' in the text part: its bytes are plain ASCII, read as ASCII"]


def test_forward_only_mail_names_the_problem() -> None:
    assert verdict_for("rfc822_only.eml").codes == [Reason.UNPARSABLE]


def test_blocked_corpus_mail_names_its_pattern() -> None:
    verdict = verdict_for("signature_android_danger.eml")
    assert verdict.danger is not None and verdict.danger.name == "git push --force"


def test_gmail_replies_pass_require_auth_and_others_without_a_header_fail() -> None:
    policy = dataclasses.replace(POLICY, require_auth="mx.example.com")
    gmail = verdict_for("gmail_web_en.eml", policy)
    assert gmail.kind is VerdictKind.ACCEPTED
    assert gmail.auth_result == "dmarc=pass (mx.example.com)"
    mutt = verdict_for("mutt_top_signature.eml", policy)
    assert mutt.kind is VerdictKind.REJECTED
    assert mutt.codes == [Reason.AUTH_MISSING]


def test_fresh_mail_with_a_full_width_token_needs_no_thread_headers() -> None:
    facts = dataclasses.replace(FACTS, token_for_message_id=lambda _m: None)
    assert verdict_for("fullwidth_token.eml", facts=facts).kind is VerdictKind.ACCEPTED
