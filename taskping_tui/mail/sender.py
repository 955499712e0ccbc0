"""One SMTP transaction with explicit transport security, and a verdict the outbox can act on.

Security is always spelled out to aiosmtplib: ``tls`` (implicit TLS, 465), ``starttls`` (587, the upgrade is
required, not "if offered") or ``none`` — plain text, allowed for loopback hosts only. aiosmtplib's default
(``start_tls=None``) would log in in clear when a server offers no STARTTLS, so it is never used.
Certificates are validated unless the caller hands in its own ``ssl_context`` (tests trust a private CA).

Every failure is classified: *temporary* (4xx replies, refused/reset connections, timeouts, a server that
hung up) is worth retrying, *permanent* (5xx replies, a refused login, TLS certificate problems, a missing
password, a misconfiguration) is not.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import aiosmtplib

from taskping_tui.config import MailConfig, SmtpConfig
from taskping_tui.mail.password import PasswordError, has_password_source, resolve_password

logger = logging.getLogger(__name__)

SendOutcome = Literal["sent", "temporary", "permanent"]
PasswordResolver = Callable[[MailConfig], str]


@dataclass(frozen=True)
class SendResult:
    """What happened to one message. ``message`` is for people (the panel), never holds a secret."""

    outcome: SendOutcome
    message: str = ""
    code: int | None = None
    # recipient → "550 reason" for recipients the server refused
    refused: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome == "sent"

    @property
    def warning(self) -> str:
        """For a mail that went out to some recipients only: who did not get it."""
        if not self.ok or not self.refused:
            return ""
        return "not delivered to " + "; ".join(f"{rcpt} ({reason})" for rcpt, reason in self.refused.items())


def is_loopback_host(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class TransportSecurity:
    use_tls: bool
    start_tls: bool


def smtp_security_options(smtp: SmtpConfig) -> TransportSecurity:
    """aiosmtplib's ``use_tls`` / ``start_tls`` for our ``security`` value, both always explicit."""
    if smtp.security == "tls":
        return TransportSecurity(use_tls=True, start_tls=False)
    if smtp.security == "starttls":
        return TransportSecurity(use_tls=False, start_tls=True)
    if smtp.security == "none":
        if not is_loopback_host(smtp.host):
            raise ValueError(
                f'mail.smtp.security = "none" is only allowed for a loopback host, not {smtp.host!r}: '
                'use "tls" (port 465) or "starttls" (port 587)'
            )
        return TransportSecurity(use_tls=False, start_tls=False)
    raise ValueError(f"unknown mail.smtp.security {smtp.security!r}")


def _reply_text(code: int, text: str) -> str:
    return f"{code} {' '.join(text.split())}".strip()


def _tls_cause(error: BaseException) -> ssl.SSLError | None:
    """aiosmtplib wraps TLS handshake errors in SMTPConnectError: find the SSL error underneath."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__
    return None


def classify_error(error: BaseException, smtp: SmtpConfig) -> SendResult:
    """Map an exception from connecting, logging in or sending to a temporary or permanent result."""
    where = f"{smtp.host}:{smtp.port}"
    tls_error = _tls_cause(error)
    if isinstance(tls_error, ssl.SSLCertVerificationError):
        return SendResult("permanent", f"the TLS certificate of {where} is not valid: {tls_error.verify_message}")
    if isinstance(tls_error, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)):
        return SendResult("temporary", f"the TLS connection to {where} was cut ({tls_error})")
    if tls_error is not None:
        return SendResult(
            "permanent",
            f"TLS with {where} failed ({tls_error.reason or tls_error}); check mail.smtp.security and mail.smtp.port",
        )
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        refused = {each.recipient: _reply_text(each.code, each.message) for each in error.recipients}
        temporary = any(400 <= each.code < 500 for each in error.recipients)
        return SendResult(
            "temporary" if temporary else "permanent",
            "the server refused every recipient: " + "; ".join(f"{r} ({why})" for r, why in refused.items()),
            refused=refused,
        )
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):
        outcome: SendOutcome = "temporary" if 400 <= error.code < 500 else "permanent"
        return SendResult(
            outcome,
            f"login to {where} refused ({_reply_text(error.code, error.message)}); "
            "check mail.username and the password",
            code=error.code,
        )
    if isinstance(error, aiosmtplib.SMTPResponseException):
        outcome = "temporary" if 400 <= error.code < 500 else "permanent"
        return SendResult(outcome, f"{where} answered {_reply_text(error.code, error.message)}", code=error.code)
    if isinstance(error, (aiosmtplib.SMTPTimeoutError, asyncio.TimeoutError, TimeoutError)):
        return SendResult("temporary", f"{where} did not answer in time")
    if isinstance(error, (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError, ConnectionError)):
        return SendResult("temporary", f"cannot talk to {where}: {error}")
    if isinstance(error, OSError):
        return SendResult("temporary", f"cannot reach {where}: {error.strerror or error}")
    if isinstance(error, aiosmtplib.SMTPException):
        # STARTTLS or AUTH not offered, SMTPUTF8 missing...: the server and our settings do not fit together.
        return SendResult("permanent", f"{where}: {error}")
    return SendResult("permanent", f"{where}: unexpected {type(error).__name__}: {error}")


class SmtpSender:
    """Sends rendered messages through the configured server, one connection per message."""

    def __init__(
        self,
        mail: MailConfig,
        *,
        ssl_context: ssl.SSLContext | None = None,
        password_resolver: PasswordResolver = resolve_password,
    ) -> None:
        self.mail = mail
        self.ssl_context = ssl_context
        self._password_resolver = password_resolver
        self._password: str | None = None

    async def _password_for_login(self) -> str | None:
        """The cached password, resolved once (off the loop: keyring and commands may block)."""
        if not has_password_source(self.mail):
            return None
        if self._password is None:
            self._password = await asyncio.to_thread(self._password_resolver, self.mail)
        return self._password

    async def _open(self) -> tuple[aiosmtplib.SMTP | None, SendResult | None]:
        """A connected, logged-in client, or the result explaining why there is none."""
        smtp = self.mail.smtp
        try:
            options = smtp_security_options(smtp)
        except ValueError as error:
            return None, SendResult("permanent", str(error))
        try:
            password = await self._password_for_login()
        except PasswordError as error:
            return None, SendResult("permanent", str(error))
        client = aiosmtplib.SMTP(
            hostname=smtp.host,
            port=smtp.port,
            timeout=smtp.timeout_seconds,
            validate_certs=True,
            tls_context=self.ssl_context,
            use_tls=options.use_tls,
            start_tls=options.start_tls,
        )
        try:
            await client.connect()
            if password is not None:
                await client.login(self.mail.login, password)
        except Exception as error:  # classified below; anything unforeseen is a permanent, visible failure
            return None, self._failed(client, error)
        return client, None

    def _failed(self, client: aiosmtplib.SMTP, error: Exception) -> SendResult:
        result = classify_error(error, self.mail.smtp)
        if isinstance(error, aiosmtplib.SMTPAuthenticationError):
            self._password = None  # the user may fix the password source; read it again next time
        logger.info("SMTP with %s failed (%s): %s", self.mail.smtp.host, result.outcome, result.message)
        client.close()
        return result

    async def check_login(self) -> SendResult:
        """Connect and log in without sending anything (for `doctor` and `init`)."""
        client, problem = await self._open()
        if client is None:
            assert problem is not None
            return problem
        await self._quit_quietly(client)
        security = self.mail.smtp.security
        return SendResult("sent", f"logged in to {self.mail.smtp.host}:{self.mail.smtp.port} ({security})")

    async def send(self, message: bytes, *, sender: str, recipients: Sequence[str]) -> SendResult:
        if not recipients:
            return SendResult("permanent", "no recipients: set mail.recipients")
        client, problem = await self._open()
        if client is None:
            assert problem is not None
            return problem
        try:
            refused, response = await client.sendmail(sender, list(recipients), message)
        except Exception as error:  # classified in _failed
            return self._failed(client, error)
        await self._quit_quietly(client)
        refused_text = {rcpt: _reply_text(reply.code, reply.message) for rcpt, reply in refused.items()}
        result = SendResult("sent", " ".join(response.split()), refused=refused_text)
        if result.warning:
            logger.warning("mail sent, but %s", result.warning)
        return result

    @staticmethod
    async def _quit_quietly(client: aiosmtplib.SMTP) -> None:
        """The message is already accepted: a failing QUIT must not turn it into a retry (a duplicate)."""
        try:
            await client.quit()
        except Exception as error:
            logger.debug("QUIT after a sent mail failed: %s", error)
            client.close()
