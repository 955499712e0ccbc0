"""The notification mail as the user's mail client will show it."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest

from taskping_tui.config import MailConfig
from taskping_tui.mail.compose import (
    REPLY_MARKER,
    NotificationFacts,
    compose_notification,
    first_words,
)
from tests.support.questions import DATABASE, tool_input

TOKEN = "7K3QZ9MX"
PASSWORD = "hunter2-very-secret"
WHEN = datetime(2025, 3, 4, 9, 30, 0, tzinfo=UTC)


@pytest.fixture
def mail() -> MailConfig:
    return MailConfig(
        enabled=True,
        address="bot@mail.example.org",
        username="bot-login",
        password=PASSWORD,
        recipients=["me@phone.example", "second@phone.example"],
        answer_cap_chars=200,
    )


def facts(**overrides) -> NotificationFacts:
    values = dict(
        kind="turn_finished",
        summary="The agent finished its turn.",
        session_id="sess-42",
        cwd="/home/ann/projects/webshop",
        prompt="fix the failing login test please",
        last_assistant_message="All 12 tests pass now.",
        time=WHEN,
    )
    values.update(overrides)
    return NotificationFacts(**values)


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def test_subject_names_token_event_project_and_prompt(mail: MailConfig) -> None:
    composed = compose_notification(facts(), token=TOKEN, mail=mail, host_name="devbox")
    expected = "[TaskPing #7K3QZ9MX] Turn finished — webshop: fix the failing login test please"
    assert composed.subject == expected
    assert parse(composed.as_bytes())["Subject"] == expected


def test_long_multiline_prompt_is_cut_to_first_words_on_one_line(mail: MailConfig) -> None:
    prompt = "please\nrefactor the whole payment module and add tests for every edge case you find"
    subject = compose_notification(facts(prompt=prompt), token=TOKEN, mail=mail).subject
    assert subject.endswith(": please refactor the whole payment module and add…")
    assert "\n" not in subject
    assert first_words("short one") == "short one"


def test_permission_mail_shows_tool_input_and_reply_words(mail: MailConfig) -> None:
    composed = compose_notification(
        facts(
            kind="needs_permission",
            summary="Claude needs your permission to use Bash",
            tool_name="Bash",
            tool_input={"command": "npm publish --access public", "description": "Publish"},
        ),
        token=TOKEN,
        mail=mail,
    )
    assert "Needs your permission (Bash)" in composed.subject
    text, html = parts(parse(composed.as_bytes()))
    assert "npm publish --access public" in text
    for word in ("yes", "always", "no", "是", "否"):
        assert word in text
    assert "npm publish --access public" in html


QUESTION_INPUT = tool_input(
    {**DATABASE, "options": [DATABASE["options"][0], {"label": "SQLite", "description": "one file <no server>"}]}
)


def test_a_question_mail_shows_the_question_its_numbered_options_and_how_to_answer(mail: MailConfig) -> None:
    composed = compose_notification(
        facts(
            kind="needs_permission",
            summary="Asks: Which database?",
            tool_name="AskUserQuestion",
            tool_input=QUESTION_INPUT,
        ),
        token=TOKEN,
        mail=mail,
    )
    assert (
        composed.subject == "[TaskPing #7K3QZ9MX] Claude asks a question — webshop: fix the failing login test please"
    )
    text, html = parts(parse(composed.as_bytes()))
    text = text.replace("\r\n", "\n")
    assert "Question — Database" in text
    assert (
        "Which database should the service use?\n1. PostgreSQL — relational, the team knows it\n2. SQLite — one file <no server>"
        in text
    )
    assert "Reply with the number or the name of an option, or with your own answer" in text
    assert '"questions"' not in text and "yes (allow once)" not in text  # not shown as a tool's JSON input
    assert "2. SQLite — one file &lt;no server&gt;" in html


def test_a_mail_about_several_questions_says_how_to_answer_them(mail: MailConfig) -> None:
    (question,) = QUESTION_INPUT["questions"]
    several = {"questions": [question, {**question, "question": "And the cache?", "multiSelect": True}]}
    composed = compose_notification(
        facts(kind="needs_permission", summary="Asks", tool_name="AskUserQuestion", tool_input=several),
        token=TOKEN,
        mail=mail,
    )
    text, _ = parts(parse(composed.as_bytes()))
    assert "Question 1 of 2 — Database" in text and "Question 2 of 2 — Database" in text
    assert "And the cache?" in text and "(pick any number of them)" in text
    assert "answered at the keyboard" in text
    two = {"questions": [question, {**question, "question": "And the cache?"}]}
    composed = compose_notification(
        facts(kind="needs_permission", summary="Asks", tool_name="AskUserQuestion", tool_input=two),
        token=TOKEN,
        mail=mail,
    )
    text, _ = parts(parse(composed.as_bytes()))
    assert "Reply with one answer per line, in the order of the questions" in text


def test_text_part_reads_alone_with_prompt_answer_project_host_time_and_marker(mail: MailConfig) -> None:
    composed = compose_notification(facts(), token=TOKEN, mail=mail, host_name="devbox")
    text, _ = parts(parse(composed.as_bytes()))
    assert text.splitlines()[0] == REPLY_MARKER
    assert "fix the failing login test please" in text
    assert "All 12 tests pass now." in text
    assert "/home/ann/projects/webshop" in text
    assert "Host: devbox" in text
    assert "2025-03-04" in text


def test_html_part_escapes_what_the_agent_and_user_wrote(mail: MailConfig) -> None:
    answer = 'Added <script>alert("x")</script> & a <b>bold</b> claim'
    composed = compose_notification(
        facts(last_assistant_message=answer, prompt="use <div> tags"), token=TOKEN, mail=mail
    )
    text, html = parts(parse(composed.as_bytes()))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; a &lt;b&gt;bold&lt;/b&gt;" in html
    assert "&lt;div&gt;" in html
    assert answer in text, "the text part keeps the answer as written"


def test_long_answer_is_capped_with_a_note(mail: MailConfig) -> None:
    answer = "A" * 150 + "B" * 150
    text, html = parts(
        parse(compose_notification(facts(last_assistant_message=answer), token=TOKEN, mail=mail).as_bytes())
    )
    assert "A" * 150 + "B" * 50 in text
    assert "B" * 51 not in text
    assert "cut at 200 of 300 characters" in text
    assert "cut at 200 of 300 characters" in html


def test_answer_under_the_cap_is_whole_without_note(mail: MailConfig) -> None:
    text, _ = parts(
        parse(compose_notification(facts(last_assistant_message="x" * 200), token=TOKEN, mail=mail).as_bytes())
    )
    assert "x" * 200 in text
    assert "cut at" not in text


def test_headers_thread_and_mark_the_mail_automatic(mail: MailConfig) -> None:
    composed = compose_notification(facts(), token=TOKEN, mail=mail, thread_root="<root@mail.example.org>")
    message = parse(composed.as_bytes())
    assert message["Message-ID"] == composed.message_id
    assert composed.message_id.endswith("@mail.example.org>")
    assert message["In-Reply-To"] == "<root@mail.example.org>"
    assert message["References"] == "<root@mail.example.org>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-TaskPing-Session"] == "sess-42"
    assert message["From"].addresses[0].addr_spec == "bot@mail.example.org"
    assert message["Reply-To"].addresses[0].addr_spec == "bot@mail.example.org"
    assert [a.addr_spec for a in message["To"].addresses] == ["me@phone.example", "second@phone.example"]
    assert message["Date"].datetime == WHEN


def test_first_mail_of_a_session_has_no_in_reply_to(mail: MailConfig) -> None:
    message = parse(compose_notification(facts(), token=TOKEN, mail=mail).as_bytes())
    assert message["In-Reply-To"] is None and message["References"] is None


def test_no_password_anywhere_in_the_mail(mail: MailConfig) -> None:
    raw = compose_notification(
        facts(kind="needs_permission", tool_name="Bash", tool_input={"command": "ls"}), token=TOKEN, mail=mail
    ).as_bytes()
    text, html = parts(parse(raw))
    for blob in (raw.decode("ascii", errors="replace"), text, html):
        assert PASSWORD not in blob
        assert "bot-login" not in blob


def test_escape_sequences_from_the_terminal_are_removed(mail: MailConfig) -> None:
    text, _ = parts(
        parse(
            compose_notification(
                facts(last_assistant_message="done\x1b[31m red\x07"), token=TOKEN, mail=mail
            ).as_bytes()
        )
    )
    assert "\x1b" not in text and "\x07" not in text
    assert "done[31m red" in text


def test_coalesced_mail_lists_newest_first(mail: MailConfig) -> None:
    older = facts(prompt="first task", last_assistant_message="first answer", time=WHEN)
    newer = facts(prompt="second task", last_assistant_message="second answer", time=WHEN + timedelta(seconds=20))
    newest = facts(
        kind="api_error",
        prompt="third task",
        error="overloaded_error",
        last_assistant_message="",
        time=WHEN + timedelta(seconds=40),
    )
    composed = compose_notification([older, newest, newer], token=TOKEN, mail=mail)
    assert composed.subject == "[TaskPing #7K3QZ9MX] API error (+2 earlier) — webshop: third task"
    assert composed.kind == "api_error"
    text, _ = parts(parse(composed.as_bytes()))
    assert text.index("third task") < text.index("second answer") < text.index("first answer")
    assert "Earlier updates (2)" in text
    assert "overloaded_error" in text


def test_facts_survive_a_json_round_trip() -> None:
    original = facts(kind="needs_permission", tool_name="Edit", tool_input={"file_path": "/a", "old": "x"})
    assert NotificationFacts.from_json(original.to_json()) == original
