"""Real SMTP servers (aiosmtpd) on 127.0.0.1 for the mail tests.

``smtp_server_factory(...)`` starts a server with the options a test needs and stops it afterwards:
plain, STARTTLS-required or implicit TLS with a certificate from a private test CA (trustme), with or
without AUTH. Its handler records every delivered message and can answer the next DATA commands or
chosen recipients with a given reply (421 / 451 / 550 …) on demand. A server can be stopped and started
again on the same port (``server.stop()`` / ``server.start()``) to play "server down, then back".

Import the fixtures into a test module: ``from tests.support.smtp_fixtures import smtp_server_factory  # noqa``.
"""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Protocol

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SmtpProtocol
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from taskping_tui.config import MailConfig, SmtpConfig, SmtpSecurity

HOST = "127.0.0.1"
SERVICE_ADDRESS = "taskping@test.example"
RECIPIENT = "me@phone.example"
LOGIN = "taskping@test.example"
PASSWORD = "s3cret-Pa55word!"

ServerSecurity = SmtpSecurity


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class RecordingHandler:
    """Records delivered mail; answers queued replies instead of accepting, when a test asks for it."""

    messages: list[ReceivedMail] = field(default_factory=list)
    # Replies for the next DATA commands, used up one per DATA (e.g. ["421 4.3.2 try later"]).
    data_replies: list[str] = field(default_factory=list)
    # recipient address → reply to its RCPT TO (e.g. "550 5.1.1 no such user").
    refused_recipients: dict[str, str] = field(default_factory=dict)
    data_commands: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: SmtpProtocol, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refused_recipients:
            return self.refused_recipients[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SmtpProtocol, session: Session, envelope: Envelope) -> str:
        with self.lock:
            self.data_commands += 1
            if self.data_replies:
                return self.data_replies.pop(0)
            content = envelope.original_content or b""
            self.messages.append(ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(content)))
        return "250 Message accepted for delivery"

    def answer_next_data_with(self, *replies: str) -> None:
        with self.lock:
            self.data_replies.extend(replies)


@dataclass
class PasswordAuthenticator:
    users: dict[str, str]
    attempts: int = 0

    def __call__(
        self, server: SmtpProtocol, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        self.attempts += 1
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode()
            if self.users.get(login) == auth_data.password.decode():
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


class ServerCertificates:
    """A private CA and a server certificate for 127.0.0.1 / localhost."""

    def __init__(self) -> None:
        self.ca = trustme.CA()
        self.server_cert = self.ca.issue_cert(HOST, "localhost")

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_cert.configure_cert(context)
        return context

    def client_context(self) -> ssl.SSLContext:
        """What a test hands to the sender: normal verification, trusting only the test CA."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        self.ca.configure_trust(context)
        return context


class SmtpServer:
    """An aiosmtpd server in its own thread; restartable on the same port."""

    def __init__(
        self,
        *,
        security: ServerSecurity = "none",
        auth: bool = False,
        certificates: ServerCertificates | None = None,
        port: int | None = None,
    ) -> None:
        self.security = security
        self.auth = auth
        self.host = HOST
        self.port = port or free_port()
        self.handler = RecordingHandler()
        self.authenticator = PasswordAuthenticator({LOGIN: PASSWORD})
        self.certificates = certificates or (ServerCertificates() if security != "none" else None)
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[ReceivedMail]:
        return self.handler.messages

    @property
    def running(self) -> bool:
        return self._controller is not None

    def _build_controller(self) -> Controller:
        options: dict[str, Any] = {"hostname": self.host, "port": self.port}
        if self.auth:
            # aiosmtpd only knows about TLS it negotiated itself (STARTTLS); implicit TLS is TLS all the same.
            options.update(
                authenticator=self.authenticator, auth_required=True, auth_require_tls=self.security == "starttls"
            )
        if self.security == "starttls":
            assert self.certificates is not None
            options.update(tls_context=self.certificates.server_context(), require_starttls=True)
        if self.security == "tls":
            assert self.certificates is not None
            options.update(ssl_context=self.certificates.server_context())
        return Controller(self.handler, **options)

    def start(self) -> SmtpServer:
        if self._controller is None:
            controller = self._build_controller()
            controller.start()
            self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def client_ssl_context(self) -> ssl.SSLContext | None:
        return self.certificates.client_context() if self.certificates else None

    def mail_config(self, **overrides: Any) -> MailConfig:
        """A [mail] config that sends through this server."""
        smtp = SmtpConfig(host=self.host, port=self.port, security=self.security, timeout_seconds=5.0)
        values: dict[str, Any] = {
            "enabled": True,
            "address": SERVICE_ADDRESS,
            "recipients": [RECIPIENT],
            "smtp": smtp,
        }
        if self.auth:
            values.update(username=LOGIN, password=PASSWORD)
        values.update(overrides)
        return MailConfig(**values)


class SmtpServerFactory(Protocol):
    def __call__(
        self, *, security: ServerSecurity = ..., auth: bool = ..., port: int | None = ..., start: bool = ...
    ) -> SmtpServer: ...


@pytest.fixture
def smtp_server_factory() -> Iterator[SmtpServerFactory]:
    servers: list[SmtpServer] = []

    def make(
        *, security: ServerSecurity = "none", auth: bool = False, port: int | None = None, start: bool = True
    ) -> SmtpServer:
        server = SmtpServer(security=security, auth=auth, port=port)
        servers.append(server)
        return server.start() if start else server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def smtp_server(smtp_server_factory: SmtpServerFactory) -> SmtpServer:
    """A plain SMTP server on loopback, no AUTH."""
    return smtp_server_factory()
