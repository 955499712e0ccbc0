"""Inbound mail latency: a reply delivered into dovecot (LMTP) → MailWatcher's handler called.

Runs a private dovecot (tests/dovecot_fixtures.py), delivers N mails one after another and prints
p50/p95 for the watcher next to a reference measured in the same run: a bare aioimaplib client in
IDLE timing delivery → EXISTS push (the floor set by dovecot's own ≈0.5 s notify delay).

    .venv/bin/python bench/inbound_latency.py [--mails 20]

Exit status 1 when the watcher's p95 misses the 2 s on-screen target.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import aioimaplib

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from taskping_tui.config import ImapConfig  # noqa: E402
from taskping_tui.mail.watcher import FetchedMail, MailWatcher, WatcherState, WatcherTimings  # noqa: E402
from tests.dovecot_fixtures import HOST, DovecotServer, MailUser, make_mail  # noqa: E402

TARGET_SECONDS = 2.0


class MemoryCursorStore:
    def __init__(self) -> None:
        self.cursors: dict[str, tuple[int, int]] = {}

    def load_cursor(self, mailbox_key: str) -> tuple[int, int] | None:
        return self.cursors.get(mailbox_key)

    def save_cursor(self, mailbox_key: str, uidvalidity: int, last_uid: int) -> None:
        self.cursors[mailbox_key] = (uidvalidity, last_uid)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


async def reference_push_latencies(server: DovecotServer, user: MailUser, count: int) -> list[float]:
    """Delivery → EXISTS push seen by a bare IDLE client: what no watcher can beat."""
    client = aioimaplib.IMAP4(HOST, server.imap_port, timeout=10)
    await client.wait_hello_from_server()
    await client.login(user.login, user.password)
    await client.select("INBOX")
    latencies = []
    for index in range(count):
        idle = await client.idle_start(timeout=60)
        await server.adeliver_lmtp(user, make_mail(f"reference {index}"))
        delivered = time.monotonic()
        await client.wait_server_push(timeout=10)
        latencies.append(time.monotonic() - delivered)
        client.idle_done()
        await asyncio.wait_for(idle, 10)
    await client.logout()
    return latencies


async def watcher_latencies(server: DovecotServer, user: MailUser, count: int) -> list[float]:
    handled: asyncio.Queue[float] = asyncio.Queue()

    async def handler(mail: FetchedMail) -> None:
        handled.put_nowait(time.monotonic())

    states: list[WatcherState] = []
    watcher = MailWatcher(
        ImapConfig(host=HOST, port=server.imap_port, security="none"),
        user.login,
        user.password,
        MemoryCursorStore(),
        handler,
        on_status=lambda status: states.append(status.state),
        timings=WatcherTimings(response_timeout_seconds=10.0),
    )
    watcher.start()
    try:
        while WatcherState.IDLE not in states:
            await asyncio.sleep(0.01)
        latencies = []
        for index in range(count):
            await server.adeliver_lmtp(user, make_mail(f"reply {index}"))
            delivered = time.monotonic()
            latencies.append(await asyncio.wait_for(handled.get(), 10) - delivered)
            await asyncio.sleep(0.05)  # let the watcher get back into IDLE, as between real replies
        return latencies
    finally:
        await watcher.stop()


def describe(name: str, values: list[float]) -> str:
    return (f"{name:<48} p50 {statistics.median(values):6.3f} s   p95 {percentile(values, 0.95):6.3f} s   "
            f"max {max(values):6.3f} s")


async def main_async(count: int) -> int:
    with DovecotServer.start() as server:
        reference = await reference_push_latencies(server, server.new_user(), count)
        measured = await watcher_latencies(server, server.new_user(), count)
    print(f"inbound latency over {count} mails, LMTP delivery into dovecot → ...")
    print(describe("reference: bare aioimaplib IDLE push", reference))
    print(describe("MailWatcher: push → SEARCH → FETCH → handler", measured))
    ratio_p50 = statistics.median(measured) / statistics.median(reference)
    ratio_p95 = percentile(measured, 0.95) / percentile(reference, 0.95)
    print(f"ratio watcher/reference: p50 {ratio_p50:.3f}x   p95 {ratio_p95:.3f}x   "
          f"(watcher's own cost p50 {1000 * (statistics.median(measured) - statistics.median(reference)):.1f} ms)")
    met = percentile(measured, 0.95) <= TARGET_SECONDS
    print(f"target ≤ {TARGET_SECONDS:g} s to the handler (store + screen follow at once): {'met' if met else 'MISSED'}")
    return 0 if met else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=20)
    args = parser.parse_args()
    return asyncio.run(main_async(args.mails))


if __name__ == "__main__":
    raise SystemExit(main())
