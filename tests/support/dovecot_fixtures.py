"""A private dovecot (IMAP + LMTP on loopback) for the mail tests and benches, and a freezable TCP proxy.

Use from a test module::

    from tests.support.dovecot_fixtures import dovecot, mail_user, tcp_proxy  # noqa: F401  (pytest fixtures)

``dovecot`` is session-scoped (one server, ≈50 ms to start); ``mail_user`` is a fresh user (own empty
INBOX) per test, so tests never see each other's mail. Outside pytest::

    with DovecotServer.start() as server:
        user = server.new_user()
        server.deliver_lmtp(user, raw_bytes)
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import grp
import imaplib
import itertools
import os
import secrets
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.utils import formatdate, make_msgid
from pathlib import Path

import pytest

HOST = "127.0.0.1"
NOBODY_UID = 65534
START_TIMEOUT = 10.0
EX_NOUSER = 68
USER_POOL_SIZE = 40
POLLING_POOL_SIZE = 4


class MemoryCursorStore:
    """The CursorStore protocol in memory, shared across watcher restarts within a test."""

    def __init__(self) -> None:
        self.cursors: dict[str, tuple[int, int]] = {}

    def load_cursor(self, mailbox_key: str) -> tuple[int, int] | None:
        return self.cursors.get(mailbox_key)

    def save_cursor(self, mailbox_key: str, uidvalidity: int, last_uid: int) -> None:
        self.cursors[mailbox_key] = (uidvalidity, last_uid)


class DovecotUnavailable(RuntimeError):
    """dovecot is not installed: run tests/setup/install_dovecot.sh."""


@dataclass(frozen=True)
class MailUser:
    """A dovecot account with its own INBOX."""

    login: str
    password: str
    home: Path

    @property
    def address(self) -> str:
        return self.login

    @property
    def maildir(self) -> Path:
        return self.home / "Maildir"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def make_mail(
    subject: str = "test mail",
    body: str = "hello\n",
    *,
    message_id: str | None = None,
    sender: str = "someone@example.test",
    to: str = "service@example.test",
    extra_headers: dict[str, str] | None = None,
) -> bytes:
    """A small RFC 5322 mail as CRLF bytes."""
    headers = {
        "From": sender,
        "To": to,
        "Subject": subject,
        "Date": formatdate(localtime=False),
        "Message-ID": message_id or make_msgid(domain="example.test"),
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=utf-8",
        **(extra_headers or {}),
    }
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (head + "\r\n" + body.replace("\r\n", "\n").replace("\n", "\r\n")).encode("utf-8")


@dataclass
class DovecotServer:
    """One private dovecot instance living in ``root``; started by :meth:`start`."""

    root: Path
    imap_port: int
    imaps_port: int
    lmtp_port: int
    cert_path: Path
    process: subprocess.Popen[bytes] | None = None
    _user_numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _idle_pool: list[MailUser] = field(default_factory=list)
    _polling_pool: list[MailUser] = field(default_factory=list)

    # -- life cycle ---------------------------------------------------------------------------------

    @classmethod
    def start(cls) -> DovecotServer:
        if shutil.which("dovecot") is None or shutil.which("doveadm") is None:
            raise DovecotUnavailable("dovecot is not installed: run tests/setup/install_dovecot.sh")
        root = Path(tempfile.mkdtemp(prefix="taskping-dovecot-"))
        # The mail processes run as another uid when we are root: they must be able to reach their homes.
        root.chmod(0o711)
        server = cls(
            root=root,
            imap_port=free_port(),
            imaps_port=free_port(),
            lmtp_port=free_port(),
            cert_path=root / "tls" / "cert.pem",
        )
        try:
            server._write_files()
            server._launch()
        except BaseException:
            server.stop()
            raise
        return server

    def __enter__(self) -> DovecotServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def config_path(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def passwd_path(self) -> Path:
        return self.root / "passwd"

    @property
    def log_path(self) -> Path:
        return self.root / "dovecot.log"

    @property
    def is_root(self) -> bool:
        return os.geteuid() == 0

    @property
    def mail_uid(self) -> int:
        return NOBODY_UID if self.is_root else os.geteuid()

    @property
    def mail_gid(self) -> int:
        return NOBODY_UID if self.is_root else os.getegid()

    def _write_files(self) -> None:
        for name in ("run", "state", "home", "tls"):
            (self.root / name).mkdir(mode=0o755)
        self.passwd_path.write_text("")
        self.passwd_path.chmod(0o644)
        self._add_users(USER_POOL_SIZE, idle=True)
        self._add_users(POLLING_POOL_SIZE, idle=False)
        self._make_certificate()
        self.config_path.write_text(self._config_text())

    def _make_certificate(self) -> None:
        """A self-signed certificate for 127.0.0.1, so the TLS path can be tested for real."""
        key = self.root / "tls" / "key.pem"
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout",
                str(key),
                "-out",
                str(self.cert_path),
            ],
            check=True,
            capture_output=True,
        )
        key.chmod(0o600)

    def _config_text(self) -> str:
        root = self.root
        if self.is_root:
            identity = "default_internal_user = dovecot\ndefault_login_user = dovenull\n"
            chroots = ""
        else:
            me = getpass.getuser()
            group = grp.getgrgid(os.getegid()).gr_name
            identity = f"default_internal_user = {me}\ndefault_internal_group = {group}\ndefault_login_user = {me}\n"
            chroots = "service anvil {\n  chroot =\n}\n"
        imap_login_chroot = "" if self.is_root else "  chroot =\n"
        return f"""# Private test instance written by tests/support/dovecot_fixtures.py
protocols = imap lmtp
base_dir = {root}/run
state_dir = {root}/state
log_path = {self.log_path}
listen = {HOST}
ssl = yes
ssl_cert = <{self.cert_path}
ssl_key = <{root}/tls/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:~/Maildir
first_valid_uid = 1
{identity}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd_path}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.passwd_path}
}}
service imap-login {{
{imap_login_chroot}  inet_listener imap {{
    address = {HOST}
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {self.imaps_port}
    ssl = yes
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = {HOST}
    port = {self.lmtp_port}
  }}
}}
{chroots}protocol lmtp {{
  postmaster_address = postmaster@example.test
}}
"""

    def _launch(self) -> None:
        self.process = subprocess.Popen(
            ["dovecot", "-F", "-c", str(self.config_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                stderr = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"dovecot exited at start ({self.process.returncode}): {stderr}{self.log_text()}")
            if self._imap_greets():
                return
            time.sleep(0.02)
        raise RuntimeError(f"dovecot did not greet on {HOST}:{self.imap_port} within {START_TIMEOUT} s")

    def _imap_greets(self) -> bool:
        try:
            with socket.create_connection((HOST, self.imap_port), timeout=1.0) as sock:
                return sock.recv(64).startswith(b"* OK")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # SIGTERM to the master we started is what `doveadm stop` sends, minus its ≈2 s of polling.
            self.process.terminate()
            try:
                self.process.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                self.doveadm("stop", check=False)
                self.process.kill()
                self.process.wait(timeout=5.0)
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def doveadm(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(
            ["doveadm", "-c", str(self.config_path), *args], capture_output=True, text=True, timeout=30
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout

    # -- users --------------------------------------------------------------------------------------

    def new_user(self, *, idle: bool = True) -> MailUser:
        """A fresh account with an empty INBOX, never handed out before.
        ``idle=False``: the account's post-login CAPABILITY lacks IDLE, like servers that only allow polling."""
        pool = self._idle_pool if idle else self._polling_pool
        if not pool:
            self._add_users(USER_POOL_SIZE, idle=idle)
            # dovecot's auth process re-reads the passwd file at most once per second.
            time.sleep(1.1)
        return pool.pop(0)

    def _add_users(self, count: int, *, idle: bool) -> None:
        """Accounts are made in batches: dovecot only notices passwd-file changes once a second."""
        pool = self._idle_pool if idle else self._polling_pool
        lines = []
        for _ in range(count):
            login = f"user{next(self._user_numbers)}-{secrets.token_hex(3)}@example.test"
            password = secrets.token_urlsafe(12)
            home = self.root / "home" / login
            home.mkdir(mode=0o700)
            os.chown(home, self.mail_uid, self.mail_gid)
            extra = "" if idle else "userdb_imap_capability=IMAP4rev1"
            lines.append(f"{login}:{{PLAIN}}{password}:{self.mail_uid}:{self.mail_gid}::{home}::{extra}\n")
            pool.append(MailUser(login=login, password=password, home=home))
        with self.passwd_path.open("a") as passwd:
            passwd.writelines(lines)

    # -- delivering mail ----------------------------------------------------------------------------

    def deliver_lmtp(self, user: MailUser, raw: bytes, sender: str = "sender@example.test") -> None:
        """Deliver like an MTA would (LMTP); returns once dovecot has stored the mail."""
        with smtplib.LMTP(HOST, self.lmtp_port) as lmtp:
            refused = lmtp.sendmail(sender, [user.login], raw)
        if refused:
            raise RuntimeError(f"LMTP refused {user.login}: {refused}")

    def append_imap(self, user: MailUser, raw: bytes, mailbox: str = "INBOX") -> None:
        """Put a mail in by IMAP APPEND, as another client (e.g. a webmail) would."""
        with imaplib.IMAP4(HOST, self.imap_port) as imap:
            imap.login(user.login, user.password)
            status, data = imap.append(mailbox, "", None, raw)
            if status != "OK":
                raise RuntimeError(f"APPEND failed: {data!r}")
            imap.logout()

    async def adeliver_lmtp(self, user: MailUser, raw: bytes) -> None:
        await asyncio.to_thread(self.deliver_lmtp, user, raw)

    async def aappend_imap(self, user: MailUser, raw: bytes, mailbox: str = "INBOX") -> None:
        await asyncio.to_thread(self.append_imap, user, raw, mailbox)

    # -- faults and inspection ----------------------------------------------------------------------

    def kick(self, user: MailUser) -> None:
        """Disconnect every IMAP session of ``user`` (dovecot sends BYE and closes)."""
        result = subprocess.run(
            ["doveadm", "-c", str(self.config_path), "kick", user.login], capture_output=True, text=True, timeout=30
        )
        if result.returncode not in (0, EX_NOUSER):  # EX_NOUSER: nobody was connected
            raise RuntimeError(f"doveadm kick failed ({result.returncode}): {result.stderr.strip()}")

    async def akick(self, user: MailUser) -> None:
        await asyncio.to_thread(self.kick, user)

    def mailbox_status(self, user: MailUser, mailbox: str = "INBOX") -> dict[str, int]:
        out = self.doveadm("-f", "flow", "mailbox", "status", "-u", user.login, "messages uidnext uidvalidity", mailbox)
        return {key: int(value) for key, _, value in (item.partition("=") for item in out.split()) if value}

    def uidvalidity(self, user: MailUser, mailbox: str = "INBOX") -> int:
        return self.mailbox_status(user, mailbox)["uidvalidity"]

    def renumber_mailbox(self, user: MailUser) -> int:
        """Force a new UIDVALIDITY: kick the user, drop the maildir's UID list and indexes so dovecot
        renumbers the remaining mails from UID 1. Returns the new UIDVALIDITY (always a new value:
        dovecot keeps dovecot-uidvalidity and only counts up)."""
        old = self.uidvalidity(user)
        self.kick(user)
        for path in [user.maildir / "dovecot-uidlist", *user.maildir.glob("dovecot.index*")]:
            path.unlink(missing_ok=True)
        new = self.uidvalidity(user)
        if new == old:
            raise RuntimeError("dovecot kept the old UIDVALIDITY")
        return new

    def expunge(self, user: MailUser, uids: str) -> None:
        self.doveadm("expunge", "-u", user.login, "mailbox", "INBOX", "uid", uids)

    def flags(self, user: MailUser) -> dict[int, set[str]]:
        """UID → flags of every mail in INBOX."""
        out = self.doveadm("-f", "tab", "fetch", "-u", user.login, "uid flags", "mailbox", "INBOX", "all")
        result: dict[int, set[str]] = {}
        for line in out.splitlines()[1:]:
            uid, _, flags = line.partition("\t")
            if uid.strip().isdigit():
                result[int(uid)] = set(flags.split())
        return result


class FreezableProxy:
    """A loopback TCP proxy to ``target`` that can silently stop forwarding without closing anything,
    like a NAT or Wi-Fi link that died: both ends still think the connection is up."""

    def __init__(self, target_host: str, target_port: int, *, source_host: str = HOST) -> None:
        """``source_host``: the loopback address the proxy connects from (what the server sees as client
        IP); e.g. 127.0.0.2 keeps dovecot's per-IP auth penalty after a wrong password away from 127.0.0.1."""
        self.target_host = target_host
        self.target_port = target_port
        self.source_host = source_host
        self.port = 0
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._links: list[_Link] = []
        self._freeze_new = False

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, HOST, 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    def freeze(self, *, new_connections_too: bool = False) -> None:
        """Black-hole every byte of the connections open now (and later ones, if asked)."""
        for link in self._links:
            link.frozen = True
        self._freeze_new = new_connections_too

    def thaw(self) -> None:
        """Forward normally again, for connections opened from now on and any still frozen."""
        self._freeze_new = False
        for link in self._links:
            link.frozen = False

    @property
    def open_links(self) -> int:
        return sum(1 for link in self._links if not link.closed)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in self._links:
            link.close()
        for link in self._links:
            await link.finished()
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            server_reader, server_writer = await asyncio.open_connection(
                self.target_host, self.target_port, local_addr=(self.source_host, 0)
            )
        except OSError:
            client_writer.close()
            return
        link = _Link(client_writer, server_writer, frozen=self._freeze_new)
        self._links.append(link)
        link.tasks = [
            asyncio.create_task(link.pump(client_reader, server_writer)),
            asyncio.create_task(link.pump(server_reader, client_writer)),
        ]


@dataclass
class _Link:
    client_writer: asyncio.StreamWriter
    server_writer: asyncio.StreamWriter
    frozen: bool = False
    closed: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if not self.frozen:
                    writer.write(data)
                    await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            for writer in (self.client_writer, self.server_writer):
                writer.close()

    async def finished(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


# -- pytest fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    server = DovecotServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mail_user(dovecot: DovecotServer) -> MailUser:
    return dovecot.new_user()


@pytest.fixture
async def tcp_proxy(dovecot: DovecotServer) -> AsyncIterator[FreezableProxy]:
    proxy = FreezableProxy(HOST, dovecot.imap_port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()
