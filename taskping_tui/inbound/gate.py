"""The gate: decides what one inbound mail may do. Pure — no IO; facts come in as plain callables.

Every mail ends in exactly one verdict, checked in this order:

* ``ignored``  — not a reply from a person: our own mail, auto-replies, bounces, list mail.
* ``rejected`` — a person's mail that must not reach the agent (with every reason that applies).
* ``blocked``  — an acceptable command that matches a danger pattern: it waits for keyboard approval.
* ``accepted`` — everything else.

The command is sanitized first (control characters, escape sequences, paste markers, and every invisible
character: Unicode format characters such as zero-width spaces, joiners, soft hyphens and bidi controls,
see :mod:`taskping_tui.inbound.normalize`), and the length cap and danger patterns look at the sanitized text: what
is checked is what would be typed. Removed invisible characters are named in the verdict's reasons.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Final, Protocol

from taskping_tui.inbound.auth_results import check_authentication
from taskping_tui.inbound.danger import DangerMatch, DangerPattern, compile_patterns, match_danger
from taskping_tui.inbound.normalize import StrippedCommand, strip_invisible
from taskping_tui.mail.address import config_address
from taskping_tui.mail.reply import ParsedMail
from taskping_tui.mail.tokens import normalize_token

if TYPE_CHECKING:
    from taskping_tui.config import SecurityConfig

RATE_WINDOW_SECONDS: Final = 3600.0


class VerdictKind(StrEnum):
    ACCEPTED = "accepted"
    BLOCKED = "blocked"
    REJECTED = "rejected"
    IGNORED = "ignored"


class Reason(StrEnum):
    """Stable codes for every reason a verdict can carry (the text shown is in ``Verdict.reasons``)."""

    OWN_MAIL = "own-mail"
    AUTO_SUBMITTED = "auto-submitted"
    AUTO_REPLY_HEADER = "auto-reply-header"
    AUTO_REPLY_TEXT = "auto-reply-text"
    BOUNCE_REPORT = "bounce-report"
    NULL_RETURN_PATH = "null-return-path"
    BULK_PRECEDENCE = "bulk-precedence"
    MAILING_LIST = "mailing-list"
    UNPARSABLE = "unparsable"
    NO_SENDER = "no-sender"
    FROM_HEADER_COUNT = "from-header-count"
    SENDER_NOT_ALLOWED = "sender-not-allowed"
    NO_TOKEN = "no-token"
    TOKEN_UNKNOWN = "token-unknown"
    TOKEN_EXPIRED = "token-expired"
    TOKEN_REVOKED = "token-revoked"
    TOKEN_AMBIGUOUS = "token-ambiguous"
    AUTH_MISSING = "auth-missing"
    AUTH_FAILED = "auth-failed"
    DUPLICATE_MESSAGE_ID = "duplicate-message-id"
    DUPLICATE_UID = "duplicate-uid"
    EMPTY_COMMAND = "empty-command"
    TOO_LONG = "too-long"
    RATE_LIMITED = "rate-limited"
    DANGER = "danger"
    # Notes: they change nothing about the verdict, they say what was done to the mail to read it.
    INVISIBLE_REMOVED = "invisible-removed"
    CHARSET_FALLBACK = "charset-fallback"


class TokenFacts(Protocol):
    """What the store knows about a token (``store.TokenStatus`` fits)."""

    @property
    def state(self) -> str: ...  # "active" | "expired" | "revoked" | "unknown"

    @property
    def session_id(self) -> str | None: ...


@dataclass(frozen=True)
class TokenInfo:
    state: str  # "active" | "expired" | "revoked" | "unknown"
    session_id: str | None = None
    expires_at: float | None = None  # Unix seconds; an "active" token past it counts as expired


UNKNOWN_TOKEN: Final = TokenInfo("unknown")


def _never_seen_message_id(_message_id: str) -> bool:
    return False


def _never_seen_uid(_uidvalidity: int, _uid: int) -> bool:
    return False


def _no_commands(_session_id: str) -> int:
    return 0


def _unknown_token(_token: str) -> TokenFacts:
    return UNKNOWN_TOKEN


def _not_ours(_message_id: str) -> str | None:
    return None


@dataclass(frozen=True)
class GateFacts:
    """What the store knows, as callables, plus where this mail sits in the mailbox.

    With a :class:`~taskping_tui.store.Store` ``s`` and the same ``now`` as given to :func:`decide`::

        GateFacts(
            token_status=lambda t: s.token_status(t, now),
            token_for_message_id=lambda m: (r.token if (r := s.lookup_message_id(m)) else None),
            message_id_seen=s.mail_seen_by_message_id,
            uid_seen=s.mail_seen_by_uid,
            commands_in_last_hour=lambda sid: s.commands_in_last_hour(sid, now),
            mailbox_uid=(uidvalidity, uid),
        )

    The defaults describe an empty store (``taskping-tui inspect`` without a store): every token unknown.
    """

    token_status: Callable[[str], TokenFacts] = _unknown_token
    token_for_message_id: Callable[[str], str | None] = _not_ours  # our sent Message-ID → its token
    message_id_seen: Callable[[str], bool] = _never_seen_message_id
    uid_seen: Callable[[int, int], bool] = _never_seen_uid
    commands_in_last_hour: Callable[[str], int] = _no_commands  # by session id
    mailbox_uid: tuple[int, int] | None = None  # (UIDVALIDITY, UID) of this mail


@dataclass(frozen=True)
class GatePolicy:
    """Who may send commands and what they may send. Build with :meth:`create` to validate input."""

    allowed_senders: frozenset[str] = frozenset()
    own_addresses: frozenset[str] = frozenset()
    require_auth: str | None = None  # authserv-id whose verdict is trusted, e.g. "mx.google.com"
    max_command_chars: int = 4000
    max_commands_per_hour: int = 30
    extra_danger_patterns: tuple[DangerPattern, ...] = ()

    @classmethod
    def create(
        cls,
        *,
        allowed_senders: Iterable[str],
        own_addresses: Iterable[str] = (),
        require_auth: str | None = None,
        max_command_chars: int = 4000,
        max_commands_per_hour: int = 30,
        danger_patterns: Iterable[str | DangerPattern] = (),
    ) -> GatePolicy:
        """Validate and normalize: addresses parsed and lower-cased, patterns compiled.

        Raises ValueError (:class:`~taskping_tui.mail.address.AddressError` for an address, ``DangerPatternError`` for a pattern) with a
        message naming the bad value; both are :class:`~taskping_tui.errors.TaskPingError` too.
        """
        if max_command_chars < 1:
            raise ValueError("max_command_chars must be at least 1")
        if max_commands_per_hour < 1:
            raise ValueError("max_commands_per_hour must be at least 1")
        return cls(
            allowed_senders=frozenset(config_address(a, "allowed_senders") for a in allowed_senders),
            own_addresses=frozenset(config_address(a, "own address") for a in own_addresses),
            require_auth=(require_auth or "").strip().lower() or None,
            max_command_chars=max_command_chars,
            max_commands_per_hour=max_commands_per_hour,
            extra_danger_patterns=compile_patterns(danger_patterns),
        )

    @classmethod
    def from_config(cls, security: SecurityConfig, own_addresses: Iterable[str]) -> GatePolicy:
        """The policy for ``[security]``; ``own_addresses`` are the service mailbox's From addresses."""
        return cls.create(
            allowed_senders=security.allowed_senders,
            own_addresses=own_addresses,
            require_auth=security.require_auth or None,
            max_command_chars=security.max_command_chars,
            max_commands_per_hour=security.max_commands_per_hour,
            danger_patterns=security.danger_patterns,
        )


@dataclass(frozen=True)
class Verdict:
    kind: VerdictKind
    reasons: list[str]  # shown to the user, one sentence each
    command: str  # sanitized; what would be (or was going to be) typed
    token: str | None
    danger: DangerMatch | None = None
    codes: list[Reason] = field(default_factory=list)  # parallel to ``reasons``
    session_id: str | None = None
    sender: str = ""
    message_id: str | None = None
    auth_result: str = ""  # e.g. "dmarc=pass (mx.google.com)"; "" when not required

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready form (``taskping-tui inspect --json``, logs without secrets)."""
        return {
            "verdict": self.kind.value,
            "reasons": list(self.reasons),
            "codes": [code.value for code in self.codes],
            "from": self.sender,
            "token": self.token,
            "session_id": self.session_id,
            "message_id": self.message_id,
            "command": self.command,
            "auth_result": self.auth_result,
            "danger": None if self.danger is None else {"name": self.danger.name, "matched": self.danger.matched},
        }


# --------------------------------------------------------------------------------------------------
# Sanitizing
# --------------------------------------------------------------------------------------------------

# ESC-introduced sequences: CSI, OSC / DCS / SOS / PM / APC strings, and two-byte escapes.
_ESCAPE_SEQUENCE: Final = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"
    r"|\x1b[\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
    r"|\x9b[0-?]*[ -/]*[@-~]?"
    r"|[\x90\x98\x9d\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
)
_LINE_BREAKS: Final = re.compile(r"\r\n|[\r\x85\u2028\u2029\x0b\x0c]")
# All C0 and C1 controls (category Cc) except the newline; invisible characters go in strip_invisible.
_STRIPPED_CHARS: Final = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_EDGE_JUNK: Final = " \n\u200b\u200c\u200d\u2060\ufeff\u180e"


def _without_paste_markers(text: str) -> str:
    """Remove "[200~" / "[201~" (ESC already gone), also those that only form once an inner one is removed.

    A stack scan does in one linear pass what repeated search-and-replace would need a pass per nesting
    level for (a hostile ``[20[20[20…1~1~1~`` would otherwise cost quadratic time).
    """
    if "[20" not in text:
        return text
    out: list[str] = []
    for ch in text:
        out.append(ch)
        if ch == "~" and len(out) >= 5 and out[-5] == "[" and out[-4] == "2" and out[-3] == "0" and out[-2] in "01":
            del out[-5:]
    return "".join(out)


def sanitize_command(text: str) -> str:
    """Make mail text safe to type into the agent: only visible text and newlines remain.

    Removes ANSI / OSC / DCS escape sequences, all C0 and C1 control characters (CR and the other line
    breaks become newlines, a tab becomes a space), every invisible character (format characters such
    as zero-width spaces and joiners, soft hyphens, bidi controls; :func:`~taskping_tui.inbound.normalize.strip_invisible`)
    and bracketed-paste markers. Removing characters cannot create a control character, so after these
    passes none is left; paste markers are removed by a scan that also catches markers assembled by
    removing an inner one.
    """
    return sanitize_command_report(text).text


def sanitize_command_report(text: str) -> StrippedCommand:
    """:func:`sanitize_command`, plus which invisible characters were removed (for the panel)."""
    text = _ESCAPE_SEQUENCE.sub("", text)
    text = _LINE_BREAKS.sub("\n", text).replace("\t", " ")
    text = _STRIPPED_CHARS.sub("", text)
    stripped = strip_invisible(text)
    text = _without_paste_markers(stripped.text)
    return StrippedCommand(text.strip(_EDGE_JUNK), stripped.removed)


# --------------------------------------------------------------------------------------------------
# Decision
# --------------------------------------------------------------------------------------------------

_IGNORED_PRECEDENCE: Final = frozenset({"bulk", "list", "junk"})


def _ignore_reasons(mail: ParsedMail, policy: GatePolicy, facts: GateFacts) -> list[tuple[Reason, str]]:
    found: list[tuple[Reason, str]] = []
    if _is_own_mail(mail, policy, facts):
        found.append((Reason.OWN_MAIL, "our own notification mail"))
    if mail.auto_submitted is not None and mail.auto_submitted != "no":
        found.append((Reason.AUTO_SUBMITTED, f"automatic mail (Auto-Submitted: {mail.auto_submitted})"))
    if mail.autoreply_header is not None:
        found.append((Reason.AUTO_REPLY_HEADER, "automatic reply (X-Autoreply / X-Autorespond header)"))
    if mail.autoreply_header is None and mail.autoreply_text is not None:
        found.append((Reason.AUTO_REPLY_TEXT, mail.autoreply_text))
    if mail.content_type == "multipart/report":
        found.append((Reason.BOUNCE_REPORT, "delivery report (multipart/report)"))
    if mail.return_path is not None and mail.return_path.replace(" ", "") == "<>":
        found.append((Reason.NULL_RETURN_PATH, "bounce or automatic mail (Return-Path: <>)"))
    if mail.precedence in _IGNORED_PRECEDENCE:
        found.append((Reason.BULK_PRECEDENCE, f"bulk mail (Precedence: {mail.precedence})"))
    if mail.list_id is not None:
        found.append((Reason.MAILING_LIST, "mailing-list mail (List-Id)"))
    return found


def _is_own_mail(mail: ParsedMail, policy: GatePolicy, facts: GateFacts) -> bool:
    if mail.taskping_session is not None:
        return True
    if mail.message_id and facts.token_for_message_id(mail.message_id) is not None:
        return True  # its Message-ID is one we generated
    # A user may (oddly) send commands from the service address itself; then only our markers count.
    return mail.from_addr in policy.own_addresses and mail.from_addr not in policy.allowed_senders


def _resolve_token(mail: ParsedMail, facts: GateFacts) -> str | None:
    """The subject's token, else the token of the newest of our Message-IDs the mail replies to."""
    if mail.token:
        return normalize_token(mail.token) or mail.token
    return _replied_token(mail, facts)


def _replied_token(mail: ParsedMail, facts: GateFacts) -> str | None:
    """The token of the newest of our Message-IDs in In-Reply-To / References."""
    for message_id in mail.replied_ids:
        token = facts.token_for_message_id(message_id)
        if token:
            return normalize_token(token) or token
    return None


def _ambiguity_reasons(
    mail: ParsedMail, token: str | None, subject_session: str | None, facts: GateFacts
) -> list[tuple[Reason, str]]:
    """A mail that names two sessions goes to neither: which one the user meant cannot be known.

    ``subject_session`` is the session ``token`` belongs to (None when unknown)."""
    in_subject = list(dict.fromkeys(normalize_token(t) or t for t in (*mail.subject_tokens, mail.token) if t))
    if len(in_subject) > 1:
        named = ", ".join(f"#{t}" for t in in_subject)
        return [
            (
                Reason.TOKEN_AMBIGUOUS,
                f"the subject names {len(in_subject)} session tokens ({named}); reply to one notification",
            )
        ]
    replied = _replied_token(mail, facts) if token is not None else None
    if replied is None or replied == token:
        return []
    replied_session = facts.token_status(replied).session_id
    if subject_session is None or replied_session is None or subject_session == replied_session:
        return []  # an unknown token is rejected as such; two tokens of one session agree
    return [
        (
            Reason.TOKEN_AMBIGUOUS,
            f"the subject's token #{token} belongs to another session than the notification it replies to (#{replied})",
        )
    ]


def _token_reasons(token: str | None, facts: GateFacts, now: float) -> tuple[list[tuple[Reason, str]], str | None]:
    if token is None:
        return [(Reason.NO_TOKEN, "no session token in the subject and not a reply to one of our mails")], None
    info = facts.token_status(token)
    state = info.state
    expires_at = getattr(info, "expires_at", None)
    if state == "active" and isinstance(expires_at, (int, float)) and now >= expires_at:
        state = "expired"
    if state == "active":
        return [], info.session_id
    if state == "expired":
        return [(Reason.TOKEN_EXPIRED, f"session token {token} has expired")], info.session_id
    if state == "revoked":
        return [(Reason.TOKEN_REVOKED, f"session token {token} was revoked")], info.session_id
    return [(Reason.TOKEN_UNKNOWN, f"unknown session token {token}")], None


def _duplicate_reasons(mail: ParsedMail, facts: GateFacts) -> list[tuple[Reason, str]]:
    found: list[tuple[Reason, str]] = []
    if mail.message_id and facts.message_id_seen(mail.message_id):
        found.append((Reason.DUPLICATE_MESSAGE_ID, f"already processed a mail with Message-ID {mail.message_id}"))
    if facts.mailbox_uid is not None and facts.uid_seen(*facts.mailbox_uid):
        uidvalidity, uid = facts.mailbox_uid
        found.append((Reason.DUPLICATE_UID, f"already processed mailbox UID {uid} (UIDVALIDITY {uidvalidity})"))
    return found


def _sender_reasons(mail: ParsedMail, policy: GatePolicy) -> list[tuple[Reason, str]]:
    if mail.from_count != 1:
        found = "no From header field" if mail.from_count == 0 else f"{mail.from_count} From header fields"
        return [(Reason.FROM_HEADER_COUNT, f"the mail has {found}; exactly one is required")]
    if not mail.from_addr:
        return [(Reason.NO_SENDER, "the From header does not hold exactly one clear address")]
    if mail.from_addr not in policy.allowed_senders:
        return [(Reason.SENDER_NOT_ALLOWED, f"sender {mail.from_addr} is not on the allowlist")]
    return []


def _notes(mail: ParsedMail, cleaned: StrippedCommand) -> list[tuple[Reason, str]]:
    """What was done to the mail to read it: said in the reasons, whatever the verdict."""
    found = [(Reason.CHARSET_FALLBACK, note) for note in mail.notes]
    if cleaned.removed:
        count = cleaned.removed_count
        what = "invisible character" if count == 1 else "invisible characters"
        found.append(
            (Reason.INVISIBLE_REMOVED, f"removed {count} {what} from the command: {cleaned.describe_removed()}")
        )
    return found


def _timestamp(now: float | datetime) -> float:
    return now.timestamp() if isinstance(now, datetime) else float(now)


def decide(mail: ParsedMail, policy: GatePolicy, facts: GateFacts, now: float | datetime) -> Verdict:
    """The verdict for one parsed mail. ``now`` is Unix seconds or an aware datetime."""
    now_ts = _timestamp(now)
    cleaned = sanitize_command_report(mail.command)
    command = cleaned.text
    token = _resolve_token(mail, facts)
    notes = _notes(mail, cleaned)

    def verdict(
        kind: VerdictKind,
        reasons: Sequence[tuple[Reason, str]],
        *,
        session_id: str | None = None,
        danger: DangerMatch | None = None,
        auth_result: str = "",
    ) -> Verdict:
        if kind is not VerdictKind.IGNORED:
            reasons = [*reasons, *notes]
        return Verdict(
            kind=kind,
            reasons=[text for _code, text in reasons],
            command=command,
            token=token,
            danger=danger,
            codes=[code for code, _text in reasons],
            session_id=session_id,
            sender=mail.from_addr,
            message_id=mail.message_id,
            auth_result=auth_result,
        )

    ignored = _ignore_reasons(mail, policy, facts)
    if ignored:
        return verdict(VerdictKind.IGNORED, ignored)

    rejected: list[tuple[Reason, str]] = []
    if mail.problem:
        rejected.append((Reason.UNPARSABLE, f"cannot read the mail: {mail.problem}"))
    rejected += _sender_reasons(mail, policy)
    token_reasons, session_id = _token_reasons(token, facts, now_ts)
    token_reasons += _ambiguity_reasons(mail, token, session_id, facts)
    rejected += token_reasons
    auth_result = ""
    if policy.require_auth:
        passed, auth_result = check_authentication(mail, policy.require_auth)
        if not passed:
            code = Reason.AUTH_MISSING if auth_result.startswith("no Authentication-Results") else Reason.AUTH_FAILED
            rejected.append((code, f"sender authentication failed: {auth_result}"))
    rejected += _duplicate_reasons(mail, facts)
    if not mail.problem and not command:
        rejected.append((Reason.EMPTY_COMMAND, "no command found above the quoted text"))
    if len(command) > policy.max_command_chars:
        limit = policy.max_command_chars
        rejected.append((Reason.TOO_LONG, f"command is {len(command)} characters, more than the limit of {limit}"))
    if session_id is not None and not token_reasons:
        recent = facts.commands_in_last_hour(session_id)
        if recent >= policy.max_commands_per_hour:
            limit = policy.max_commands_per_hour
            text = f"{recent} commands in the last hour for this session (limit {limit})"
            rejected.append((Reason.RATE_LIMITED, text))
    if rejected:
        return verdict(VerdictKind.REJECTED, rejected, session_id=session_id, auth_result=auth_result)

    danger = match_danger(command, policy.extra_danger_patterns)
    if danger is not None:
        reason = (Reason.DANGER, f"matches danger pattern “{danger.name}”: waits for approval at the keyboard")
        return verdict(VerdictKind.BLOCKED, [reason], session_id=session_id, danger=danger, auth_result=auth_result)
    return verdict(VerdictKind.ACCEPTED, [], session_id=session_id, auth_result=auth_result)
