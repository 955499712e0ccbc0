"""The gate: every verdict and every reason, in the documented order."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from taskping_tui.config import SecurityConfig
from taskping_tui.inbound.auth_results import check_authentication, parse_authentication_results
from taskping_tui.inbound.danger import DangerPatternError
from taskping_tui.inbound.gate import (
    GateFacts,
    GatePolicy,
    Reason,
    TokenInfo,
    Verdict,
    VerdictKind,
    decide,
    sanitize_command,
)
from taskping_tui.mail.reply import ParsedMail

NOW = 1_764_000_000.0
TOKEN = "7K3QZ9MX"
SESSION = "0b6e2f44-1c7a-4d2e-9a51-3f0c8d9e7a10"
OUR_MSGID = "<taskping.1.abc@devbox>"


@dataclass
class FakeStore:
    """In-memory stand-in for what the real store answers."""

    tokens: dict[str, TokenInfo] = field(default_factory=lambda: {TOKEN: TokenInfo("active", SESSION, NOW + 3600)})
    sent: dict[str, str] = field(default_factory=lambda: {OUR_MSGID: TOKEN})
    seen_ids: set[str] = field(default_factory=set)
    seen_uids: set[tuple[int, int]] = field(default_factory=set)
    recent: dict[str, int] = field(default_factory=dict)
    uid: tuple[int, int] | None = (7, 42)

    def facts(self) -> GateFacts:
        return GateFacts(
            token_status=lambda t: self.tokens.get(t, TokenInfo("unknown")),
            token_for_message_id=self.sent.get,
            message_id_seen=lambda m: m in self.seen_ids,
            uid_seen=lambda v, u: (v, u) in self.seen_uids,
            commands_in_last_hour=lambda s: self.recent.get(s, 0),
            mailbox_uid=self.uid,
        )


POLICY = GatePolicy.create(
    allowed_senders=["Alice <Alice@Example.org>", "bob@example.com"],
    own_addresses=["taskping@example.com"],
    max_command_chars=200,
    max_commands_per_hour=5,
)


def reply(**changes: object) -> ParsedMail:
    base = ParsedMail(
        message_id="<reply.1@example.org>",
        in_reply_to=OUR_MSGID,
        references=[OUR_MSGID],
        from_addr="alice@example.org",
        from_display="Alice",
        subject=f"Re: [TaskPing #{TOKEN}] Turn finished",
        command="run the tests",
        token=TOKEN,
        return_path="<alice@example.org>",
        size=1234,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def run(mail: ParsedMail, store: FakeStore | None = None, policy: GatePolicy = POLICY) -> Verdict:
    return decide(mail, policy, (store or FakeStore()).facts(), NOW)


# ---------------------------------------------------------------------------------------- accepted


def test_a_good_reply_is_accepted_with_its_session() -> None:
    verdict = run(reply())
    assert verdict.kind is VerdictKind.ACCEPTED
    assert verdict.kind == "accepted"
    assert verdict.reasons == [] and verdict.codes == []
    assert verdict.command == "run the tests"
    assert verdict.token == TOKEN
    assert verdict.session_id == SESSION
    assert verdict.sender == "alice@example.org"
    assert verdict.message_id == "<reply.1@example.org>"
    assert verdict.danger is None
    assert verdict.auth_result == ""


def test_now_may_be_an_aware_datetime() -> None:
    when = datetime.fromtimestamp(NOW, tz=UTC)
    assert decide(reply(), POLICY, FakeStore().facts(), when).kind is VerdictKind.ACCEPTED


def test_token_comes_from_in_reply_to_when_the_subject_lost_it() -> None:
    verdict = run(reply(token=None, subject="Re: Turn finished"))
    assert verdict.kind is VerdictKind.ACCEPTED
    assert verdict.token == TOKEN


def test_token_comes_from_the_newest_known_reference() -> None:
    store = FakeStore()
    store.tokens["ABCDEFGH"] = TokenInfo("active", "other-session", NOW + 60)
    store.sent["<old@devbox>"] = "ABCDEFGH"
    mail = reply(token=None, in_reply_to="<someone-else@x>", references=["<old@devbox>", OUR_MSGID, "<x@y>"])
    verdict = run(mail, store)
    assert verdict.token == TOKEN and verdict.session_id == SESSION


OTHER_TOKEN, OTHER_SESSION, OTHER_MSGID = "ABCDEFGH", "other-session", "<taskping.2.abc@devbox>"


def two_sessions() -> FakeStore:
    store = FakeStore()
    store.tokens[OTHER_TOKEN] = TokenInfo("active", OTHER_SESSION, NOW + 60)
    store.sent[OTHER_MSGID] = OTHER_TOKEN
    return store


@pytest.mark.parametrize("other_session", [OTHER_SESSION, SESSION])
def test_a_subject_naming_two_tokens_goes_to_neither_session(other_session: str) -> None:
    store = two_sessions()
    store.tokens[OTHER_TOKEN] = TokenInfo("active", other_session, NOW + 60)
    subject = f"Re: [TaskPing #{TOKEN}] Turn finished [TaskPing #{OTHER_TOKEN}]"
    verdict = run(reply(subject=subject, subject_tokens=(TOKEN, OTHER_TOKEN)), store)
    assert verdict.kind is VerdictKind.REJECTED
    assert verdict.codes == [Reason.TOKEN_AMBIGUOUS]
    assert verdict.reasons == [
        f"the subject names 2 session tokens (#{TOKEN}, #{OTHER_TOKEN}); reply to one notification"
    ]


def test_the_same_token_twice_in_the_subject_is_one_token() -> None:
    subject = f"Re: [TaskPing #{TOKEN}] Fwd: [TaskPing #{TOKEN.lower()}]"
    assert run(reply(subject=subject, subject_tokens=(TOKEN, TOKEN.lower()))).kind is VerdictKind.ACCEPTED


@pytest.mark.parametrize("header", ["in_reply_to", "references"])
def test_a_subject_token_of_one_session_on_a_reply_to_another_sessions_mail_is_rejected(header: str) -> None:
    changes: dict[str, object] = (
        {"in_reply_to": OTHER_MSGID, "references": [OTHER_MSGID]}
        if header == "in_reply_to"
        else {"in_reply_to": "<my-own-earlier-reply@x>", "references": [OTHER_MSGID]}
    )
    verdict = run(reply(**changes), two_sessions())
    assert verdict.kind is VerdictKind.REJECTED
    assert verdict.codes == [Reason.TOKEN_AMBIGUOUS]
    assert verdict.reasons == [
        f"the subject's token #{TOKEN} belongs to another session than the notification it replies to (#{OTHER_TOKEN})"
    ]


def test_a_reply_to_an_older_token_of_the_same_session_is_accepted() -> None:
    store = two_sessions()
    store.tokens[OTHER_TOKEN] = TokenInfo("expired", SESSION)  # the session's token before a renewal
    verdict = run(reply(in_reply_to=OTHER_MSGID, references=[OTHER_MSGID]), store)
    assert verdict.kind is VerdictKind.ACCEPTED and verdict.session_id == SESSION


def test_sender_match_is_case_insensitive() -> None:
    assert run(reply(from_addr="alice@example.org")).kind is VerdictKind.ACCEPTED
    assert "alice@example.org" in POLICY.allowed_senders  # stored lower-cased, display name dropped


def test_user_writing_from_the_service_address_itself_is_not_ignored_when_allowed() -> None:
    policy = dataclasses.replace(POLICY, own_addresses=frozenset({"alice@example.org"}))
    assert run(reply(), policy=policy).kind is VerdictKind.ACCEPTED


def test_auto_submitted_no_is_a_person() -> None:
    assert run(reply(auto_submitted="no")).kind is VerdictKind.ACCEPTED


# ---------------------------------------------------------------------------------------- ignored


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"from_addr": "taskping@example.com"}, Reason.OWN_MAIL),
        ({"taskping_session": SESSION}, Reason.OWN_MAIL),
        ({"message_id": OUR_MSGID}, Reason.OWN_MAIL),
        ({"auto_submitted": "auto-replied"}, Reason.AUTO_SUBMITTED),
        ({"auto_submitted": "auto-generated"}, Reason.AUTO_SUBMITTED),
        ({"autoreply_header": "yes"}, Reason.AUTO_REPLY_HEADER),
        ({"content_type": "multipart/report"}, Reason.BOUNCE_REPORT),
        ({"return_path": "<>"}, Reason.NULL_RETURN_PATH),
        ({"return_path": "< >"}, Reason.NULL_RETURN_PATH),
        ({"precedence": "bulk"}, Reason.BULK_PRECEDENCE),
        ({"precedence": "list"}, Reason.BULK_PRECEDENCE),
        ({"precedence": "junk"}, Reason.BULK_PRECEDENCE),
        ({"list_id": "<dev.lists.example.org>"}, Reason.MAILING_LIST),
    ],
)
def test_mail_that_is_not_a_persons_reply_is_ignored(changes: dict[str, object], code: Reason) -> None:
    verdict = run(reply(**changes))
    assert verdict.kind is VerdictKind.IGNORED
    assert verdict.codes == [code]
    assert len(verdict.reasons) == 1


def test_ignored_comes_before_rejected() -> None:
    bounce = reply(
        from_addr="mailer-daemon@mx.example.com",
        token=None,
        return_path="<>",
        content_type="multipart/report",
        problem="no text part",
    )
    verdict = run(bounce)
    assert verdict.kind is VerdictKind.IGNORED
    assert verdict.codes == [Reason.BOUNCE_REPORT, Reason.NULL_RETURN_PATH]


def test_precedence_first_class_is_not_ignored() -> None:
    assert run(reply(precedence="first-class")).kind is VerdictKind.ACCEPTED


# ---------------------------------------------------------------------------------------- rejected


@pytest.mark.parametrize(
    ("changes", "code", "text"),
    [
        (
            {"problem": "unknown charset 'x-foo' in text part", "command": ""},
            Reason.UNPARSABLE,
            "cannot read the mail: unknown charset 'x-foo' in text part",
        ),
        ({"from_addr": ""}, Reason.NO_SENDER, "the From header does not hold exactly one clear address"),
        (
            {"from_addr": "mallory@evil.example"},
            Reason.SENDER_NOT_ALLOWED,
            "sender mallory@evil.example is not on the allowlist",
        ),
        (
            {"token": None, "in_reply_to": None, "references": []},
            Reason.NO_TOKEN,
            "no session token in the subject and not a reply to one of our mails",
        ),
        ({"token": "ZZZZZZZZ"}, Reason.TOKEN_UNKNOWN, "unknown session token ZZZZZZZZ"),
        ({"command": ""}, Reason.EMPTY_COMMAND, "no command found above the quoted text"),
        ({"command": "x" * 201}, Reason.TOO_LONG, "command is 201 characters, more than the limit of 200"),
    ],
)
def test_each_rejection_reason(changes: dict[str, object], code: Reason, text: str) -> None:
    verdict = run(reply(**changes))
    assert verdict.kind is VerdictKind.REJECTED
    assert verdict.codes == [code]
    assert verdict.reasons == [text]


@pytest.mark.parametrize(
    "sender",
    [
        "alice@example.org.evil.example",
        "evil-alice@example.org",
        "alice@example.or",
        "lice@example.org",
        "alice+x@example.org",
        "alice@sub.example.org",
    ],
)
def test_sender_must_match_exactly_not_as_a_substring(sender: str) -> None:
    verdict = run(reply(from_addr=sender))
    assert verdict.kind is VerdictKind.REJECTED
    assert verdict.codes == [Reason.SENDER_NOT_ALLOWED]


@pytest.mark.parametrize(
    ("info", "code", "text"),
    [
        (TokenInfo("expired", SESSION), Reason.TOKEN_EXPIRED, f"session token {TOKEN} has expired"),
        (TokenInfo("active", SESSION, NOW - 1), Reason.TOKEN_EXPIRED, f"session token {TOKEN} has expired"),
        (TokenInfo("active", SESSION, NOW), Reason.TOKEN_EXPIRED, f"session token {TOKEN} has expired"),
        (TokenInfo("revoked", SESSION), Reason.TOKEN_REVOKED, f"session token {TOKEN} was revoked"),
        (TokenInfo("unknown"), Reason.TOKEN_UNKNOWN, f"unknown session token {TOKEN}"),
    ],
)
def test_token_states(info: TokenInfo, code: Reason, text: str) -> None:
    store = FakeStore(tokens={TOKEN: info})
    verdict = run(reply(), store)
    assert verdict.kind is VerdictKind.REJECTED
    assert verdict.codes == [code]
    assert verdict.reasons == [text]


def test_token_lookup_uses_the_canonical_form() -> None:
    assert run(reply(token="7k3qz9mx")).kind is VerdictKind.ACCEPTED


def test_duplicate_message_id_is_rejected() -> None:
    store = FakeStore(seen_ids={"<reply.1@example.org>"})
    verdict = run(reply(), store)
    assert verdict.kind is VerdictKind.REJECTED
    assert verdict.codes == [Reason.DUPLICATE_MESSAGE_ID]
    assert verdict.reasons == ["already processed a mail with Message-ID <reply.1@example.org>"]


def test_duplicate_uid_is_rejected() -> None:
    store = FakeStore(seen_uids={(7, 42)})
    verdict = run(reply(), store)
    assert verdict.kind is VerdictKind.REJECTED
    assert verdict.codes == [Reason.DUPLICATE_UID]
    assert verdict.reasons == ["already processed mailbox UID 42 (UIDVALIDITY 7)"]


def test_same_uid_under_a_new_uidvalidity_is_new_mail() -> None:
    store = FakeStore(seen_uids={(6, 42)})
    assert run(reply(), store).kind is VerdictKind.ACCEPTED


def test_mail_without_message_id_or_uid_is_not_a_duplicate() -> None:
    store = FakeStore(seen_ids={""}, uid=None)
    assert run(reply(message_id=None), store).kind is VerdictKind.ACCEPTED


def test_rate_limit_per_session_per_hour() -> None:
    store = FakeStore(recent={SESSION: 4})
    assert run(reply(), store).kind is VerdictKind.ACCEPTED
    store.recent[SESSION] = 5
    verdict = run(reply(), store)
    assert verdict.kind is VerdictKind.REJECTED
    assert verdict.codes == [Reason.RATE_LIMITED]
    assert verdict.reasons == ["5 commands in the last hour for this session (limit 5)"]


def test_rate_of_another_session_does_not_count() -> None:
    assert run(reply(), FakeStore(recent={"other": 99})).kind is VerdictKind.ACCEPTED


def test_all_applicable_rejection_reasons_are_listed_in_order() -> None:
    store = FakeStore(seen_ids={"<reply.1@example.org>"}, seen_uids={(7, 42)})
    verdict = run(reply(from_addr="mallory@evil.example", token="ZZZZZZZZ", command=""), store)
    assert verdict.kind is VerdictKind.REJECTED
    assert verdict.codes == [
        Reason.SENDER_NOT_ALLOWED,
        Reason.TOKEN_UNKNOWN,
        Reason.DUPLICATE_MESSAGE_ID,
        Reason.DUPLICATE_UID,
        Reason.EMPTY_COMMAND,
    ]
    assert len(verdict.reasons) == 5


def test_rejected_comes_before_blocked() -> None:
    verdict = run(reply(from_addr="mallory@evil.example", command="rm -rf /"))
    assert verdict.kind is VerdictKind.REJECTED
    assert verdict.danger is None


def test_command_of_only_control_characters_is_empty() -> None:
    verdict = run(reply(command="\x1b[201~\x03\x04\u202e"))
    assert verdict.kind is VerdictKind.REJECTED
    assert verdict.codes == [Reason.EMPTY_COMMAND, Reason.INVISIBLE_REMOVED]  # the U+202E is named
    assert verdict.command == ""


def test_length_is_checked_after_sanitizing() -> None:
    padded = "ls" + "\x1b[0m" * 100  # 402 characters before sanitizing, 2 after
    verdict = run(reply(command=padded))
    assert verdict.kind is VerdictKind.ACCEPTED
    assert verdict.command == "ls"


# ---------------------------------------------------------------------------------------- blocked


def test_dangerous_command_is_blocked_with_the_pattern_that_hit() -> None:
    verdict = run(reply(command="git push --force origin main"))
    assert verdict.kind is VerdictKind.BLOCKED
    assert verdict.codes == [Reason.DANGER]
    assert verdict.danger is not None and verdict.danger.name == "git push --force"
    assert "git push --force" in verdict.reasons[0]
    assert verdict.session_id == SESSION


def test_danger_hidden_by_escape_sequences_is_found_after_sanitizing() -> None:
    verdict = run(reply(command="r\x1b[0mm -r\x00f /"))
    assert verdict.kind is VerdictKind.BLOCKED
    assert verdict.command == "rm -rf /"


def test_user_danger_patterns_block() -> None:
    policy = dataclasses.replace(
        POLICY,
        extra_danger_patterns=GatePolicy.create(
            allowed_senders=["a@b.c"], danger_patterns=[r"\bdeploy\b"]
        ).extra_danger_patterns,
    )
    verdict = run(reply(command="deploy to production"), policy=policy)
    assert verdict.kind is VerdictKind.BLOCKED
    assert verdict.danger is not None and verdict.danger.name.startswith("custom pattern 1")


# ---------------------------------------------------------------------------------------- sanitizing


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("plain text", "plain text"),
        ("中文 and emoji 👩\u200d💻", "中文 and emoji 👩\u200d💻"),
        ("red \x1b[31mtext\x1b[0m", "red text"),
        ("title \x1b]0;pwned\x07done", "title done"),
        ("title \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "title link"),
        ("dcs \x1bP1$r0m\x1b\\end", "dcs end"),
        ("paste \x1b[200~evil\x1b[201~ end", "paste evil end"),
        ("lost esc [201~ marker [200~", "lost esc  marker"),
        ("nested [20[201~1~ marker", "nested  marker"),
        ("ctrl-c \x03 ctrl-d \x04 ctrl-z \x1a bell \x07", "ctrl-c  ctrl-d  ctrl-z  bell"),
        ("esc alone \x1b", "esc alone"),
        ("c1 csi \x9b31m red", "c1 csi  red"),
        ("del \x7f char", "del  char"),
        ("tab\tseparated", "tab separated"),
        ("line\r\nbreaks\rhere", "line\nbreaks\nhere"),
        ("unicode\u2028line\u2029para", "unicode\nline\npara"),
        ("bidi \u202egnp.exe\u202c \u2066x\u2069 \u200f", "bidi gnp.exe x"),
        ("  \n\u200b padded \u200b\n  ", "padded"),
        ("keeps\n\ninner\nnewlines", "keeps\n\ninner\nnewlines"),
    ],
)
def test_sanitize_command(raw: str, clean: str) -> None:
    assert sanitize_command(raw) == clean


def test_sanitized_text_has_no_control_characters_at_all() -> None:
    everything = "".join(chr(c) for c in range(0x00, 0xA0)) + "\u202a\u202b\u202d\u2066\u2067\u2068"
    result = sanitize_command("a" + everything + "b")
    assert all(ch == "\n" or (0x20 <= ord(ch) < 0x7F) for ch in result)
    assert "\x1b" not in result and "\r" not in result and "\t" not in result


# ---------------------------------------------------------------------------------------- authentication

GOOD_AR = (
    "mx.example.com; dkim=pass header.i=@example.org header.s=s1 header.b=abc;"
    " spf=pass smtp.mailfrom=example.org; dmarc=pass (p=none) header.from=example.org"
)
AUTH_POLICY = dataclasses.replace(POLICY, require_auth="mx.example.com")


def test_require_auth_accepts_dmarc_pass_from_the_configured_server() -> None:
    verdict = run(reply(authentication_results=[GOOD_AR]), policy=AUTH_POLICY)
    assert verdict.kind is VerdictKind.ACCEPTED
    assert verdict.auth_result == "dmarc=pass (mx.example.com)"


def test_require_auth_uses_the_topmost_header_of_that_server_only() -> None:
    forged_below = [
        "mx.example.com; dkim=fail header.d=example.org; dmarc=fail header.from=example.org",
        GOOD_AR,  # an attacker's copy further down must not count
    ]
    verdict = run(reply(authentication_results=forged_below), policy=AUTH_POLICY)
    assert verdict.kind is VerdictKind.REJECTED
    assert verdict.codes == [Reason.AUTH_FAILED]
    assert verdict.reasons == ["sender authentication failed: dkim=fail for example.org, dmarc=fail (mx.example.com)"]


def test_require_auth_skips_headers_of_other_servers() -> None:
    headers = ["relay.other.example; dmarc=fail header.from=example.org", GOOD_AR]
    assert run(reply(authentication_results=headers), policy=AUTH_POLICY).kind is VerdictKind.ACCEPTED


def test_require_auth_without_a_header_from_that_server() -> None:
    verdict = run(reply(authentication_results=["other.example; dmarc=pass"]), policy=AUTH_POLICY)
    assert verdict.kind is VerdictKind.REJECTED
    assert verdict.codes == [Reason.AUTH_MISSING]
    assert verdict.reasons == ["sender authentication failed: no Authentication-Results from mx.example.com"]


@pytest.mark.parametrize(
    ("header", "passed"),
    [
        ("mx.example.com; dkim=pass header.d=example.org", True),
        ("mx.example.com; dkim=pass header.d=mail.example.org", True),  # relaxed alignment
        ("mx.example.com; dkim=pass header.i=@example.org", True),
        ("mx.example.com; dkim=pass header.i=alice@mail.example.org", True),
        ("mx.example.com; dkim=pass header.d=evil.example", False),  # signed, but not by the From domain
        ("mx.example.com; dkim=pass header.d=example.org.evil.example", False),
        ("mx.example.com; dkim=pass header.d=org", False),
        ("mx.example.com; dkim=fail header.d=example.org", False),
        ("mx.example.com; dmarc=pass header.from=evil.example", False),
        ("mx.example.com; dmarc=pass", True),
        ("mx.example.com; dmarc=fail (p=reject) header.from=example.org", False),
        ("mx.example.com (comment; with semicolon) 1; dmarc=pass header.from=example.org", True),
        ("MX.Example.COM; DMARC=PASS header.from=EXAMPLE.ORG", True),
        ("mx.example.com; none", False),
        ("mx.example.com; spf=pass smtp.mailfrom=example.org", False),  # SPF alone is not enough
        ("mx.example.com; dkim=pass (good) header.d=example.org header.s=sel", True),
    ],
)
def test_authentication_verdicts(header: str, passed: bool) -> None:
    mail = reply(authentication_results=[header])
    assert check_authentication(mail, "mx.example.com")[0] is passed


def test_parse_authentication_results() -> None:
    parsed = parse_authentication_results(GOOD_AR)
    assert parsed is not None
    assert parsed.authserv_id == "mx.example.com"
    assert [(r.method, r.result) for r in parsed.results] == [("dkim", "pass"), ("spf", "pass"), ("dmarc", "pass")]
    assert parsed.results[0].properties["header.i"] == "@example.org"
    assert parse_authentication_results("   ") is None


# ---------------------------------------------------------------------------------------- policy


def test_policy_create_normalizes_and_validates() -> None:
    policy = GatePolicy.create(allowed_senders=["Alice <ALICE@example.org>"], require_auth="  MX.Example.com ")
    assert policy.allowed_senders == frozenset({"alice@example.org"})
    assert policy.require_auth == "mx.example.com"
    with pytest.raises(ValueError, match="allowed_senders: 'not an address' is not a single mail address"):
        GatePolicy.create(allowed_senders=["not an address"])
    with pytest.raises(ValueError, match="allowed_senders"):
        GatePolicy.create(allowed_senders=["a@b.c, d@e.f"])
    with pytest.raises(DangerPatternError, match="not a valid regular expression"):
        GatePolicy.create(allowed_senders=["a@b.c"], danger_patterns=["(unclosed"])
    with pytest.raises(ValueError, match="max_command_chars"):
        GatePolicy.create(allowed_senders=["a@b.c"], max_command_chars=0)


def test_policy_from_security_config() -> None:
    security = SecurityConfig(
        allowed_senders=["me@example.org"],
        danger_patterns=[r"\bprod\b"],
        require_auth="",
        max_command_chars=100,
        max_commands_per_hour=3,
    )
    policy = GatePolicy.from_config(security, ["TaskPing@Example.com"])
    assert policy.allowed_senders == frozenset({"me@example.org"})
    assert policy.own_addresses == frozenset({"taskping@example.com"})
    assert policy.require_auth is None
    assert policy.max_command_chars == 100 and policy.max_commands_per_hour == 3
    assert len(policy.extra_danger_patterns) == 1


def test_default_facts_describe_an_empty_store() -> None:
    verdict = decide(reply(), POLICY, GateFacts(), NOW)
    assert verdict.kind is VerdictKind.REJECTED
    assert verdict.codes == [Reason.TOKEN_UNKNOWN]


def test_verdict_to_dict_is_json_ready() -> None:
    import json

    verdict = run(reply(command="sudo ls"))
    data = verdict.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["verdict"] == "blocked"
    assert data["from"] == "alice@example.org"
    assert data["token"] == TOKEN
    assert data["command"] == "sudo ls"
    assert data["danger"] == {"name": "sudo", "matched": "sudo ls"}
    assert data["reasons"] == verdict.reasons and data["codes"] == ["danger"]
