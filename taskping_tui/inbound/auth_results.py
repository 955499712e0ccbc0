"""Authentication-Results (RFC 8601): did the receiving server see a DMARC pass, or an aligned DKIM pass?

Pure string parsing for the gate's ``require_auth`` check. Only the topmost header written by the
configured authserv-id counts, so a forged header further down is never read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from taskping_tui.mail.reply import ParsedMail


@dataclass(frozen=True)
class AuthResult:
    method: str
    result: str
    properties: dict[str, str]


@dataclass(frozen=True)
class AuthenticationResults:
    authserv_id: str
    results: list[AuthResult]


def _strip_comments(value: str) -> str:
    out: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for ch in value:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(ch)
            continue
        if ch == "\\":
            escaped = True
            if depth == 0:
                out.append(ch)
            continue
        if ch == '"' and depth == 0:
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
            continue
        elif not quoted and ch == ")" and depth > 0:
            depth -= 1
            continue
        if depth == 0:
            out.append(ch)
    return "".join(out)


_RESINFO: Final = re.compile(r"\s*([A-Za-z0-9_.-]+)\s*(?:/\s*\d+\s*)?=\s*([A-Za-z0-9_.-]+)(.*)", re.DOTALL)
_PROPERTY: Final = re.compile(r"([A-Za-z0-9_-]+\.[A-Za-z0-9_.-]+)\s*=\s*(\"[^\"]*\"|[^\s;]+)")


def parse_authentication_results(value: str) -> AuthenticationResults | None:
    """Parse one Authentication-Results header value; None when it has no authserv-id."""
    parts = _strip_comments(value).split(";")
    head = parts[0].strip().split()
    if not head:
        return None
    results: list[AuthResult] = []
    for part in parts[1:]:
        found = _RESINFO.match(part)
        if not found:
            continue
        properties = {key.lower(): val.strip('"').lower() for key, val in _PROPERTY.findall(found.group(3))}
        results.append(AuthResult(found.group(1).lower(), found.group(2).lower(), properties))
    return AuthenticationResults(head[0].lower(), results)


def _domain_of(value: str) -> str:
    return value.rsplit("@", 1)[-1].strip().strip(".").lower()


def _aligned(signing_domain: str, from_domain: str) -> bool:
    """DMARC relaxed alignment, without a public-suffix list: same domain or one inside the other."""
    if not signing_domain or not from_domain:
        return False
    if signing_domain == from_domain:
        return True
    if len(from_domain) > len(signing_domain):
        inner, outer = from_domain, signing_domain
    else:
        inner, outer = signing_domain, from_domain
    return "." in outer and inner.endswith("." + outer)


def check_authentication(mail: ParsedMail, authserv_id: str) -> tuple[bool, str]:
    """(passed, summary) for the topmost Authentication-Results header written by ``authserv_id``.

    Headers are in order top → bottom; the receiving server adds its own on top, so a forged header
    with the same authserv-id further down is never looked at.
    """
    from_domain = _domain_of(mail.from_addr) if mail.from_addr else ""
    for value in mail.authentication_results:
        parsed = parse_authentication_results(value)
        if parsed is None or parsed.authserv_id != authserv_id:
            continue
        summary: list[str] = []
        aligned_dkim: str | None = None
        for result in parsed.results:
            if result.method == "dmarc":
                header_from = result.properties.get("header.from", "")
                if result.result == "pass" and (not header_from or _domain_of(header_from) == from_domain):
                    return True, f"dmarc=pass ({authserv_id})"
                summary.append(f"dmarc={result.result}" + (f" for {header_from}" if result.result == "pass" else ""))
            elif result.method == "dkim":
                signer = result.properties.get("header.d") or _domain_of(result.properties.get("header.i", ""))
                if result.result == "pass" and _aligned(_domain_of(signer), from_domain):
                    aligned_dkim = aligned_dkim or signer
                summary.append(f"dkim={result.result}" + (f" for {signer}" if signer else ""))
        if aligned_dkim is not None:
            return True, f"dkim=pass, aligned {aligned_dkim} ({authserv_id})"
        shown = ", ".join(summary) or "no dmarc or dkim result"
        return False, f"{shown} ({authserv_id})"
    return False, f"no Authentication-Results from {authserv_id}"
