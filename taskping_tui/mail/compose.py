"""The notification mail: what the agent did, readable on a phone, and easy to answer.

One mail carries one notification, or several when the outbox coalesced a burst (newest first). The text
part stands alone (phones often show only that); the HTML part says the same, escaped. Headers thread every
mail of a session under its first notification and mark the mail as automatic so that auto-responders
stay quiet. Nothing secret goes in: compose never sees a password.
"""

from __future__ import annotations

import email.policy
import html
import json
import re
import socket
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import PurePath
from typing import Any, Literal

from taskping_tui.agent.question import QUESTION_TOOL, AgentQuestion, answerable_by_mail, read_questions
from taskping_tui.config import MailConfig
from taskping_tui.mail.reply import REPLY_MARKER  # the line the reply parser cuts at
from taskping_tui.mail.tokens import subject_tag

NotificationKind = Literal[
    "turn_finished",
    "needs_permission",
    "api_error",
    "exited",
    "command_received",
    "command_expired",
    "command_not_typed",
    "permission_denied",
    "session_ended",
]

KIND_LABELS: dict[str, str] = {
    "turn_finished": "Turn finished",
    "needs_permission": "Needs your permission",
    "api_error": "API error",
    "exited": "Agent exited",
    "command_received": "Command received",
    "command_expired": "Command expired",
    "command_not_typed": "Not typed",
    "permission_denied": "Permission denied — waiting for you",
    "session_ended": "This session has ended",
}

SESSION_HEADER = "X-TaskPing-Session"
SUBJECT_PROMPT_WORDS = 8
SUBJECT_PROMPT_CHARS = 60
# Older notifications in a coalesced mail keep this much of their answer; the newest keeps the full cap.
EARLIER_ANSWER_CHARS = 2000
FROM_DISPLAY_NAME = "TaskPing"

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_WHITESPACE = re.compile(r"\s+")


def _local_now() -> datetime:
    return datetime.now().astimezone()


@dataclass(frozen=True, kw_only=True)
class NotificationFacts:
    """One thing worth telling the user about an agent session."""

    kind: NotificationKind
    summary: str
    session_id: str
    # The taskping-tui session's name (shown in the subject); "" names it after the project dir.
    session_name: str = ""
    cwd: str = ""
    prompt: str = ""
    last_assistant_message: str = ""
    tool_name: str = ""
    tool_input: Any = None
    error: str = ""
    time: datetime = field(default_factory=_local_now)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["time"] = self.time.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NotificationFacts:
        values = dict(data)
        values["time"] = datetime.fromisoformat(values["time"])
        return cls(**values)


@dataclass(frozen=True)
class ComposedMail:
    message: EmailMessage
    subject: str
    message_id: str
    kind: str

    def as_bytes(self) -> bytes:
        """The wire form (CRLF line ends) stored in the outbox and handed to SMTP."""
        return self.message.as_bytes(policy=email.policy.SMTP)


# ---------------------------------------------------------------------------------------------- helpers


def _one_line(text: str) -> str:
    return _WHITESPACE.sub(" ", _CONTROL_CHARACTERS.sub("", text)).strip()


def _clean_block(text: str) -> str:
    """Keep newlines and tabs, drop other control characters (escape sequences from the terminal)."""
    return _CONTROL_CHARACTERS.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip("\n")


def first_words(prompt: str, *, words: int = SUBJECT_PROMPT_WORDS, chars: int = SUBJECT_PROMPT_CHARS) -> str:
    """The beginning of the prompt for the subject: a few words, one line, ``…`` when cut."""
    flat = _one_line(prompt)
    parts = flat.split(" ")
    cut = " ".join(parts[:words])
    if len(cut) > chars:
        cut = cut[:chars].rstrip()
    return cut + ("…" if cut != flat else "")


def project_name(cwd: str) -> str:
    return PurePath(cwd).name if cwd else ""


def capped(text: str, cap: int, what: str = "Answer") -> tuple[str, str]:
    """``text`` up to ``cap`` characters, and the note to show when it was cut (else "")."""
    if cap <= 0 or len(text) <= cap:
        return text, ""
    return text[:cap], (
        f"[{what} cut at {cap:,} of {len(text):,} characters; the whole {what.lower()} is in the terminal.]"
    )


def tool_input_text(tool_input: Any) -> str:
    """A tool's input as a person reads it: a shell command as is, anything else as indented JSON."""
    if tool_input is None or tool_input == "" or tool_input == {}:
        return ""
    if isinstance(tool_input, str):
        return tool_input
    if (
        isinstance(tool_input, dict)
        and set(tool_input) <= {"command", "description", "timeout"}
        and isinstance(tool_input.get("command"), str)
    ):
        return str(tool_input["command"])
    return json.dumps(tool_input, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def what_happened(facts: NotificationFacts) -> str:
    label = KIND_LABELS.get(facts.kind, facts.kind.replace("_", " ").capitalize())
    if facts.kind == "needs_permission" and facts.tool_name == QUESTION_TOOL:
        return "Claude asks a question"
    if facts.kind == "needs_permission" and facts.tool_name:
        return f"{label} ({_one_line(facts.tool_name)})"
    return label


def compose_subject(facts: Sequence[NotificationFacts], token: str) -> str:
    newest = facts[0]
    happened = what_happened(newest)
    if len(facts) > 1:
        happened += f" (+{len(facts) - 1} earlier)"
    project = _one_line(newest.session_name) or _one_line(project_name(newest.cwd)) or "agent"
    prompt = next((each.prompt for each in facts if each.prompt.strip()), "")
    tail = f": {first_words(prompt)}" if prompt.strip() else ""
    return f"{subject_tag(token)} {happened} — {project}{tail}"


def _time_text(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z").strip()


# ---------------------------------------------------------------------------------------------- sections

PERMISSION_ANSWERS = (
    "Reply with one word: yes (allow once), always (allow and don't ask again, if the dialog offers it) "
    "or no (deny). 中文：是 = yes，否 = no。"
)
HOW_TO_ANSWER = (
    "Reply to this mail to give the agent its next instruction: write it above the line "
    f"“{REPLY_MARKER}”. Keep the subject (it carries the session code)."
)


QUESTION_ANSWER = (
    "Reply with the number or the name of an option, or with your own answer in one line "
    "(it goes into “Type something.”)."
)
QUESTIONS_ANSWERS = (
    "Reply with one answer per line, in the order of the questions: the number or the name of an "
    "option, or your own words."
)
QUESTION_AT_KEYBOARD = (
    "This one is answered at the keyboard (a question where you may pick several answers): "
    "a reply by mail is not typed into it."
)


def _question_paragraphs(questions: Sequence[AgentQuestion], answerable: bool) -> list[tuple[str, str, bool]]:
    paragraphs: list[tuple[str, str, bool]] = []
    for index, question in enumerate(questions, start=1):
        label = "Question" if len(questions) == 1 else f"Question {index} of {len(questions)}"
        if question.header:
            label += f" — {question.header}"
        lines = [question.text]
        for number, option in enumerate(question.options, start=1):
            lines.append(f"{number}. {option.label}" + (f" — {option.description}" if option.description else ""))
        if question.multi_select:
            lines.append("(pick any number of them)")
        paragraphs.append((label, "\n".join(lines), True))
    how = QUESTION_AT_KEYBOARD if not answerable else QUESTION_ANSWER if len(questions) == 1 else QUESTIONS_ANSWERS
    paragraphs.append(("How to answer", how, False))
    return paragraphs


@dataclass(frozen=True)
class _Section:
    """One notification laid out as (heading, paragraphs); a paragraph is (label, text, preformatted)."""

    heading: str
    paragraphs: tuple[tuple[str, str, bool], ...]


def _section(facts: NotificationFacts, answer_cap: int, host: str) -> _Section:
    paragraphs: list[tuple[str, str, bool]] = []
    if facts.summary.strip():
        paragraphs.append(("", _clean_block(facts.summary), False))
    if facts.error.strip():
        paragraphs.append(("Error", _clean_block(facts.error), True))
    questions = read_questions(facts.tool_input) if facts.tool_name == QUESTION_TOOL else ()
    if facts.kind == "needs_permission" and questions:
        paragraphs += _question_paragraphs(questions, answerable_by_mail(questions))
    elif facts.kind == "needs_permission":
        tool = _one_line(facts.tool_name) or "a tool"
        paragraphs.append(("Tool", tool, False))
        tool_input, note = capped(_clean_block(tool_input_text(facts.tool_input)), answer_cap, "Input")
        if tool_input:
            paragraphs.append(("Input", tool_input + (f"\n{note}" if note else ""), True))
        paragraphs.append(("How to answer", PERMISSION_ANSWERS, False))
    if facts.prompt.strip():
        # A mail about a mailed command (received, expired, not typed) carries that command as its prompt.
        label = "Your command" if facts.kind.startswith("command_") else "Your last prompt"
        paragraphs.append((label, _clean_block(facts.prompt), True))
    if facts.last_assistant_message.strip():
        answer, note = capped(_clean_block(facts.last_assistant_message), answer_cap)
        paragraphs.append(("The agent's answer", answer, True))
        if note:
            paragraphs.append(("", note, False))
    details = [
        f"Project: {facts.cwd}" if facts.cwd else "",
        f"Host: {host}",
        f"Time: {_time_text(facts.time)}",
        f"Session: {_one_line(facts.session_id)}",
    ]
    paragraphs.append(("", "\n".join(line for line in details if line), False))
    heading = what_happened(facts)
    project = project_name(facts.cwd)
    if project:
        heading += f" — {project}"
    return _Section(heading, tuple(paragraphs))


def _text_body(sections: Sequence[_Section]) -> str:
    lines = [REPLY_MARKER, HOW_TO_ANSWER, ""]
    for index, section in enumerate(sections):
        if index == 1:
            lines += ["", f"Earlier updates ({len(sections) - 1}), newest first:", ""]
        if index > 0:
            lines.append("─" * 20)
        lines += [section.heading, ""]
        for label, text, _preformatted in section.paragraphs:
            if label:
                lines.append(f"{label}:")
            lines += [text, ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _html_body(sections: Sequence[_Section]) -> str:
    escape = html.escape
    parts = [
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width"></head>'
        '<body style="font-family:sans-serif">',
        f'<p style="color:#888">{escape(REPLY_MARKER)}</p>',
        f"<p>{escape(HOW_TO_ANSWER)}</p>",
    ]
    for index, section in enumerate(sections):
        if index == 1:
            parts.append(f"<h3>Earlier updates ({len(sections) - 1}), newest first</h3>")
        if index > 0:
            parts.append("<hr>")
        parts.append(f"<h2>{escape(section.heading)}</h2>")
        for label, text, preformatted in section.paragraphs:
            if label:
                parts.append(f"<p><b>{escape(label)}:</b></p>")
            if preformatted:
                parts.append(f'<pre style="white-space:pre-wrap;word-wrap:break-word">{escape(text)}</pre>')
            else:
                parts.append("<p>" + escape(text).replace("\n", "<br>\n") + "</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------------------------------------- the mail


def mail_domain(address: str) -> str:
    return address.rpartition("@")[2] or "localhost"


def new_message_id(address: str) -> str:
    return make_msgid(domain=mail_domain(address))


def compose_notification(
    facts: NotificationFacts | Sequence[NotificationFacts],
    *,
    token: str,
    mail: MailConfig,
    message_id: str | None = None,
    thread_root: str | None = None,
    host_name: str | None = None,
) -> ComposedMail:
    """Build the notification mail for one or more notifications of one session.

    ``thread_root`` is the Message-ID of the session's first notification (In-Reply-To / References);
    ``message_id`` keeps a Message-ID already recorded (re-rendering a coalesced mail).
    """
    items = [facts] if isinstance(facts, NotificationFacts) else list(facts)
    if not items:
        raise ValueError("a notification mail needs at least one notification")
    items.sort(key=lambda each: each.time, reverse=True)
    newest = items[0]
    host = host_name or socket.gethostname()
    sections = [
        _section(each, mail.answer_cap_chars if index == 0 else min(mail.answer_cap_chars, EARLIER_ANSWER_CHARS), host)
        for index, each in enumerate(items)
    ]
    subject = compose_subject(items, token)
    message_id = message_id or new_message_id(mail.address)
    sender = Address(display_name=FROM_DISPLAY_NAME, addr_spec=mail.address)

    message = EmailMessage(policy=email.policy.SMTP)
    message["Subject"] = subject
    message["From"] = sender
    message["Reply-To"] = sender
    message["To"] = ", ".join(mail.recipients)
    message["Date"] = format_datetime(newest.time.astimezone())
    message["Message-ID"] = message_id
    if thread_root and thread_root != message_id:
        message["In-Reply-To"] = thread_root
        message["References"] = thread_root
    message["Auto-Submitted"] = "auto-generated"
    # Asks Exchange/Outlook not to send out-of-office and similar automatic answers back to us.
    message["X-Auto-Response-Suppress"] = "All"
    message[SESSION_HEADER] = _one_line(newest.session_id)
    message.set_content(_text_body(sections))
    message.add_alternative(_html_body(sections), subtype="html")
    return ComposedMail(message=message, subject=subject, message_id=message_id, kind=newest.kind)
