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
    # Address domains served by this provider (used to tell when a typed address no longer fits it).
    domains: tuple[str, ...] = ()


PROVIDERS: tuple[Provider, ...] = (
    Provider(
        "gmail",
        "Gmail",
        "smtp.gmail.com",
        465,
        "tls",
        "imap.gmail.com",
        993,
        authserv_id="mx.google.com",
        domains=("gmail.com", "googlemail.com"),
        note="Turn on 2-Step Verification, then create an app password (Google Account → Security → "
        "App passwords) and use it here; your normal password will be refused.",
    ),
    Provider(
        "outlook",
        "Outlook / Office 365",
        "smtp.office365.com",
        587,
        "starttls",
        "outlook.office365.com",
        993,
        domains=("outlook.com", "hotmail.com", "live.com"),
        note="Work and school (Microsoft 365) accounts need SMTP AUTH and IMAP allowed by the admin. "
        "Personal Outlook.com accounts accept only OAuth2 sign-in, which taskping-tui cannot do yet: "
        "use another provider for the service mailbox.",
    ),
    Provider(
        "qq",
        "QQ Mail",
        "smtp.qq.com",
        465,
        "tls",
        "imap.qq.com",
        993,
        domains=("qq.com", "foxmail.com"),
        note="Enable IMAP/SMTP in QQ Mail settings → Account, and use the authorization code (授权码) it "
        "gives you, not your QQ password.",
    ),
    Provider(
        "163",
        "163 Mail",
        "smtp.163.com",
        465,
        "tls",
        "imap.163.com",
        993,
        domains=("163.com",),
        note="Enable IMAP/SMTP in the settings and use the authorization code (授权码). 163 refuses to open "
        "the mailbox unless the client sends the IMAP ID command, which taskping-tui does.",
    ),
    Provider(
        "feishu",
        "Feishu Mail",
        "smtp.feishu.cn",
        465,
        "tls",
        "imap.feishu.cn",
        993,
        note="Create a client password in Feishu Mail → Settings → Third-party email client and use it here.",
    ),
    Provider(
        "lark",
        "Lark Mail",
        "smtp.larksuite.com",
        465,
        "tls",
        "imap.larksuite.com",
        993,
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
    for candidate in PROVIDERS:
        if domain in candidate.domains:
            return candidate
    return provider("custom")


def address_fits(chosen: Provider, address: str) -> bool:
    """False once the typed address's domain can no longer be one of the preset's (custom fits anything).

    A domain still being typed ("bot@gm") fits while it is the start of one of the preset's domains. A
    preset without known domains (Feishu, Lark: companies use their own) fits any address.
    """
    if chosen.key == "custom" or not chosen.domains or "@" not in address:
        return True
    domain = address.rpartition("@")[2].strip().lower()
    return any(known.startswith(domain) for known in chosen.domains)


def servers_fit(chosen: Provider, smtp_host: str, smtp_port: str, imap_host: str, imap_port: str) -> bool:
    """True while the four server fields still hold the preset's values (custom fits anything)."""
    if chosen.key == "custom":
        return True
    typed = (smtp_host.strip().lower(), smtp_port.strip(), imap_host.strip().lower(), imap_port.strip())
    return typed == (chosen.smtp_host, str(chosen.smtp_port), chosen.imap_host, str(chosen.imap_port))


def provider_for_imap_host(host: str) -> Provider | None:
    host = host.strip().lower().rstrip(".")
    for candidate in PROVIDERS:
        if candidate.imap_host and host == candidate.imap_host:
            return candidate
    return None


def _provider_for_authserv_id(authserv_id: str) -> Provider | None:
    wanted = authserv_id.strip().lower()
    for candidate in PROVIDERS:
        if candidate.authserv_id and wanted == candidate.authserv_id:
            return candidate
    return None


@dataclass(frozen=True)
class RequireAuthFit:
    """Does [security] require_auth name the server that receives mail for the IMAP host? ``fits`` is
    None when nothing is known about either (a self-hosted server): then only the user can tell."""

    fits: bool | None
    detail: str
    fix: str = ""


def require_auth_fit(require_auth: str, imap_host: str) -> RequireAuthFit:
    """Whether replies can pass ``require_auth`` when the mailbox is read from ``imap_host``.

    The gate trusts only the topmost Authentication-Results header written by ``require_auth``; a
    mailbox at another provider never gets such a header, so every reply is rejected.
    """
    wanted = require_auth.strip().lower()
    by_host = provider_for_imap_host(imap_host)
    if not wanted:
        if by_host is not None and by_host.authserv_id:
            return RequireAuthFit(
                None,
                f"require_auth is off; {by_host.label} writes Authentication-Results "
                f'as {by_host.authserv_id!r}: require_auth = "{by_host.authserv_id}" '
                "also rejects replies with a forged From:",
            )
        return RequireAuthFit(None, "require_auth is off: replies are trusted by sender address and token only")
    by_auth = _provider_for_authserv_id(wanted)
    if by_auth is not None and (by_host is None or by_host.key != by_auth.key):
        return RequireAuthFit(
            False,
            f"require_auth = {wanted!r} is {by_auth.label}'s, but mail is read from {imap_host or '(no host)'}: "
            "its replies never carry that header, so every reply is rejected",
            "set [security] require_auth to the authserv-id your provider writes in Authentication-Results, "
            'or "" to turn the check off',
        )
    if by_host is not None and by_host.authserv_id and wanted != by_host.authserv_id:
        return RequireAuthFit(
            False,
            f"require_auth = {wanted!r}, but {by_host.label} writes Authentication-Results as "
            f"{by_host.authserv_id!r}: every reply is rejected",
            f'set [security] require_auth = "{by_host.authserv_id}"',
        )
    if by_host is not None:
        return RequireAuthFit(True, f"require_auth = {wanted!r} fits {by_host.label}")
    return RequireAuthFit(
        None,
        f"require_auth = {wanted!r}: check that {imap_host} puts it in the "
        "Authentication-Results of received mail (`taskping-tui inspect` a reply)",
    )
