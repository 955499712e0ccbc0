"""One fetched mail → parsed → gated → recorded (mail, audit row, command and mailbox cursor in one
transaction). The watcher marks it \\Seen only after this returns.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from taskping_tui.agent.question import QUESTION_TOOL, mail_answerable_questions, picked_option, reply_answers
from taskping_tui.config import Config
from taskping_tui.inbound.commands import initial_state
from taskping_tui.inbound.danger import match_danger
from taskping_tui.inbound.gate import GateFacts, Verdict, VerdictKind, decide
from taskping_tui.inbound.permission import dialog_key, permission_answer
from taskping_tui.mail.reply import ParsedMail, parse_mail
from taskping_tui.mail.watcher import FetchedMail
from taskping_tui.startup import mail_policy, own_addresses
from taskping_tui.store import NewInboundMail, RecordedMail, Store

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PendingPermission:
    """The permission dialog the agent waits on right now (from the hooks)."""

    tool_name: str
    tool_input: dict[str, Any] | None


@dataclass(frozen=True)
class ProcessedMail:
    recorded: RecordedMail
    verdict: str
    reasons: tuple[str, ...]
    sender: str
    subject: str
    command: str
    danger: str | None
    # The closed session an otherwise acceptable reply was meant for (the reply is rejected and answered).
    ended_session: str | None = None


def headers_summary(parsed: ParsedMail) -> dict[str, str]:
    values = {
        "Message-ID": parsed.message_id or "",
        "In-Reply-To": parsed.in_reply_to or "",
        "Auto-Submitted": parsed.auto_submitted or "",
        "Precedence": parsed.precedence or "",
        "Return-Path": parsed.return_path or "",
        "Content-Type": parsed.content_type,
    }
    if parsed.authentication_results:
        values["Authentication-Results"] = parsed.authentication_results[0]
    return {name: value for name, value in values.items() if value}


def log_verdict(uid: int, message_id: str | None, token: str | None, verdict: str, codes: list[str]) -> None:
    """One log line per mail: ids, the verdict and its reason codes; never the subject, body or command
    (they carry the user's prompt text, and the README promises logs without mail text)."""
    logger.info(
        "mail UID %d (Message-ID %s, token %s): %s [%s]",
        uid,
        message_id or "-",
        token or "-",
        verdict,
        ", ".join(codes) or "-",
    )


def gate_facts(store: Store, now: float, mailbox_uid: tuple[int, int] | None = None) -> GateFacts:
    """What the store knows, in the form the gate asks for."""
    return GateFacts(
        token_status=lambda token: store.token_status(token, now),
        token_for_message_id=lambda mid: row.token if (row := store.lookup_message_id(mid)) else None,
        message_id_seen=store.mail_seen_by_message_id,
        uid_seen=store.mail_seen_by_uid,
        commands_in_last_hour=lambda session: store.commands_in_last_hour(session, now),
        mailbox_uid=mailbox_uid,
    )


def dangerous_permission(command: str, pending: PendingPermission | None, extra_patterns: list[str]) -> str | None:
    """A "yes" / "always" to a dialog whose tool input is dangerous, or an answer to Claude's question that
    picks an option described as something dangerous, needs the keyboard: what matched, named."""
    if pending is not None and pending.tool_name == QUESTION_TOOL:
        return dangerous_question_pick(command, pending.tool_input, extra_patterns)
    if pending is None or permission_answer(command) not in ("yes", "always"):
        return None
    described = json.dumps(pending.tool_input or {}, ensure_ascii=False)
    if isinstance(pending.tool_input, dict) and isinstance(pending.tool_input.get("command"), str):
        described = pending.tool_input["command"]
    hit = match_danger(described, extra_patterns)
    return f"permission for {pending.tool_name}: {hit.name}" if hit else None


def dangerous_question_pick(command: str, tool_input: Any, extra_patterns: list[str]) -> str | None:
    """The danger in the options a reply picks ("2" for "Wipe the database (rm -rf data/)"), if any."""
    questions = mail_answerable_questions(QUESTION_TOOL, tool_input)
    answers = reply_answers(command, questions) if questions else None
    for answer, question in zip(answers or (), questions, strict=False):
        option = picked_option(answer, question)
        hit = match_danger(f"{option.label} {option.description}", extra_patterns) if option else None
        if option is not None and hit is not None:
            return f"the answer picks “{option.label}”: {hit.name}"
    return None


def replied_dialog_key(store: Store, mail: ParsedMail) -> str:
    """The dialog (``dialog_key``) of our notification ``mail`` replies to, "" when that one showed none."""
    for message_id in mail.replied_ids:
        sent = store.lookup_message_id(message_id)
        if sent is None:
            continue
        outbox = store.get_outbox(sent.outbox_id) if sent.outbox_id is not None else None
        asked = [fact for fact in outbox.facts if fact.get("kind") == "needs_permission"] if outbox else []
        return dialog_key(asked[-1].get("tool_name"), asked[-1].get("tool_input")) if asked else ""
    return ""


class InboundProcessor:
    """The watcher's handler: decides and commits; raising means "retry this mail later"."""

    def __init__(
        self,
        store: Store,
        config: Config,
        *,
        clock: Callable[[], float] = time.time,
        pending_permission: Callable[[], PendingPermission | None] = lambda: None,
        permission_for_session: Callable[[str | None], PendingPermission | None] | None = None,
        session_ended: Callable[[str], bool] = lambda _session: False,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.pending_permission = pending_permission
        # With several sessions: the dialog of the session the reply is routed to (by token / In-Reply-To).
        self.permission_for_session = permission_for_session
        self.session_ended = session_ended
        self.policy = mail_policy(config, self.own_addresses(config))

    @staticmethod
    def own_addresses(config: Config) -> list[str]:
        return own_addresses(config)

    def process(self, mail: FetchedMail, mailbox_key: str) -> ProcessedMail | None:
        """Record ``mail``'s outcome; None when this (UIDVALIDITY, UID) was recorded before (a crash)."""
        cursor = (mailbox_key, mail.uidvalidity, mail.uid)
        if self.store.mail_seen_by_uid(mail.uidvalidity, mail.uid):
            self.store.save_cursor(*cursor)
            return None
        now = self.clock()
        if mail.raw is None:
            return self._record_too_big(mail, now, cursor)
        parsed = parse_mail(mail.raw)
        verdict = decide(parsed, self.policy, gate_facts(self.store, now, (mail.uidvalidity, mail.uid)), now)
        kind, reasons, danger = (
            str(verdict.kind),
            list(verdict.reasons),
            verdict.danger.name if verdict.danger else None,
        )
        permission_danger = None
        ended = None
        if kind in ("accepted", "blocked") and verdict.session_id and self.session_ended(verdict.session_id):
            kind, danger, ended = "rejected", None, verdict.session_id
            reasons.append("this session has ended")
        if kind == "accepted":
            pending = (
                self.permission_for_session(verdict.session_id)
                if self.permission_for_session
                else self.pending_permission()
            )
            permission_danger = dangerous_permission(verdict.command, pending, self.config.security.danger_patterns)
        if permission_danger:
            kind, danger = "blocked", permission_danger
            reasons.append(f"what it answers matches a danger pattern ({permission_danger})")
        state = initial_state(kind, self.config.security.approval) if kind in ("accepted", "blocked") else None
        new_mail = self._new_mail(mail, parsed, verdict, kind, reasons, danger, now)
        if state is not None:
            new_mail = dataclasses.replace(new_mail, answers_dialog=replied_dialog_key(self.store, parsed))
        recorded = self.store.record_inbound_mail(new_mail, command_state=state, cursor=cursor)
        codes = [code.value for code in verdict.codes] + (["permission-danger"] if permission_danger else [])
        log_verdict(mail.uid, parsed.message_id, verdict.token, kind, codes)
        return ProcessedMail(
            recorded,
            kind,
            tuple(reasons),
            parsed.from_addr or parsed.from_display,
            parsed.subject,
            verdict.command,
            danger,
            ended,
        )

    def _new_mail(
        self,
        mail: FetchedMail,
        parsed: ParsedMail,
        verdict: Verdict,
        kind: str,
        reasons: list[str],
        danger: str | None,
        now: float,
    ) -> NewInboundMail:
        return NewInboundMail(
            verdict=VerdictKind(kind),
            received_at=now,
            uidvalidity=mail.uidvalidity,
            uid=mail.uid,
            message_id=parsed.message_id or "",
            sender=parsed.from_addr or parsed.from_display,
            subject=parsed.subject,
            reasons=reasons,
            command=verdict.command or None,
            token=verdict.token,
            session_id=verdict.session_id,
            raw_text=parsed.text,
            headers=headers_summary(parsed),
            auth_result=verdict.auth_result,
            danger_pattern=danger,
        )

    def _record_too_big(self, mail: FetchedMail, now: float, cursor: tuple[str, int, int]) -> ProcessedMail:
        limit = self.config.mail.imap.max_mail_bytes
        reason = f"mail is {mail.size:,} bytes, over the {limit:,}-byte limit ([mail.imap] max_mail_bytes)"
        log_verdict(mail.uid, None, None, "rejected", ["too-big"])
        recorded = self.store.record_inbound_mail(
            NewInboundMail(
                verdict=VerdictKind.REJECTED,
                received_at=now,
                uidvalidity=mail.uidvalidity,
                uid=mail.uid,
                reasons=[reason],
                subject="(not downloaded)",
            ),
            cursor=cursor,
        )
        return ProcessedMail(recorded, "rejected", (reason,), "", "(not downloaded)", "", None)
