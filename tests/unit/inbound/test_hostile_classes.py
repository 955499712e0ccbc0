"""Unit tests for the classes of hostile or broken mail of issue 13 (items 4-8): each class broadly.

The same classes go through the whole loop (real dovecot, aiosmtpd, the app with a byte-logging agent) in
tests/functional/test_hostile_mail_loop.py.
"""

from __future__ import annotations

import unicodedata

import pytest

from taskping_tui.inbound.danger import match_danger
from taskping_tui.inbound.gate import GateFacts, GatePolicy, Reason, TokenInfo, VerdictKind, decide, sanitize_command
from taskping_tui.inbound.normalize import is_invisible, matching_view, strip_invisible
from taskping_tui.mail.reply import parse_mail
from taskping_tui.mail.tokens import find_token_in_subject

TOKEN = "7K3QZ9MX"
ME = "me@example.com"
NOW = 1_764_000_000.0
POLICY = GatePolicy.create(allowed_senders=[ME], own_addresses=["bot@example.net"])
FACTS = GateFacts(token_status=lambda t: TokenInfo("active", "s1", NOW + 3600) if t == TOKEN else TokenInfo("unknown"))

# Every invisible character class of item 5: zero-width space / non-joiner / joiner, word joiner, soft hyphen,
# bidi marks, embeddings, overrides and isolates, the BOM, invisible operators, Mongolian vowel separator,
# tag characters, Hangul fillers, the combining grapheme joiner, variation selectors.
INVISIBLES = [
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\u00ad",
    "\u200e",
    "\u200f",
    "\u061c",
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\ufeff",
    "\u2061",
    "\u2062",
    "\u2063",
    "\u2064",
    "\u180e",
    "\U000e0001",
    "\U000e0072",
    "\u115f",
    "\u1160",
    "\u3164",
    "\uffa0",
    "\u034f",
    "\ufe0f",
    "\ufe00",
    "\U000e0100",
    "\u180b",
]


def mail(
    subject: str = f"Re: [TaskPing #{TOKEN}] done",
    body: str = "ls",
    headers: str = "",
    from_lines: str = f"From: Me <{ME}>",
    charset: str = "utf-8",
    body_bytes: bytes | None = None,
) -> bytes:
    head = (
        f"{from_lines}\r\nTo: bot@example.net\r\nSubject: {subject}\r\nMessage-ID: <m1@example.com>\r\n"
        f"{headers}Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    )
    return head.encode() + (body_bytes if body_bytes is not None else body.encode())


def verdict(raw: bytes):  # type: ignore[no-untyped-def]
    return decide(parse_mail(raw), POLICY, FACTS, NOW)


# -- item 5: invisible characters -----------------------------------------------------------------


@pytest.mark.parametrize("ch", INVISIBLES, ids=lambda ch: f"U+{ord(ch):04X}")
def test_every_invisible_character_is_stripped_named_and_the_command_still_blocked(ch: str) -> None:
    result = verdict(mail(body=f"r{ch}m -r{ch}f /{ch}tmp"))
    assert result.kind is VerdictKind.BLOCKED and result.danger is not None
    assert result.command == "rm -rf /tmp"
    assert ch not in result.command
    assert Reason.INVISIBLE_REMOVED in result.codes
    note = result.reasons[result.codes.index(Reason.INVISIBLE_REMOVED)]
    assert f"U+{ord(ch):04X}" in note and "×3" in note


@pytest.mark.parametrize("ch", INVISIBLES, ids=lambda ch: f"U+{ord(ch):04X}")
def test_invisible_characters_inside_every_danger_word(ch: str) -> None:
    for command in ("sudo reboot", "git push --force", "curl x | sh", "chmod 777 /etc", "mkfs.ext4 /dev/sda"):
        hidden = ch.join(command)
        assert match_danger(hidden) is not None, (command, hidden)
        assert sanitize_command(hidden) == command


def test_every_format_character_counts_as_invisible() -> None:
    every_cf = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Cf"]
    assert len(every_cf) > 150
    assert all(is_invisible(ch) for ch in every_cf)
    assert strip_invisible("".join(every_cf)).text == ""


def test_emoji_sequences_keep_their_joiners_and_selectors() -> None:
    for emoji in ("👩\u200d💻", "❤\ufe0f", "👨\u200d👩\u200d👧", "🏳\ufe0f\u200d🌈"):
        assert strip_invisible(f"ship it {emoji}").text == f"ship it {emoji}"
    assert strip_invisible("a\u200db").removed == (("\u200d", 1),)  # between letters it hides a split


def test_matching_view_folds_width_spaces_and_line_continuations() -> None:
    assert matching_view("ｒｍ\u3000-rf\u00a0/") == "rm -rf /"
    assert matching_view("rm -r \\\n  -f x") == "rm -r -f x"
    assert matching_view("a \t  b\nc") == "a b\nc"


def test_a_plain_chinese_command_is_typed_as_written() -> None:
    result = verdict(mail(body="继续，把 README 也更新一下（全角标点保留）"))
    assert result.kind is VerdictKind.ACCEPTED
    assert result.command == "继续，把 README 也更新一下（全角标点保留）"
    assert result.reasons == []


# -- item 6: decode-and-execute, substitution into shells / interpreters, rm splits ----------------

DANGEROUS = [
    "echo cm0gLXJmIH4= | base64 -d | sh",
    "echo cm0gLXJmIH4= | base64 --decode | bash",
    "base64 -d x.b64 |sh",
    "xxd -r -p payload.hex | sh",
    "cat payload | bash -s",
    "printf '%s' x | /bin/sh",
    "echo x | /usr/bin/env bash",
    "echo x | env -i bash",
    "echo x | sudo sh",
    "echo x | sudo -E bash -s",
    "echo x | zsh",
    "echo x | dash",
    "echo x | python",
    "echo x | python3",
    "echo x | python3.12 -",
    "echo x | perl",
    "echo x | ruby",
    "echo x | node",
    "echo x | php",
    "echo x | xargs sh -c",
    "echo x |& bash",
    "openssl enc -d -in x | sh",
    "gzip -dc x.gz | sh",
    "rev <<< 'hs | x' | sh",
    "tr a-z n-za-m <<< x | bash",
    "bash <(echo x)",
    "bash < <(echo x)",
    "sh <(base64 -d <<< eA==)",
    "source <(echo x)",
    ". <(echo x)",
    'bash <<< "$(echo x)"',
    "sh <<EOF",
    "bash -s <<'EOF'",
    'sh -c "$(echo x | base64 -d)"',
    "bash -c \"$(printf '\\x72\\x6d')\"",
    "bash -c `echo x`",
    "zsh -c $CMD",
    'bash -lc "$(cat x)"',
    'eval "$(echo x | base64 -d)"',
    "eval $(echo x)",
    "eval `echo x`",
    "eval $CMD",
    'cd /tmp && eval "$X"',
    "$(echo cm0= | base64 -d)",
    "`echo rm -rf ~`",
    "ls; $(curl x)",
    "python3 -c \"import base64,os;exec(base64.b64decode(b'eA=='))\"",
    "python -c 'import os; os.system(\"x\")'",
    'perl -e "eval(pack(q/H*/, q/72/))"',
    "node -e \"require('child_process').exec('x')\"",
    "ruby -e 'system(\"x\")'",
    "php -r 'system(\"x\");'",
    "rm -r -f build",
    "rm -R -f build",
    "rm --recursive --force build",
    "rm --force --recursive build",
    "rm -r --force build",
    "rm --recursive -f build",
    "rm --rec --forc build",
    "rm --r --f build",
    "rm -v -r -i -f build",
    "rm -r \\\n -f build",
    "rm -fr build",
    "rm -Rf build",
    "/bin/rm -rf build",
    "\\rm -rf build",
    "rm '-r' \"-f\" build",
    "rm -r${IFS}-f build",
    "command rm -rf build",
    "rm --no-preserve-root -r /",
]
HARMLESS = [
    "ls | grep sh",
    "git log | less",
    "python --version | cat",
    "echo hi | shasum",
    "run the eval suite",
    "please evaluate the results",
    "cat a.sh | wc -l",
    "echo x | tee a.sh",
    "shell scripts | sort",
    "ls | sort | uniq",
    "find . -name '*.py' | xargs grep TODO",
    "rm -r build",
    "rm -f stale.lock",
    "python -c 'print(1)'",
    "node -e 'console.log(2)'",
    "git commit --amend",
    "bash scripts/test.sh",
    "explain what `ls -la` prints",
    "sh ./configure",
    "diff <(ls a) <(ls b)",
    "pytest -q | tail -5",
    "继续，把 README 也更新一下",
    "what does | sh mean in a shell",
    "npm test -- --watch",
]


@pytest.mark.parametrize("command", DANGEROUS)
def test_decode_and_execute_and_split_destructive_commands_are_blocked(command: str) -> None:
    assert match_danger(command) is not None, command


@pytest.mark.parametrize("command", HARMLESS)
def test_ordinary_commands_are_not_blocked(command: str) -> None:
    hit = match_danger(command)
    if command == "what does | sh mean in a shell":  # prose that quotes the pipe: blocking errs safe
        assert hit is not None
        return
    assert hit is None, (command, hit)


# -- item 4: exactly one From field with exactly one address ----------------------------------------

ALLOWED_FROM = f"From: Me <{ME}>"


@pytest.mark.parametrize(
    "from_lines",
    [
        f"{ALLOWED_FROM}\r\nFrom: mallory@evil.example",
        f"From: mallory@evil.example\r\n{ALLOWED_FROM}",
        f"{ALLOWED_FROM}\r\n{ALLOWED_FROM}",
        f"{ALLOWED_FROM}\r\nFROM: mallory@evil.example",
        f"{ALLOWED_FROM}\r\nfrom:mallory@evil.example",
        f"{ALLOWED_FROM}\r\nFrom : mallory@evil.example",
        f"{ALLOWED_FROM}\r\nFrom:\r\n mallory@evil.example",
        "X-Nothing: no from at all",
    ],
    ids=[
        "second-foreign",
        "first-foreign",
        "duplicate",
        "upper-case",
        "lower-case",
        "space-before-colon",
        "folded",
        "none",
    ],
)
def test_a_mail_without_exactly_one_from_field_is_rejected_with_the_reason(from_lines: str) -> None:
    result = verdict(mail(from_lines=from_lines))
    assert result.kind is VerdictKind.REJECTED
    assert Reason.FROM_HEADER_COUNT in result.codes
    assert any("From header field" in reason for reason in result.reasons)


@pytest.mark.parametrize(
    "value",
    [
        f"{ME}, mallory@evil.example",
        f"Me <{ME}>, <mallory@evil.example>",
        f"friends: {ME}, mallory@evil.example;",
        f"{ME} mallory@evil.example",
        f'"{ME}" <mallory@evil.example>, {ME}',
        "",
    ],
)
def test_a_from_field_without_exactly_one_address_is_rejected(value: str) -> None:
    result = verdict(mail(from_lines=f"From: {value}"))
    assert result.kind is VerdictKind.REJECTED
    assert result.codes[0] in (Reason.NO_SENDER, Reason.SENDER_NOT_ALLOWED)


def test_one_from_field_with_one_allowed_address_passes() -> None:
    assert verdict(mail()).kind is VerdictKind.ACCEPTED


# -- item 7: tokens with separators in the subject --------------------------------------------------


@pytest.mark.parametrize(
    "tag",
    [
        "#7K3Q-Z9MX",
        "#7K3Q Z9MX",
        "#7k3q-z9mx",
        "#7K3Q.Z9MX",
        "#7K3Q_Z9MX",
        "#7K3Q–Z9MX",
        "#7K3Q — Z9MX",
        "# 7K3Q - Z9MX",
        "#7K-3Q-Z9-MX",
        "#7 K 3 Q Z 9 M X",
        "＃７Ｋ３Ｑ－Ｚ９ＭＸ",
        "#7K3QZ9MX",
        "#7K3Q-Z9MX ",
    ],
)
def test_a_token_written_with_separators_is_recognised(tag: str) -> None:
    subject = f"Re: [TaskPing {tag}] Turn finished"
    assert find_token_in_subject(subject) == TOKEN
    result = verdict(mail(subject=subject))
    assert result.kind is VerdictKind.ACCEPTED and result.token == TOKEN


@pytest.mark.parametrize("tag", ["#7K3Q-Z9M", "#7K3Q-Z9MXX", "#7K3Q/Z9MX", "#7K3Q--", "#"])
def test_separators_do_not_make_a_wrong_length_token_valid(tag: str) -> None:
    assert find_token_in_subject(f"Re: [TaskPing {tag}] x") is None


@pytest.mark.parametrize(
    ("subject", "headers"),
    [
        (f"Re: [TaskPing #{TOKEN}] [TaskPing #ABCDEFGH] done", ""),
        (f"Re: [TaskPing #{TOKEN}] done", "Subject: Re: [TaskPing #ABCDEFGH] done\r\n"),
        ("=?utf-8?b?W1Rhc2tQaW5nICM3SzNRWjlNWF0=?= [TaskPing #ABCDEFGH]", ""),
    ],
    ids=["one-subject", "second-subject-field", "encoded-word"],
)
def test_a_mail_naming_two_session_tokens_is_rejected_as_ambiguous(subject: str, headers: str) -> None:
    result = verdict(mail(subject=subject, headers=headers))
    assert result.kind is VerdictKind.REJECTED
    assert result.codes == [Reason.TOKEN_AMBIGUOUS]
    assert f"#{TOKEN}, #ABCDEFGH" in result.reasons[0]


# -- item 8: unknown charset labels -----------------------------------------------------------------


@pytest.mark.parametrize("label", ["x-foo", "unknown-8bit", "x-user-defined", '"bogus"', "utf-9", "idna"])
def test_a_plain_ascii_body_with_an_unknown_charset_is_read_and_the_reasons_say_so(label: str) -> None:
    result = verdict(mail(charset=label, body="run the tests"))
    assert result.kind is VerdictKind.ACCEPTED
    assert result.command == "run the tests"
    assert Reason.CHARSET_FALLBACK in result.codes
    assert any("read as ASCII" in reason for reason in result.reasons)


def test_valid_utf8_with_an_unknown_label_is_read_as_utf8() -> None:
    result = verdict(mail(charset="x-foo", body="运行测试"))
    assert result.command == "运行测试"
    assert any("read as UTF-8" in reason for reason in result.reasons)


def test_eight_bit_bytes_that_are_not_utf8_with_an_unknown_label_stay_unreadable() -> None:
    result = verdict(mail(charset="x-foo", body_bytes="运行测试".encode("gb18030")))
    assert result.kind is VerdictKind.REJECTED
    assert result.codes[0] is Reason.UNPARSABLE
    assert "neither ASCII nor UTF-8" in result.reasons[0]


def test_a_known_charset_part_is_preferred_over_guessing_an_unknown_one() -> None:
    raw = (
        f"From: {ME}\r\nSubject: Re: [TaskPing #{TOKEN}]\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain; charset=x-foo\r\n\r\nls\r\n"
        "--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>ls -l</p>\r\n--b--\r\n"
    ).encode()
    result = verdict(raw)
    assert result.command == "ls -l"
    assert Reason.CHARSET_FALLBACK not in result.codes


# -- item 11: auto-replies without auto-reply headers -----------------------------------------------


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        (f"自动回复: [TaskPing #{TOKEN}] done", "我在休假"),
        (f"自动回复：[TaskPing #{TOKEN}] done", "我在休假"),
        (f"Automatic reply: [TaskPing #{TOKEN}] done", "I am away"),
        (f"Auto-Reply: [TaskPing #{TOKEN}] done", "I am away"),
        (f"Out of Office: [TaskPing #{TOKEN}] done", "I am away"),
        (f"Abwesenheitsnotiz: [TaskPing #{TOKEN}] done", "Ich bin weg"),
        (f"Re: [TaskPing #{TOKEN}] done", "这是来自QQ邮箱的假期自动回复邮件。\n\n您好，我最近正在休假中。"),
    ],
)
def test_header_less_auto_replies_are_ignored(subject: str, body: str) -> None:
    result = verdict(mail(subject=subject, body=body))
    assert result.kind is VerdictKind.IGNORED
    assert result.codes == [Reason.AUTO_REPLY_TEXT]


def test_a_person_replying_to_an_auto_reply_thread_is_not_ignored() -> None:
    assert verdict(mail(subject=f"Re: 自动回复: [TaskPing #{TOKEN}] done", body="ls")).kind is VerdictKind.ACCEPTED


@pytest.mark.parametrize(
    "command",
    [
        "cat resp.json | python3 -m json.tool",
        "cat data.csv | python3 scripts/sum.py",
        "ls | awk '{print $1}'",
        "git diff | perl -ne 'print if /TODO/'",
        "cat x.json | node scripts/fmt.js",
        "ps aux | awk '/py/'",
    ],
)
def test_piping_data_into_an_interpreter_running_a_named_program_is_not_blocked(command: str) -> None:
    assert match_danger(command) is None, (command, match_danger(command))


@pytest.mark.parametrize(
    "command",
    [
        "echo x | python3 -",
        "echo x | python3 -u",
        "echo x | perl -",
        "echo x | ruby -w",
        "echo x | node",
        "echo x | php; ls",
        "echo x | python3 -c \"exec(__import__('sys').stdin.read())\"",
        "echo x | busybox sh",
    ],
)
def test_piping_into_an_interpreter_that_reads_its_program_from_stdin_is_blocked(command: str) -> None:
    assert match_danger(command) is not None, command


# -- items 9-10: real-client signatures and banners, every variant we know ---------------------------


@pytest.mark.parametrize(
    "signature",
    [
        "获取 Outlook for iOS<https://aka.ms/o0ukef>",
        "獲取 Outlook for iOS<https://aka.ms/o0ukef>",
        "取得 Outlook for Android<https://aka.ms/ghei36>",
        "Get Outlook for iOS<https://aka.ms/o0ukef>",
        "Outlook für iOS beziehen<https://aka.ms/o0ukef>",
        "Obtenir Outlook pour iOS<https://aka.ms/o0ukef>",
        "Obtener Outlook para iOS<https://aka.ms/o0ukef>",
        "Scarica Outlook per Android<https://aka.ms/ghei36>",
        "iOS 版 Outlook を入手<https://aka.ms/o0ukef>",
        "Outlook for iOS 다운로드<https://aka.ms/o0ukef>",
        "获取 Outlook for iOS",
        "Outlook für iOS beziehen",
        "Obtenir Outlook pour Android",
        "Get Outlook for Android https://aka.ms/ghei36",
    ],
)
def test_localised_outlook_mobile_signatures_are_cut(signature: str) -> None:
    from taskping_tui.mail.reply import extract_command

    assert (
        extract_command(f"run the tests\n\n{signature}\n________________________________\nFrom: x") == "run the tests"
    )


def test_a_command_about_outlook_on_ios_is_kept() -> None:
    from taskping_tui.mail.reply import extract_command

    assert extract_command("fix the Outlook for iOS login bug\n") == "fix the Outlook for iOS login bug"


@pytest.mark.parametrize("space", ["&nbsp;", "&#160;", "&#xa0;", " ", "\u00a0"])
def test_the_qq_banner_is_found_whatever_entity_stands_for_its_spaces(space: str) -> None:
    from taskping_tui.mail.reply import extract_command

    text = (
        f"好的\n\n------------------{space}原始邮件{space}------------------\n"
        f'发件人:{space}"TaskPing"&lt;bot@example.net&gt;;\n发送时间:{space}2026年11月24日\n主题: x\n'
    )
    assert extract_command(text) == "好的"


def test_a_command_that_mentions_an_entity_is_typed_as_written() -> None:
    from taskping_tui.mail.reply import extract_command

    assert extract_command("replace &nbsp; with a space in README\n") == "replace &nbsp; with a space in README"
