"""Parse one raw reply mail into the facts the gate needs, and extract the command the user typed.

Pure: bytes in, a :class:`ParsedMail` out. Never raises, whatever the bytes: a mail that cannot be read
comes back with ``problem`` set to a reason a person can act on.

The command is the user's *new* text only. Replies carry the quoted notification below a quote header that
every client writes its own way (FIELD-NOTES §6); the separators below were collected from real clients and
are matched line by line. A line that only *contains* ``--`` or starts with ``-`` is never a separator, so
commands such as ``git commit --amend`` or ``--help`` survive.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import dataclasses
import email
import email.policy
import email.utils
import html
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.errors import MisplacedEnvelopeHeaderDefect
from email.message import Message
from html.parser import HTMLParser
from typing import Final

from taskping_tui.mail.tokens import find_tokens_in_subject

logger = logging.getLogger(__name__)

# The line our notification mails put above the quoted text. Replies are cut there.
REPLY_MARKER: Final = "── Reply above this line ──"
REPLY_MARKER_WORDS: Final = ("reply", "above", "this", "line")

# References can be long in old threads; only the newest ones can point at our notifications.
MAX_REFERENCES: Final = 64


@dataclass(frozen=True)
class ParsedMail:
    """Everything the gate and the inbound panel need from one mail."""

    message_id: str | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    from_addr: str = ""  # parsed, lower-cased; "" unless From holds exactly one unambiguous address
    from_count: int = 1  # how many From header fields the mail has (the gate wants exactly one)
    from_display: str = ""
    subject: str = ""
    date: datetime | None = None
    auto_submitted: str | None = None
    precedence: str | None = None
    return_path: str | None = None
    authentication_results: list[str] = field(default_factory=list)  # top → bottom, unfolded
    content_type: str = "text/plain"
    list_id: str | None = None
    autoreply_header: str | None = None  # X-Autoreply / X-Autorespond, used by some responders
    autoreply_text: str | None = None  # why the subject or body reads as an auto-reply without any header
    taskping_session: str | None = None  # X-TaskPing-Session: set only on mails we sent
    text: str = ""  # the whole text part (HTML turned into text), for display
    command: str = ""
    token: str | None = None  # the subject's first token
    subject_tokens: tuple[str, ...] = ()  # every distinct token in the subject (more than one: ambiguous)
    size: int = 0
    problem: str | None = None
    notes: list[str] = field(default_factory=list)  # how an odd mail was still read (e.g. a charset fallback)

    @property
    def replied_ids(self) -> list[str]:
        """The Message-IDs this mail replies to, nearest first: In-Reply-To, then References newest first."""
        return ([self.in_reply_to] if self.in_reply_to else []) + list(reversed(self.references))


# --------------------------------------------------------------------------------------------------
# Charsets
# --------------------------------------------------------------------------------------------------

# Labels mail clients write, mapped to the codec that actually decodes what they send.
_CHARSET_ALIASES: Final[dict[str, str]] = {
    # Parts labelled gb2312 / gbk often hold characters only GBK / GB18030 has.
    "gb2312": "gb18030",
    "gb_2312": "gb18030",
    "gb_2312-80": "gb18030",
    "csgb2312": "gb18030",
    "euc-cn": "gb18030",
    "x-euc-cn": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "windows-936": "gb18030",
    "big5": "big5",
    "x-big5": "big5",
    "cn-big5": "big5",
    "csbig5": "big5",
    "big5-hkscs": "big5",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "ansi_x3.4-1968": "utf-8",
    "utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
    "tis-620": "cp874",
    "windows-874": "cp874",
}
# If the labelled codec rejects the bytes, these supersets are tried before decoding with replacement.
_CHARSET_FALLBACKS: Final[dict[str, tuple[str, ...]]] = {
    "big5": ("big5", "cp950", "big5hkscs"),
    "utf-8": ("utf-8", "gb18030"),
}
# Python codecs that are not mail charsets (they interpret escapes or are not byte → text decoders).
_REFUSED_CODECS: Final = frozenset(
    {"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined", "mbcs", "oem"}
)


def resolve_charset(label: str | None) -> str | None:
    """Return the codec name to decode a part labelled ``label`` with, or None for an unknown charset."""
    if not label:
        return "utf-8"
    name = label.strip().strip("\"'").lower()
    name = _CHARSET_ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True):
        return None
    if info.name.replace("_", "-") in _REFUSED_CODECS:
        return None
    return info.name


def decode_bytes(data: bytes, codec: str) -> str:
    """Decode ``data`` with ``codec`` (a name from :func:`resolve_charset`), falling back to supersets."""
    for candidate in _CHARSET_FALLBACKS.get(codec, (codec,)):
        try:
            return data.decode(candidate)
        except (UnicodeError, LookupError):
            continue
    try:
        return data.decode(codec, errors="replace")
    except (UnicodeError, LookupError):
        return data.decode("utf-8", errors="replace")


_ESCAPED_BYTE: Final = re.compile("[\udc80-\udcff]")


def _surrogates_to_text(value: str) -> str:
    """Headers with raw 8-bit bytes arrive with surrogate escapes; decode them as UTF-8 or GB18030."""
    if not _ESCAPED_BYTE.search(value):
        return value
    raw = value.encode("utf-8", errors="surrogateescape")
    return decode_bytes(raw, "utf-8")


# --------------------------------------------------------------------------------------------------
# Headers
# --------------------------------------------------------------------------------------------------

_FOLD: Final = re.compile(r"\r?\n(?=[ \t])")
_ENCODED_WORD: Final = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=")
_MESSAGE_ID: Final = re.compile(r"<([^<>\s]+)>")
_CONTROL_IN_HEADER: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def unfold(value: str) -> str:
    return _FOLD.sub("", value).replace("\r", "").replace("\n", " ")


def _decode_encoded_word_payload(encoding: str, payload: str) -> bytes | None:
    try:
        if encoding in "bB":
            padded = payload + "=" * (-len(payload) % 4)
            return base64.b64decode(padded.encode("ascii", errors="replace"), validate=False)
        text = payload.replace("_", " ")
        return _decode_quoted_printable_word(text)
    except (binascii.Error, ValueError):
        return None


def _decode_quoted_printable_word(text: str) -> bytes:
    out = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        hex_pair = text[i + 1 : i + 3]
        if ch == "=" and len(hex_pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in hex_pair):
            out.append(int(hex_pair, 16))
            i += 3
            continue
        out.extend(ch.encode("utf-8", errors="replace"))
        i += 1
    return bytes(out)


def decode_header_text(value: str | None) -> str:
    """Decode an unstructured header (RFC 2047), joining adjacent words of one charset first.

    Joining first matters: clients split a UTF-8 or GB18030 character across two encoded words.
    Encoded words in an unknown charset are kept as written.
    """
    if not value:
        return ""
    value = _surrogates_to_text(unfold(value))
    pieces: list[str] = []
    pending: bytearray = bytearray()
    pending_codec: str | None = None
    position = 0

    def flush() -> None:
        nonlocal pending, pending_codec
        if pending_codec is not None:
            pieces.append(decode_bytes(bytes(pending), pending_codec))
        pending = bytearray()
        pending_codec = None

    for match in _ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        codec = resolve_charset(match.group(1))
        payload = _decode_encoded_word_payload(match.group(2), match.group(3))
        # Whitespace between two encoded words is not part of the text (RFC 2047 §6.2).
        if between and not (between.isspace() and pending_codec is not None):
            flush()
            pieces.append(between)
        if codec is None or payload is None:
            flush()
            pieces.append(match.group(0))
        elif pending_codec == codec:
            pending.extend(payload)
        else:
            flush()
            pending_codec = codec
            pending.extend(payload)
        position = match.end()
    flush()
    pieces.append(value[position:])
    return _CONTROL_IN_HEADER.sub("", "".join(pieces)).strip()


def normalize_message_id(value: str | None) -> str | None:
    """Return the first ``<id>`` in a Message-ID / In-Reply-To value, angle brackets included."""
    if not value:
        return None
    value = unfold(value)
    match = _MESSAGE_ID.search(value)
    if match:
        return f"<{match.group(1)}>"
    bare = value.strip()
    if bare and "@" in bare and not any(ch.isspace() for ch in bare) and len(bare) <= 998:
        return f"<{bare}>"
    return None


def message_ids(value: str | None) -> list[str]:
    """All ``<id>`` values of a References header, oldest first (only the newest MAX_REFERENCES)."""
    if not value:
        return []
    found = [f"<{m.group(1)}>" for m in _MESSAGE_ID.finditer(unfold(value))]
    return found[-MAX_REFERENCES:]


_ADDR_SPEC: Final = re.compile(r"[^\s@<>()\[\],;:\"\\]+@[^\s@<>()\[\],;:\"\\]+")


def parse_from(raw_value: str | None) -> tuple[str, str]:
    """Return (address lower-cased, display name) for a From header value.

    The address is "" unless the header holds exactly one address and two independent parsers (the
    legacy ``email.utils`` one and the RFC 5322 parser of ``email.headerregistry``) agree on it: mails
    crafted to be read differently by different parsers are a known way to spoof a sender.
    """
    if not raw_value:
        return "", ""
    value = unfold(_surrogates_to_text(raw_value))
    legacy = [addr for _name, addr in email.utils.getaddresses([value]) if addr]
    try:
        header = email.policy.default.header_factory("From", value)
        modern = [(a.display_name, a.addr_spec) for a in header.addresses]
    except Exception:  # the header parser raises assorted errors on hostile input
        modern = []
    display = decode_header_text(modern[0][0]) if len(modern) == 1 else ""
    if len(legacy) != 1 or len(modern) != 1:
        return "", display or decode_header_text(value)
    address = legacy[0].strip().lower()
    if address != modern[0][1].strip().lower() or not _ADDR_SPEC.fullmatch(address):
        return "", display or decode_header_text(value)
    return address, display


def _first_header(headers: list[tuple[str, str]], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers:
        if key.lower() == lowered:
            return value
    return None


def _all_headers(headers: list[tuple[str, str]], name: str) -> list[str]:
    lowered = name.lower()
    return [value for key, value in headers if key.lower() == lowered]


def _header_token(value: str | None) -> str | None:
    """The first word of a header like Auto-Submitted / Precedence, lower-cased, comments dropped."""
    if value is None:
        return None
    cleaned = re.sub(r"\([^()]*\)", " ", unfold(_surrogates_to_text(value))).strip().lower()
    return cleaned.split(";", 1)[0].strip()


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(unfold(value).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


# --------------------------------------------------------------------------------------------------
# HTML → text
# --------------------------------------------------------------------------------------------------

_BLOCK_TAGS: Final = frozenset(
    [
        "address",
        "article",
        "aside",
        "center",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "ul",
    ]
)
_SKIPPED_TAGS: Final = frozenset(
    ["head", "script", "style", "template", "title", "noscript", "object", "iframe", "svg"]
)
_VOID_TAGS: Final = frozenset(
    ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"]
)
# Containers that webmail clients put the quoted message in (Gmail, Yahoo, Outlook web / desktop).
_QUOTE_CLASSES: Final = frozenset({"gmail_quote", "yahoo_quoted", "moz-cite-prefix"})
_QUOTE_IDS: Final = frozenset({"divrplyfwdmsg", "appendonsend", "olk_src_body_section"})
_HIDDEN_STYLE: Final = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
# A line the command extractor treats as the start of a quote, like a plain-text "> " line.
_QUOTE_SENTINEL: Final = ">"


class _HtmlToText(HTMLParser):
    """Turns a reply's HTML into the text a person sees; quoted blocks become a single "> " line."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._out: list[str] = []
        self._stack: list[tuple[str, bool]] = []  # (tag, hides its content)
        self._hidden_depth = 0
        self._pre_depth = 0

    def _ends_with_newline(self) -> bool:
        for chunk in reversed(self._out):
            if chunk:
                return chunk.endswith("\n")
        return True

    def _newline(self) -> None:
        if not self._ends_with_newline():
            self._out.append("\n")

    def _quote_line(self) -> None:
        self._newline()
        self._out.append(_QUOTE_SENTINEL + "\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        tag = tag.lower()
        if self._hidden_depth:
            if tag not in _VOID_TAGS:
                self._stack.append((tag, False))
            return
        attributes = {key.lower(): (value or "") for key, value in attrs}
        classes = set(attributes.get("class", "").lower().split())
        element_id = attributes.get("id", "").lower()
        if tag == "br":
            self._out.append("\n")
            return
        if tag in _BLOCK_TAGS:
            self._newline()
        elif tag in ("td", "th") and not self._ends_with_newline():
            self._out.append(" ")
        if tag in _VOID_TAGS:
            return
        hides = False
        if tag == "blockquote" or classes & _QUOTE_CLASSES:
            self._quote_line()
            hides = True
        elif element_id in _QUOTE_IDS:
            self._quote_line()
        elif tag in _SKIPPED_TAGS or _HIDDEN_STYLE.search(attributes.get("style", "")) or "hidden" in attributes:
            hides = True
        if tag == "pre":
            self._pre_depth += 1
        self._stack.append((tag, hides))
        if hides:
            self._hidden_depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag.lower() not in _VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        tag = tag.lower()
        if not any(open_tag == tag for open_tag, _ in self._stack):
            return  # a stray end tag: ignore it rather than unbalance the stack
        while self._stack:
            open_tag, hides = self._stack.pop()
            if hides:
                self._hidden_depth -= 1
            if open_tag == "pre":
                self._pre_depth -= 1
            if open_tag == tag:
                break
        if tag in _BLOCK_TAGS and not self._hidden_depth:
            self._newline()

    def handle_data(self, data: str) -> None:
        if self._hidden_depth or not data:
            return
        if self._pre_depth:
            self._out.append(data)
            return
        collapsed = re.sub(r"[ \t\r\n\f]+", " ", data)
        if self._ends_with_newline():
            collapsed = collapsed.lstrip(" ")
        if collapsed:
            self._out.append(collapsed)

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in "".join(self._out).split("\n"))


def html_to_text(html: str) -> str:
    """Text of an HTML mail body: blocks and <br> become newlines, quoted blocks a single ">" line."""
    parser = _HtmlToText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # html.parser is lenient, but an assertion on odd markup must not escape
        logger.debug("HTML body could not be fully parsed; using what was read", exc_info=True)
    return parser.text()


# --------------------------------------------------------------------------------------------------
# Command extraction
# --------------------------------------------------------------------------------------------------

_SPACE_LIKE: Final = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2028": "\n", "\u2029": "\n"})
_EDGE_JUNK: Final = " \t\n\u200b\u200c\u200d\u2060\ufeff\u180e"

_SENT_FROM: Final = re.compile(
    r"(?:sent from my [\w .'\-]{1,40}"
    r"|sent from (?:mail|outlook|yahoo mail|my mobile) for [\w .]{1,30}"
    r"|sent from (?:outlook|yahoo mail|gmail|proton mail|protonmail|mail)(?: for \w+)?"
    r"|sent with (?:proton mail|spark)[\w .]{0,30}"
    r"|get outlook for (?:ios|android)\b.{0,120}"
    r"|发自我的\s?\S{1,20}"
    r"|发自\S{1,20}(?:邮箱|邮件|客户端)\S{0,10}"
    r"|来自\S{1,20}(?:邮箱|邮件|客户端)\S{0,10}"
    r"|從我的\s?\S{1,20}傳送"
    r"|从我的\s?\S{1,20}发送)",
    re.IGNORECASE,
)
# Outlook for iOS / Android signs with a line in the user's language, linking to aka.ms: a line naming
# Outlook and the phone OS with that link, or one of the localised phrases without it.
_OUTLOOK_MOBILE: Final = re.compile(
    r"(?=[^\n]*\boutlook\b)(?=[^\n]*\b(?:ios|android)\b)[^\n]{0,120}?<?https?://aka\.ms/[\w-]+>?"
    r"|(?:get|获取|獲取|取得|下载|下載|obtenir|obtener|obter|baixe|baixar|scarica|download|pobierz|получить|скачать)"
    r"\s*(?:o\s+|l'|de\s+)?outlook\s*(?:for|für|pour|para|per|voor|dla|для)?\s*(?:ios|android)"
    r"|outlook\s+(?:for|für)\s+(?:ios|android)\s*(?:beziehen|herunterladen|다운로드|받기|を入手)"
    r"|(?:ios|android)\s*版?\s*(?:の\s*)?outlook\s*を?入手",
    re.IGNORECASE,
)
# "----- Original Message -----" style lines: one of these phrases between runs of dashes.
_SEPARATOR_PHRASES: Final = frozenset(
    {
        "original message",
        "original",
        "replied message",
        "forwarded message",
        "reply message",
        "原始邮件",
        "原邮件",
        "邮件原文",
        "回复的原邮件",
        "回复邮件",
        "转发邮件",
        "转发的邮件",
        "原始郵件",
        "轉寄郵件",
    }
)
_DECORATION: Final = " \t-_=*"
_RULE_LINE: Final = re.compile(r"\s*(?:_{8,}|-{8,}|={8,})\s*")
_HEADER_FROM: Final = re.compile(r"\s*\*?\s*(?:from|发件人|寄件者|寄件人|發件人)\s*\*?\s*[:：]", re.IGNORECASE)
_HEADER_OTHER: Final = re.compile(
    r"\s*\*?\s*(?:sent|date|to|cc|subject|发送时间|时间|日期|收件人|抄送|主题|主旨|傳送時間|寄件日期|收件者|副本)"
    r"\s*\*?\s*[:：]",
    re.IGNORECASE,
)
_ONE_LINE_HEADER: Final = re.compile(
    r"\s*\*?(?:from|发件人)\s*\*?[:：].{1,200}\s\*?(?:sent|date|发送时间|时间)\s*\*?[:：]", re.IGNORECASE
)
_ATTRIBUTION_END: Final = re.compile(
    r"(?:.*(?:\bwrote|\bwrites|写道|寫道|\ba écrit|\bschrieb|\bescribió|\bha scritto|\bescreveu|\bschreef)"
    r"|am\s.+\bschrieb\b.+)\s*[:：]\s*",  # German puts the name after the verb: "Am … schrieb X <x@y>:"
    re.IGNORECASE,
)
_ATTRIBUTION_START: Final = re.compile(
    r"\s*(?:on\s|am\s|le\s|el\s|il\s|em\s|op\s|在|于|於|\d{1,4}\s*[年/.\-]|(?:周|星期|週)|"
    r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s)",
    re.IGNORECASE,
)
_FULL_ADDRESS: Final = re.compile(r"<[^<>\s]+@[^<>\s]+>")
_TIME: Final = re.compile(r"\d{1,2}:\d{2}")
_ZH_DATED: Final = re.compile(r"(?:于|於)\s*\d")


def _prepare_lines(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_SPACE_LIKE)
    return [line.rstrip() for line in text.split("\n")]


def _is_quote(line: str) -> bool:
    return line.lstrip().startswith(">")


def _is_marker(line: str) -> bool:
    bare = line.lstrip(" >\t")
    if bare.strip() == REPLY_MARKER:
        return True
    if "line" not in bare.lower():
        return False
    words = re.sub(r"[^A-Za-z]+", " ", bare).lower().split()
    size = len(REPLY_MARKER_WORDS)
    for start in range(len(words) - size + 1):
        if tuple(words[start : start + size]) == REPLY_MARKER_WORDS:
            # Only mojibake leftovers ("â", "E2" from broken box-drawing) may sit around the words;
            # a sentence that merely mentions them is the user's text.
            others = words[:start] + words[start + size :]
            return all(len(word) <= 2 for word in others)
    return False


def _unescaped(line: str) -> str:
    """Webmail text parts (QQ Mail) can keep HTML entities: ``---&nbsp;原始邮件&nbsp;---``."""
    if "&" not in line:
        return line
    return html.unescape(line).translate(_SPACE_LIKE)


def _is_separator(line: str) -> bool:
    """A line like ``-----Original Message-----`` or ``------------------ 原始邮件 ------------------``."""
    stripped = _unescaped(line).strip()
    core = stripped.strip(_DECORATION)
    if not core or " ".join(core.lower().split()) not in _SEPARATOR_PHRASES:
        return False
    head, _, tail = stripped.partition(core)
    return "--" in head and "--" in tail


def _is_signature(line: str) -> bool:
    """The "-- " signature delimiter (trailing blanks are often lost, so "--" alone counts too)."""
    return line.rstrip(" \t") == "--"


def _is_header_block(lines: list[str], i: int) -> bool:
    line = _unescaped(lines[i])
    if _ONE_LINE_HEADER.match(line):
        return True
    if not _HEADER_FROM.match(line):
        return False
    following = [_unescaped(line) for line in lines[i + 1 : i + 8] if line.strip()][:5]
    return any(_HEADER_OTHER.match(line) for line in following)


def _attribution_complete(line: str) -> bool:
    """True when an attribution line stands on its own (not the tail of one wrapped over two lines)."""
    if _ATTRIBUTION_START.match(line) or _ZH_DATED.search(line):
        return True
    return bool(_FULL_ADDRESS.search(line) and _TIME.search(line))


def _attribution_start(lines: list[str], i: int, floor: int) -> int:
    """Index where the attribution ending on line ``i`` begins (it may be wrapped onto two lines)."""
    if _attribution_complete(lines[i]):
        return i
    previous = i - 1
    if previous >= floor and lines[previous].strip() and not _is_quote(lines[previous]):
        head = lines[previous]
        # The wrapped head carries the date; without a digit it is more likely the user's own line.
        if _ATTRIBUTION_START.match(head) and re.search(r"\d", head) and len(head) + len(lines[i]) <= 400:
            return previous
    return i


def _step_over_rule(lines: list[str], i: int, floor: int) -> int:
    """Include a "_____" / "-----" rule line (Outlook) that sits right above a quote header."""
    j = i - 1
    while j >= floor and not lines[j].strip():
        j -= 1
    if (
        j >= floor
        and len(lines[j]) <= _MAX_SEPARATOR_LINE
        and (_RULE_LINE.fullmatch(lines[j]) or _is_separator(lines[j]))
    ):
        return j
    return i


@dataclass(frozen=True)
class _Cut:
    index: int
    kind: str  # "quote" | "attribution" | "marker" | "signature" | "sent-from" | "separator" | "header" | "end"


# Separator lines are short. Longer lines are the user's text, and skipping them keeps the regular
# expressions (some backtrack on long runs of dashes) far from pathological input.
_MAX_SEPARATOR_LINE: Final = 400


def _find_cut(lines: list[str], start: int) -> _Cut:
    for i in range(start, len(lines)):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            continue
        if _is_quote(line):
            return _Cut(i, "quote")
        if len(stripped) > _MAX_SEPARATOR_LINE:
            continue
        if _is_marker(line):
            return _Cut(i, "marker")
        if _is_signature(line):
            return _Cut(i, "signature")
        if _SENT_FROM.fullmatch(stripped) or _OUTLOOK_MOBILE.fullmatch(stripped):
            return _Cut(i, "sent-from")
        if _is_separator(line):
            return _Cut(i, "separator")
        if _is_header_block(lines, i):
            return _Cut(_step_over_rule(lines, i, start), "header")
        if _ATTRIBUTION_END.fullmatch(stripped):
            return _Cut(_attribution_start(lines, i, start), "attribution")
    return _Cut(len(lines), "end")


def _tidy(lines: list[str]) -> str:
    return "\n".join(lines).strip(_EDGE_JUNK)


def _bottom_posted(lines: list[str], cut: _Cut) -> str:
    """The new text of a reply written below the quote (mutt style), when nothing was written above."""
    i = cut.index
    if cut.kind == "attribution":
        i += 1
        while i < len(lines) and (not lines[i].strip() or _ATTRIBUTION_END.fullmatch(lines[i].strip())):
            i += 1
    if i >= len(lines) or not _is_quote(lines[i]):
        return ""
    while i < len(lines) and (_is_quote(lines[i]) or not lines[i].strip()):
        i += 1
    end = _find_cut(lines, i)
    return _tidy(lines[i : end.index])


def extract_command(text: str) -> str:
    """The user's new text in a reply body: everything above the first quote header or signature.

    Falls back to the text below the quote when nothing was written above it (bottom posting).
    """
    lines = _prepare_lines(text)
    cut = _find_cut(lines, 0)
    command = _tidy(lines[: cut.index])
    if command or cut.kind not in ("quote", "attribution"):
        return command
    return _bottom_posted(lines, cut)


def unflow(text: str, delsp: bool) -> str:
    """Undo RFC 3676 format=flowed soft line breaks so a long command is one line again."""
    out: list[str] = []
    joining = False
    for line in text.replace("\r\n", "\n").split("\n"):
        is_signature = line == "-- "
        quoted = line.startswith(">")
        if line.startswith(" ") and not quoted:
            line = line[1:]  # space-stuffing
        if joining and not quoted and not is_signature:
            out[-1] += line
        else:
            out.append(line)
        soft = line.endswith(" ") and not is_signature and not quoted
        if soft and delsp:
            out[-1] = out[-1][:-1]
        joining = soft
    return "\n".join(out)


# --------------------------------------------------------------------------------------------------
# Body
# --------------------------------------------------------------------------------------------------


class _BodyProblem(Exception):
    """A body that cannot be read, with the reason shown to the user."""


def _fallback_codec(payload: bytes) -> str | None:
    """A codec that reads ``payload`` without guessing: ASCII when it is 7-bit, UTF-8 when it is valid UTF-8."""
    if payload.isascii():
        return "ascii"
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "utf-8"


def _decode_part(part: Message, kind: str, notes: list[str], *, allow_fallback: bool) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = b""
    label = part.get_content_charset()
    codec = resolve_charset(label)
    if codec is None:
        if not allow_fallback:
            raise _BodyProblem(f"unknown charset {label!r} in {kind} part")
        codec = _fallback_codec(payload)
        if codec is None:
            raise _BodyProblem(f"unknown charset {label!r} in {kind} part, and its bytes are neither ASCII nor UTF-8")
        shown = "ASCII" if codec == "ascii" else "UTF-8"
        notes.append(f"unknown charset {label!r} in the {kind} part: its bytes are plain {shown}, read as {shown}")
    text = decode_bytes(payload, codec)
    if kind == "text" and str(part.get_param("format", "") or "").lower() == "flowed":
        delsp = str(part.get_param("delsp", "") or "").lower() == "yes"
        text = unflow(text, delsp)
    return text


def _is_attachment(part: Message) -> bool:
    disposition = str(part.get("Content-Disposition", "") or "")
    return disposition.split(";", 1)[0].strip().lower() == "attachment"


def _subparts(part: Message) -> list[Message]:
    payload = part.get_payload()
    return [sub for sub in payload if isinstance(sub, Message)] if isinstance(payload, list) else []


def _text_parts(msg: Message) -> list[Message]:
    """Inline text/plain and text/html parts in reading order, not looking inside attached messages."""
    found: list[Message] = []
    stack = [msg]
    while stack:
        part = stack.pop()
        if part.get_content_maintype() == "multipart":
            stack.extend(reversed(_subparts(part)))
        elif part.get_content_type() in ("text/plain", "text/html") and not _is_attachment(part):
            found.append(part)
    return found


def _leaf_types(msg: Message) -> list[str]:
    """Content types of the leaves of the MIME tree; an attached message counts as one leaf."""
    if msg.get_content_maintype() != "multipart":
        return [msg.get_content_type()]
    return [leaf for part in _subparts(msg) for leaf in _leaf_types(part)]


def _missing_text_problem(msg: Message) -> str:
    leaves = _leaf_types(msg)
    if msg.get_content_type() == "message/rfc822" or (leaves and all(t == "message/rfc822" for t in leaves)):
        return "no text part: the mail only holds an attached message (message/rfc822)"
    shown = ", ".join(sorted(set(leaves))) or "nothing"
    return f"no text part (the mail holds {shown})"


def _read_body(msg: Message, notes: list[str]) -> tuple[str, str | None]:
    """(text, problem) for the mail's body: the first text/plain part, else the first HTML part as text.

    A part whose charset label is unknown is read only when no part with a known charset can be, and
    then only when its bytes are plain ASCII or valid UTF-8 (said in ``notes``).
    """
    parts = _text_parts(msg)
    plain = next((p for p in parts if p.get_content_type() == "text/plain"), None)
    html = next((p for p in parts if p.get_content_type() == "text/html"), None)
    candidates = [(part, kind) for part, kind in ((plain, "text"), (html, "HTML")) if part is not None]
    problems: list[str] = []
    for allow_fallback in (False, True):
        for part, kind in candidates:
            try:
                text = _decode_part(part, kind, notes, allow_fallback=allow_fallback)
            except _BodyProblem as exc:
                if allow_fallback:
                    problems.append(str(exc))
                continue
            if kind == "HTML":
                return html_to_text(text), None
            if text.strip() or html is None:
                return text, None
    if problems:
        return "", problems[0]
    return "", _missing_text_problem(msg)


# --------------------------------------------------------------------------------------------------
# Auto-replies without an auto-reply header
# --------------------------------------------------------------------------------------------------

# Subject prefixes that responders (QQ, 163, Outlook, Exchange, Gmail vacation in several languages)
# write instead of "Re:". A person's reply starts with "Re:" / "回复：", never with these.
_AUTO_REPLY_SUBJECT: Final = re.compile(
    r"\s*(?:自动回复|自動回覆|自動回復|自动答复|自動應答|自动应答|假期自动回复|休假自动回复|"
    r"auto(?:matic)?[ -]?repl(?:y|ied)|auto[ -]?response|out of (?:the )?office(?: reply)?|"
    r"abwesenheitsnotiz|automatische antwort|réponse automatique|respuesta automática|risposta automatica|"
    r"resposta automática|自動返信)\s*[:：]",
    re.IGNORECASE,
)
# Fixed sentences responders put in the body when the subject is left alone.
_AUTO_REPLY_SENTENCES: Final = (
    "这是来自QQ邮箱的假期自动回复邮件",
    "這是來自QQ郵箱的假期自動回覆郵件",
    "this is an automatic reply from qq mail",
    "这是一封自动回复邮件",
    "此邮件为自动回复",
)


def auto_reply_text(subject: str, text: str) -> str | None:
    """Why a mail without auto-reply headers still reads as an auto-reply, or None."""
    prefix = _AUTO_REPLY_SUBJECT.match(subject)
    if prefix:
        return f"automatic reply (subject starts with {prefix.group(0).strip()!r})"
    head = " ".join(text[:2000].split()).lower()
    for sentence in _AUTO_REPLY_SENTENCES:
        if sentence.lower() in head:
            return f"automatic reply (the body says {sentence!r})"
    return None


# --------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------


def _raw_headers(msg: Message) -> list[tuple[str, str]]:
    return [(str(name), str(value)) for name, value in msg.raw_items()]


_SURROGATE: Final = re.compile("[\ud800-\udfff]")
# "From : x@y" is a From field to lenient readers; Python files it as a misplaced envelope line.
_MISPLACED_FROM: Final = re.compile(r"\s*from\s*:", re.IGNORECASE)


def _storable(value: str) -> str:
    """Text that encodes as UTF-8 (SQLite, JSON, the screen): leftover surrogates become U+FFFD."""
    return _SURROGATE.sub("\ufffd", _surrogates_to_text(value))


def _scrub(mail: ParsedMail) -> ParsedMail:
    changes: dict[str, object] = {}
    for item in dataclasses.fields(mail):
        value = getattr(mail, item.name)
        if isinstance(value, str):
            changes[item.name] = _storable(value)
        elif isinstance(value, list):
            changes[item.name] = [_storable(v) if isinstance(v, str) else v for v in value]
    return dataclasses.replace(mail, **changes)  # type: ignore[arg-type]


def parse_mail(raw: bytes) -> ParsedMail:
    """Parse one RFC 822 mail. Never raises: unreadable input gives a ParsedMail with ``problem`` set."""
    data = bytes(raw)
    try:
        return _scrub(_parse(data))
    except Exception as exc:  # any input bytes must give a verdict, never crash the watcher
        logger.warning("mail of %d bytes could not be parsed: %s", len(data), type(exc).__name__)
        return ParsedMail(size=len(data), problem=f"unparsable mail ({type(exc).__name__})")


def _parse(data: bytes) -> ParsedMail:
    # compat32 keeps headers as the raw strings we parse ourselves; the RFC 5322 header objects of
    # policy.default cost ~1 ms per mail and a fuzzed mail can make them raise on access.
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    headers = _raw_headers(msg)
    from_addr, from_display = parse_from(_first_header(headers, "From"))
    # A second From field is a classic spoof: one reader checks the first, a person sees the other.
    from_count = sum(1 for name, _value in headers if name.strip().lower() == "from") + sum(
        1
        for defect in msg.defects
        if isinstance(defect, MisplacedEnvelopeHeaderDefect) and _MISPLACED_FROM.match(str(defect))
    )
    if from_count != 1:
        from_addr = ""
    subject = decode_header_text(_first_header(headers, "Subject"))
    subject_tokens = find_tokens_in_subject(subject)
    # More than one Subject field: some client shows another one, so every field's tokens count.
    subjects = _all_headers(headers, "Subject")
    if len(subjects) > 1:
        found = (token for value in subjects for token in find_tokens_in_subject(decode_header_text(value)))
        subject_tokens = tuple(dict.fromkeys((*subject_tokens, *found)))
    return_path = _first_header(headers, "Return-Path")
    notes: list[str] = []
    try:
        text, problem = _read_body(msg, notes)
    except Exception as exc:  # a structurally broken MIME tree: keep the headers, report the body
        logger.debug("mail body unreadable", exc_info=True)
        text, problem = "", f"unreadable mail body ({type(exc).__name__})"
    command = extract_command(text) if problem is None else ""
    return ParsedMail(
        message_id=normalize_message_id(_first_header(headers, "Message-ID")),
        in_reply_to=normalize_message_id(_first_header(headers, "In-Reply-To")),
        references=message_ids(_first_header(headers, "References")),
        from_addr=from_addr,
        from_count=from_count,
        from_display=from_display,
        subject=subject,
        date=_parse_date(_first_header(headers, "Date")),
        auto_submitted=_header_token(_first_header(headers, "Auto-Submitted")),
        precedence=_header_token(_first_header(headers, "Precedence")),
        return_path=unfold(return_path).strip() if return_path is not None else None,
        authentication_results=[
            unfold(_surrogates_to_text(v)).strip() for v in _all_headers(headers, "Authentication-Results")
        ],
        content_type=msg.get_content_type(),
        list_id=_first_header(headers, "List-Id"),
        autoreply_header=_first_header(headers, "X-Autoreply") or _first_header(headers, "X-Autorespond"),
        autoreply_text=auto_reply_text(subject, text),
        taskping_session=_first_header(headers, "X-TaskPing-Session"),
        text=text,
        command=command,
        token=subject_tokens[0] if subject_tokens else None,
        subject_tokens=subject_tokens,
        size=len(data),
        problem=problem,
        notes=notes,
    )
