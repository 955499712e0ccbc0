"""The reply corpus: mails written the way real clients write them, each with the command a user typed.

tests/data/mail/expected.json lists, per .eml file, the client it imitates, the expected command, token,
sender, parse problem and the gate's verdict under the corpus policy (see test_gate_corpus.py).
"""

from __future__ import annotations

import email
import email.policy
import json
from typing import Any

import pytest

from taskping_tui.mail.reply import REPLY_MARKER, extract_command, html_to_text, parse_mail, resolve_charset
from tests.support import MAIL_CORPUS

CORPUS = MAIL_CORPUS
EXPECTED: dict[str, dict[str, Any]] = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
TOKEN = "7K3QZ9MX"
OUR_MESSAGE_ID = "<taskping.1764000245.9f3c2a@devbox.example.com>"


def load(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def test_corpus_is_big_and_covers_every_client_of_the_field_notes() -> None:
    assert len(EXPECTED) >= 25
    assert sorted(p.name for p in CORPUS.glob("*.eml")) == sorted(EXPECTED)
    clients = " ".join(str(e["client"]) for e in EXPECTED.values())
    for needle in (
        "Gmail web (en)",
        "Gmail web (zh)",
        "Gmail mobile (en)",
        "Gmail mobile (zh)",
        "Outlook desktop (en)",
        "Outlook (zh)",
        "Original Message",
        "Apple Mail iPhone (en)",
        "Apple Mail iPhone (zh)",
        "QQ Mail",
        "163 Mail",
        "Feishu",
        "Lark",
        "mutt",
        "HTML-only",
        "split RFC 2047",
        "full-width",
        "Big5",
        "unknown charset",
        "message/rfc822",
        "bounce",
        "auto-reply",
        "mailing-list",
    ):
        assert needle in clients, needle


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_mail_gives_the_command_the_user_typed(name: str) -> None:
    expected = EXPECTED[name]
    mail = parse_mail(load(name))
    assert mail.command == expected["command"]
    assert mail.token == expected["token"]
    assert mail.from_addr == expected["sender"]
    assert mail.problem == expected.get("problem")
    assert mail.size == len(load(name))
    if "subject" in expected:
        assert mail.subject == expected["subject"]


@pytest.mark.parametrize(
    "name",
    [n for n in sorted(EXPECTED) if b"text/html" in load(n) and b"text/plain" in load(n)],
)
def test_html_alternative_of_a_corpus_mail_gives_the_same_command(name: str) -> None:
    msg = email.message_from_bytes(load(name), policy=email.policy.default)
    html_part = msg.get_body(preferencelist=("html",))
    assert html_part is not None
    raw = html_part.get_payload(decode=True)
    codec = resolve_charset(html_part.get_content_charset())
    assert codec is not None
    assert extract_command(html_to_text(raw.decode(codec))) == EXPECTED[name]["command"]


def test_gmail_reply_headers_are_read() -> None:
    mail = parse_mail(load("gmail_web_en.eml"))
    assert mail.message_id == "<CAF3xq7Yx1b2Z+Qw=ab12@mail.gmail.com>"
    assert mail.in_reply_to == OUR_MESSAGE_ID
    assert mail.references == ["<taskping.1763990000.11aa22@devbox.example.com>", OUR_MESSAGE_ID]
    assert mail.from_display == "Alice Example"
    assert mail.subject == f"Re: [TaskPing #{TOKEN}] Turn finished — demo: fix the parser"
    assert mail.date is not None and mail.date.utcoffset() is not None
    assert mail.date.isoformat() == "2026-11-24T15:10:22+08:00"
    assert mail.return_path == "<alice.example@gmail.com>"
    assert len(mail.authentication_results) == 1
    assert mail.authentication_results[0].startswith("mx.example.com;")
    assert "dkim=pass header.i=@gmail.com" in mail.authentication_results[0]
    assert "\n" not in mail.authentication_results[0]
    assert mail.content_type == "multipart/alternative"
    assert mail.auto_submitted is None and mail.precedence is None and mail.list_id is None
    assert REPLY_MARKER in mail.text  # the whole text part is kept for display


def test_qq_mail_labelled_gb2312_with_gbk_characters_decodes_fully() -> None:
    mail = parse_mail(load("qq_zh_gb2312.eml"))
    assert "喆" in mail.command  # a GBK character that gb2312 itself cannot decode
    assert mail.from_display == "张喆"
    assert mail.subject.startswith("回复：[TaskPing #7K3QZ9MX]")
    assert "\ufffd" not in mail.text


def test_big5_mail_decodes_subject_sender_and_body() -> None:
    mail = parse_mail(load("big5_zh_tw.eml"))
    assert mail.subject == f"回覆：[TaskPing #{TOKEN}] 完成"
    assert mail.from_display == "美玲"
    assert mail.in_reply_to == OUR_MESSAGE_ID


def test_fullwidth_token_mail_has_no_thread_headers_but_a_token() -> None:
    mail = parse_mail(load("fullwidth_token.eml"))
    assert mail.in_reply_to is None and mail.references == []
    assert mail.token == TOKEN


def test_bounce_auto_reply_and_list_headers_are_read() -> None:
    bounce = parse_mail(load("bounce_report.eml"))
    assert bounce.content_type == "multipart/report"
    assert bounce.return_path == "<>"
    assert bounce.auto_submitted == "auto-replied"
    auto = parse_mail(load("auto_reply.eml"))
    assert auto.auto_submitted == "auto-replied"
    listed = parse_mail(load("mailing_list.eml"))
    assert listed.precedence == "list"
    assert listed.list_id == "Dev list <dev.lists.example.org>"


def test_unknown_charset_with_ascii_bytes_is_read_with_a_note() -> None:
    mail = parse_mail(load("unknown_charset.eml"))
    assert mail.problem is None
    assert mail.command == "ls"
    assert mail.notes == ["unknown charset 'x-foo' in the text part: its bytes are plain ASCII, read as ASCII"]


def test_unknown_charset_with_8bit_bytes_is_a_clear_problem_not_a_crash() -> None:
    raw = load("unknown_charset.eml").replace(b"\r\nls\r\n", "\r\n列出文件\r\n".encode("gb18030"))
    mail = parse_mail(raw)
    assert mail.problem == "unknown charset 'x-foo' in text part, and its bytes are neither ASCII nor UTF-8"
    assert mail.command == ""
    assert mail.token == TOKEN  # headers are still read, so the rejection can name the session


def test_escape_sequences_survive_parsing_and_are_left_to_the_gate() -> None:
    mail = parse_mail(load("escape_sequences.eml"))
    assert mail.command == EXPECTED["escape_sequences.eml"]["command"]
