"""Command extraction, header decoding and MIME edge cases of the reply parser, one rule at a time."""

from __future__ import annotations

import base64

import pytest

from taskping_tui.mail.reply import (
    REPLY_MARKER,
    decode_header_text,
    extract_command,
    html_to_text,
    message_ids,
    normalize_message_id,
    parse_from,
    parse_mail,
    resolve_charset,
    unflow,
)

QUOTE = "> ── Reply above this line ──\n> Claude finished a turn.\n"


@pytest.mark.parametrize(
    ("separator", "client"),
    [
        ("On Mon, Nov 24, 2026 at 3:04 PM TaskPing <taskping@example.com> wrote:", "Gmail web en"),
        ("On Mon, Nov 24, 2026 at 3:04 PM TaskPing Notifications <\ntaskping@example.com> wrote:", "Gmail, wrapped"),
        ("On Mon, Nov 24, 2026 at 3:04 PM TaskPing <taskping@example.com>\nwrote:", "wrapped before wrote:"),
        ("On Mon, 24 Nov 2026, 15:04 TaskPing, <taskping@example.com> wrote:", "Gmail mobile"),
        ("TaskPing <taskping@example.com> 于2026年11月24日周一 15:04写道：", "Gmail zh"),
        ("2026年11月24日周一 下午3:04 TaskPing <taskping@example.com> 写道：", "Gmail zh mobile"),
        ("2026年11月24日周一 下午3:04 TaskPing <\ntaskping@example.com> 写道：", "Gmail zh mobile wrapped"),
        ("On 24 Nov 2026, at 15:04, TaskPing <taskping@example.com> wrote:", "Apple Mail"),
        ("2026年11月24日 15:04，TaskPing <taskping@example.com> 写道：", "Apple Mail zh"),
        ('在 2026-11-24 15:04:05，"TaskPing" <taskping@example.com> 写道：', "163"),
        ("在 2026/11/24 下午 03:04，TaskPing <taskping@example.com> 寫道：", "zh-TW"),
        (
            "From: TaskPing <taskping@example.com>\nSent: Monday, November 24, 2026 3:04 PM\nTo: me\nSubject: x",
            "Outlook",
        ),
        (
            "________________________________\nFrom: TaskPing <taskping@example.com>\nSent: Monday\nSubject: x",
            "Outlook with rule",
        ),
        ("*From:* TaskPing <taskping@example.com>\n*Sent:* Monday\n*To:* me", "Outlook starred"),
        ("From: TaskPing <taskping@example.com> Sent: Monday, November 24, 2026 3:04 PM To: me", "Outlook one line"),
        ("发件人: TaskPing <taskping@example.com>\n发送时间: 2026年11月24日 15:04\n收件人: 我\n主题: x", "Outlook zh"),
        ("发件人：TaskPing <taskping@example.com>\n时间：2026年11月24日 15:04", "Feishu"),
        ("From: TaskPing <taskping@example.com>\nDate: Mon, Nov 24, 2026, 15:04\nTo: me", "Lark"),
        ("-----Original Message-----\nFrom: TaskPing", "Outlook Original Message"),
        ('------------------ 原始邮件 ------------------\n发件人: "TaskPing"<taskping@example.com>;', "QQ"),
        ("------------------\u00a0原始邮件\u00a0------------------", "QQ with NBSP"),
        ("------------------ Original ------------------", "QQ en UI"),
        ("---- Replied Message ----", "Lark replied"),
        ("---------- Forwarded message ---------", "Gmail forward"),
        ("Le lun. 24 nov. 2026 à 15:04, TaskPing <taskping@example.com> a écrit :", "French"),
        ("Am Mo., 24. Nov. 2026 um 15:04 Uhr schrieb TaskPing <taskping@example.com>:", "German"),
        ("> plain quote", "quote line"),
        (">quote without space", "quote line tight"),
        ("-- \nAlice", "signature"),
        ("--\nAlice", "signature without space"),
        ("Sent from my iPhone", "iPhone"),
        ("Sent from my Android", "Android"),
        ("Sent from my Galaxy", "Samsung"),
        ("发自我的iPhone", "iPhone zh"),
        ("发自我的 iPad", "iPad zh"),
        ("Get Outlook for iOS<https://aka.ms/o0ukef>", "Outlook iOS"),
        ("Get Outlook for Android", "Outlook Android"),
        ("Sent from Mail for Windows", "Windows Mail"),
        ("发自网易邮箱大师", "163 mobile"),
        (REPLY_MARKER, "our marker"),
        ("> " + REPLY_MARKER, "quoted marker"),
        ("-- Reply above this line --", "marker with ascii dashes"),
        ("â”€â”€ Reply above this line â”€â”€", "mojibake marker"),
        ("=E2=94=80=E2=94=80 Reply above this line", "QP leftovers"),
        ("REPLY ABOVE THIS LINE", "marker upper case"),
    ],
)
def test_command_is_cut_at_every_client_separator(separator: str, client: str) -> None:
    text = f"ls -la src/\n\n{separator}\n{QUOTE}"
    assert extract_command(text) == "ls -la src/", client


@pytest.mark.parametrize(
    "command",
    [
        "git commit --amend",
        "--help",
        "-v",
        "npm run build -- --watch",
        "pytest -x -- tests/unit",
        "-- a line that starts with two dashes",
        "--- three dashes",
        "git log --oneline -- src/\n--stat",
        "echo '> not a quote in the middle'",
        "On second thought, stop and show me the diff",
        "please write 'reply above this line' in the README",
        "From now on use tabs",
        "From: the top of the file\nfix the imports",
        "在 src 目录下运行测试",
        "Sent from my laptop, the fix is in",
        "2 tests fail, look at them",
        "在 src 目录下运行测试\nTaskPing 说的不对",
    ],
)
def test_commands_that_look_like_separators_are_kept_whole(command: str) -> None:
    text = f"{command}\n\nOn Mon, Nov 24, 2026 at 3:04 PM TaskPing <taskping@example.com> wrote:\n{QUOTE}"
    assert extract_command(text) == command


def test_command_directly_above_a_zh_attribution_is_not_eaten() -> None:
    text = "在 src 目录下运行测试\nTaskPing <taskping@example.com> 于2026年11月24日周一 15:04写道：\n> x"
    assert extract_command(text) == "在 src 目录下运行测试"


def test_multi_line_command_keeps_inner_newlines_and_blank_lines() -> None:
    text = "\n\nfirst step\n  indented second\n\nthird after a blank\n\n\nOn Mon, Nov 24 TaskPing wrote:\n> q"
    assert extract_command(text) == "first step\n  indented second\n\nthird after a blank"


def test_crlf_nbsp_and_zero_width_edges_are_normalized() -> None:
    text = "\u200b\ufeffgit\u00a0status\u00a0--short\u200b\r\n\r\nSent from my iPhone\r\n"
    assert extract_command(text) == "git status --short"


def test_inner_zero_width_joiner_is_kept() -> None:
    assert extract_command("say 👩\u200d💻 please") == "say 👩\u200d💻 please"


def test_text_without_any_separator_is_the_command() -> None:
    assert extract_command("just this\r\n") == "just this"


def test_reply_with_nothing_above_the_quote_takes_the_answer_below_it() -> None:
    text = "On Mon, Nov 24, 2026 at 3:04 PM TaskPing wrote:\n> Run the tests?\n>\n\nyes, run them\n\n-- \nErin\n"
    assert extract_command(text) == "yes, run them"


def test_reply_with_only_a_quote_is_empty() -> None:
    assert extract_command("On Mon, Nov 24, 2026 at 3:04 PM TaskPing wrote:\n> Run the tests?\n") == ""


def test_signature_with_nothing_above_is_empty_and_text_below_is_not_taken() -> None:
    assert extract_command("-- \nAlice\nrm everything\n") == ""


def test_only_the_first_answer_below_interleaved_quotes_is_taken() -> None:
    text = "> question one\nanswer one\n> question two\nanswer two\n"
    assert extract_command(text) == "answer one"


# ---------------------------------------------------------------------------------------- HTML


def test_html_blocks_breaks_and_entities_become_text() -> None:
    html = (
        "<html><head><title>t</title><style>p{x:y}</style><script>alert(1)</script></head><body>"
        "<div>one &amp; two</div><div>three&nbsp;&lt;four&gt;<br>five</div><p>six</p>"
        "<table><tr><td>a</td><td>b</td></tr></table><ul><li>x</li><li>y</li></ul></body></html>"
    )
    assert html_to_text(html) == "one & two\nthree\u00a0<four>\nfive\nsix\na b\nx\ny\n"


def test_html_blockquote_becomes_a_quote_line_and_hidden_text_is_dropped() -> None:
    html = (
        '<div>visible</div><div style="display:none">hidden preheader</div><span hidden>also hidden</span>'
        "<blockquote><div>quoted</div></blockquote><div>after</div>"
    )
    text = html_to_text(html)
    assert "hidden" not in text
    assert "quoted" not in text
    assert extract_command(text) == "visible"


def test_html_pre_keeps_whitespace() -> None:
    assert html_to_text("<div>x</div><pre>a  b\n  c</pre>") == "x\na  b\n  c\n"


def test_html_whitespace_is_collapsed_like_a_browser_does() -> None:
    assert extract_command(html_to_text("<div>\n   git   status\n</div>")) == "git status"


def test_gmail_quote_container_cuts_even_without_an_attribution() -> None:
    html = '<div dir="ltr">go on</div><div class="gmail_quote"><div>anything</div></div>'
    assert extract_command(html_to_text(html)) == "go on"


def test_broken_html_does_not_raise() -> None:
    for html in ["<div", "</div></div><p>x", "<blockquote>never closed", "<<<>>>&#xZZZ;&", "<div style=display:none>x"]:
        html_to_text(html)


# ---------------------------------------------------------------------------------------- format=flowed


def test_unflow_joins_soft_breaks_and_keeps_hard_ones() -> None:
    assert unflow("one two \nthree\nfour", delsp=False) == "one two three\nfour"
    assert unflow("abc \ndef", delsp=True) == "abcdef"
    assert unflow(" >stuffed", delsp=False) == ">stuffed"
    assert unflow("-- \nsig", delsp=False) == "-- \nsig"


# ---------------------------------------------------------------------------------------- headers


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("=?UTF-8?B?5Lit?= =?UTF-8?B?5paH?=", "中文"),
        ("=?UTF-8?Q?=E4=B8?=\r\n =?UTF-8?Q?=AD=E6=96=87?=", "中文"),  # a character split over two words
        ("=?gb2312?B?1tDOxA==?=", "中文"),
        ("=?GBK?B?hrQ=?=", "喆"),  # GBK-only character in a gbk label
        ("=?gb2312?B?hrQ=?=", "喆"),  # … and in a gb2312 label
        ("=?big5?B?pKSk5Q==?=", "中文"),
        ("Re: =?utf-8?q?caf=C3=A9_ok?= end", "Re: café ok end"),
        ("=?x-unknown?q?abc?= plain", "=?x-unknown?q?abc?= plain"),
        ("plain ascii", "plain ascii"),
        ("=?utf-8?B?broken!!?=", "=?utf-8?B?broken!!?="),
        ("", ""),
    ],
)
def test_decode_header_text(raw: str, decoded: str) -> None:
    result = decode_header_text(raw)
    if raw == "=?utf-8?B?broken!!?=":
        assert isinstance(result, str)  # never raises, whatever it makes of it
    else:
        assert result == decoded


def test_raw_utf8_header_bytes_are_decoded() -> None:
    raw = "From: 张三 <zhang@example.cn>\r\nSubject: 回复：[TaskPing #7K3QZ9MX] 完成\r\n\r\nok\r\n".encode()
    mail = parse_mail(raw)
    assert mail.subject == "回复：[TaskPing #7K3QZ9MX] 完成"
    assert mail.from_addr == "zhang@example.cn"
    assert mail.token == "7K3QZ9MX"


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ("Alice <ALICE@Example.ORG>", "alice@example.org"),
        ("alice@example.org", "alice@example.org"),
        ("<alice@example.org>", "alice@example.org"),
        ('"alice@example.org" <bob@evil.example>', "bob@evil.example"),
        ("alice@example.org)<bob@example.org>", ""),  # parsers disagree: refuse to guess
        ("alice@example.org, bob@example.org", ""),
        ("alice@example.org@evil.example", ""),
        ("undisclosed-recipients:;", ""),
        ("", ""),
    ],
)
def test_parse_from_needs_exactly_one_unambiguous_address(value: str, address: str) -> None:
    assert parse_from(value)[0] == address


def test_message_ids_are_normalized() -> None:
    assert normalize_message_id("  <a@b>  ") == "<a@b>"
    assert normalize_message_id("a@b") == "<a@b>"
    assert normalize_message_id("junk") is None
    assert normalize_message_id(None) is None
    assert message_ids("<a@b>\r\n <c@d> <e@f>") == ["<a@b>", "<c@d>", "<e@f>"]
    assert len(message_ids(" ".join(f"<{i}@x>" for i in range(500)))) == 64


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("gb2312", "gb18030"),
        ("GBK", "gb18030"),
        ("x-gbk", "gb18030"),
        ("big5", "big5"),
        ("us-ascii", "utf-8"),
        (None, "utf-8"),
        ("iso-8859-1", "cp1252"),
        ("x-foo", None),
        ("base64", None),  # a Python codec, but not a charset
        ("unicode_escape", None),
        ("idna", None),
    ],
)
def test_resolve_charset(label: str | None, codec: str | None) -> None:
    assert resolve_charset(label) == codec


# ---------------------------------------------------------------------------------------- MIME


def _mail(headers: str, body: bytes) -> bytes:
    return headers.replace("\n", "\r\n").encode() + b"\r\n\r\n" + body


def test_plain_part_with_unknown_charset_falls_back_to_the_html_part() -> None:
    raw = _mail(
        'From: a@example.org\nSubject: x\nContent-Type: multipart/alternative; boundary="b"',
        b"--b\r\nContent-Type: text/plain; charset=x-foo\r\n\r\nls\r\n"
        b"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<div>ls -l</div>\r\n--b--\r\n",
    )
    mail = parse_mail(raw)
    assert mail.problem is None
    assert mail.command == "ls -l"


def test_empty_plain_part_falls_back_to_html() -> None:
    raw = _mail(
        'From: a@example.org\nContent-Type: multipart/alternative; boundary="b"',
        b"--b\r\nContent-Type: text/plain\r\n\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>make</p>\r\n--b--\r\n",
    )
    assert parse_mail(raw).command == "make"


def test_text_attachment_is_not_the_body() -> None:
    raw = _mail(
        'From: a@example.org\nContent-Type: multipart/mixed; boundary="b"',
        b"--b\r\nContent-Type: text/plain\r\n\r\nrun it\r\n"
        b"--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=log.txt\r\n\r\n"
        b"rm -rf /\r\n--b--\r\n",
    )
    assert parse_mail(raw).command == "run it"


def test_mail_with_only_an_image_has_a_problem() -> None:
    raw = _mail(
        "From: a@example.org\nContent-Type: image/png\nContent-Transfer-Encoding: base64", base64.b64encode(b"\x89PNG")
    )
    assert parse_mail(raw).problem == "no text part (the mail holds image/png)"


def test_garbage_bytes_do_not_raise() -> None:
    for raw in [
        b"",
        b"\x00\xff" * 50,
        b"From:\r\n\r\n",
        b"Content-Type: multipart/mixed\r\n\r\n--",
        b'Content-Type: text/plain; charset="\x00"\r\n\r\nx',
        b"Subject: =?utf-8?b?\xff?=\r\n\r\n",
    ]:
        mail = parse_mail(raw)
        assert mail.size == len(raw)
