"""Server settings and sign-in notes for the mail providers people use most."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Provider:
    key: str
    label: str
    smtp_host: str
    smtp_port: int
    smtp_security: str
    imap_host: str
    imap_port: int
    imap_security: str = "tls"
    send_id: bool = True
    # authserv-id of the provider's Authentication-Results header, for [security] require_auth.
    authserv_id: str = ""
    note: str = ""


PROVIDERS: tuple[Provider, ...] = (
    Provider(
        "gmail", "Gmail", "smtp.gmail.com", 465, "tls", "imap.gmail.com", 993, authserv_id="mx.google.com",
        note="Turn on 2-Step Verification, then create an app password (Google Account → Security → "
             "App passwords) and use it here; your normal password will be refused.",
    ),
    Provider(
        "outlook", "Outlook / Office 365", "smtp.office365.com", 587, "starttls", "outlook.office365.com", 993,
        note="Work and school (Microsoft 365) accounts need SMTP AUTH and IMAP allowed by the admin. "
             "Personal Outlook.com accounts accept only OAuth2 sign-in, which taskping-tui cannot do yet: "
             "use another provider for the service mailbox.",
    ),
    Provider(
        "qq", "QQ Mail", "smtp.qq.com", 465, "tls", "imap.qq.com", 993,
        note="Enable IMAP/SMTP in QQ Mail settings → Account, and use the authorization code (授权码) it "
             "gives you, not your QQ password.",
    ),
    Provider(
        "163", "163 Mail", "smtp.163.com", 465, "tls", "imap.163.com", 993,
        note="Enable IMAP/SMTP in the settings and use the authorization code (授权码). 163 refuses to open "
             "the mailbox unless the client sends the IMAP ID command, which taskping-tui does.",
    ),
    Provider(
        "feishu", "Feishu Mail", "smtp.feishu.cn", 465, "tls", "imap.feishu.cn", 993,
        note="Create a client password in Feishu Mail → Settings → Third-party email client and use it here.",
    ),
    Provider(
        "lark", "Lark Mail", "smtp.larksuite.com", 465, "tls", "imap.larksuite.com", 993,
        note="Create a client password in Lark Mail → Settings → Third-party email client and use it here.",
    ),
    Provider("custom", "Other (enter the servers yourself)", "", 465, "tls", "", 993),
)


def provider(key: str) -> Provider:
    for candidate in PROVIDERS:
        if candidate.key == key:
            return candidate
    raise KeyError(key)


def guess_provider(address: str) -> Provider:
    """The preset matching the address's domain, else the custom one."""
    domain = address.rpartition("@")[2].lower()
    by_domain = {
        "gmail.com": "gmail", "googlemail.com": "gmail", "outlook.com": "outlook", "hotmail.com": "outlook",
        "live.com": "outlook", "qq.com": "qq", "foxmail.com": "qq", "163.com": "163",
    }
    return provider(by_domain.get(domain, "custom"))
