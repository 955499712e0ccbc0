"""Inbound mail latency: a reply delivered into dovecot (LMTP) → MailWatcher's handler called.

Runs a private dovecot (tests/support/dovecot_fixtures.py), delivers N mails one after another and prints
p50/p95 for the watcher next to a reference measured in the same run: a bare aioimaplib client in
IDLE timing delivery → EXISTS push (the floor set by dovecot's own ≈0.5 s notify delay).

Then a burst: B mails delivered back to back, handed one by one to the app's real inbound path (parse →
gate → committed to a SQLite store, what the Inbound panel shows next); while the watcher is in the
middle of them the reply a user waits for is delivered. Every mail, the reply included, must be handled
within the target after its delivery: a mail that lands while earlier ones are being fetched must not
wait for the next push (it used to wait for the IDLE keepalive round).

    .venv/bin/python bench/inbound_latency.py [--quick] [--mails 20] [--burst 40]

--quick (CI smoke): 3 mails and a burst of 5, same result lines, no verdict. A full run (≥ 20 mails)
exits 1 when the watcher's p95 or the burst's maximum misses the 2 s on-screen target. Every wait is bounded: a bound hit or a failing
component ends the run with exit status 2 and says what did not happen. SIGTERM ends the run
cleanly (exit 143), private dovecot included.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import smtplib
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import aioimaplib

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from taskping_tui.config import ImapConfig
from taskping_tui.mail.watcher import FetchedMail, MailWatcher, WatcherState, WatcherTimings
from tests.support.dovecot_fixtures import HOST, DovecotServer, MailUser, MemoryCursorStore, make_mail

TARGET_SECONDS = 2.0
QUICK_MAILS = 3
QUICK_BURST = 5
BURST_MAILS = 40
REPLY_SUBJECT = "the reply"
BURST_WAIT = 20.0  # after the burst; the watcher's own IDLE refresh would rescue a lost notice much later
VERDICT_MAILS = 20
SMOKE_VERDICT = "smoke run, no verdict"
STEP_TIMEOUT = 10.0  # any one IMAP command, delivery, push or handler call
WATCHER_START_TIMEOUT = 15.0  # connect, LOGIN, SELECT, re-sync, first IDLE
IDLE_GAP = 0.05  # let the watcher get back into IDLE, as between real replies
EXIT_MISSED = 1
EXIT_ERROR = 2
EXIT_TERMINATED = 128 + signal.SIGTERM

T = TypeVar("T")


class BenchError(RuntimeError):
    """A bound was hit or a component failed: the run has no valid numbers."""


async def bounded(awaitable: Awaitable[T], what: str, timeout: float | None = None) -> T:
    timeout = STEP_TIMEOUT if timeout is None else timeout
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except TimeoutError:
        raise BenchError(f"{what} did not happen within {timeout:g} s") from None


def deliver_lmtp(server: DovecotServer, user: MailUser, raw: bytes) -> None:
    """Like DovecotServer.deliver_lmtp, but every socket operation is bounded (it runs in a thread,
    which asyncio cannot cancel: the socket timeout is what ends it)."""
    with smtplib.LMTP(HOST, server.lmtp_port, timeout=STEP_TIMEOUT) as lmtp:
        refused = lmtp.sendmail("sender@example.test", [user.login], raw)
    if refused:
        raise BenchError(f"LMTP refused {user.login}: {refused}")


async def deliver(server: DovecotServer, user: MailUser, subject: str) -> float:
    """Deliver one mail; the monotonic time at which dovecot had stored it."""
    try:
        await bounded(
            asyncio.to_thread(deliver_lmtp, server, user, make_mail(subject)),
            f"LMTP delivery of {subject!r}",
            STEP_TIMEOUT + 1,
        )
    except (OSError, smtplib.SMTPException) as error:
        raise BenchError(f"LMTP delivery of {subject!r} failed: {error}") from error
    return time.monotonic()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


async def reference_push_latencies(server: DovecotServer, user: MailUser, count: int) -> list[float]:
    """Delivery → EXISTS push seen by a bare IDLE client: what no watcher can beat."""
    client = aioimaplib.IMAP4(HOST, server.imap_port, timeout=STEP_TIMEOUT)
    await bounded(client.wait_hello_from_server(), "reference: IMAP greeting")
    await bounded(client.login(user.login, user.password), "reference: LOGIN")
    await bounded(client.select("INBOX"), "reference: SELECT")
    latencies = []
    for index in range(count):
        idle = await bounded(client.idle_start(timeout=60), "reference: IDLE acknowledged")
        delivered = await deliver(server, user, f"reference {index}")
        await bounded(client.wait_server_push(timeout=STEP_TIMEOUT), f"reference: push for mail {index}")
        latencies.append(time.monotonic() - delivered)
        client.idle_done()
        await bounded(idle, "reference: IDLE ended after DONE")
    await bounded(client.logout(), "reference: LOGOUT")
    return latencies


async def wait_until_idle(states: list[WatcherState]) -> None:
    deadline = time.monotonic() + WATCHER_START_TIMEOUT
    while WatcherState.IDLE not in states:
        if time.monotonic() > deadline:
            raise BenchError(
                f"MailWatcher did not reach IDLE within {WATCHER_START_TIMEOUT:g} s "
                f"(states so far: {[state.name for state in states]})"
            )
        await asyncio.sleep(0.01)


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
        timings=WatcherTimings(response_timeout_seconds=STEP_TIMEOUT),
    )
    watcher.start()
    try:
        await wait_until_idle(states)
        latencies = []
        for index in range(count):
            delivered = await deliver(server, user, f"reply {index}")
            latencies.append(await bounded(handled.get(), f"MailWatcher: handler call for mail {index}") - delivered)
            await asyncio.sleep(IDLE_GAP)
        return latencies
    finally:
        await bounded(watcher.stop(), "MailWatcher.stop()")


async def burst_latencies(server: DovecotServer, user: MailUser, count: int, state_dir: Path) -> list[float]:
    """Delivery → handled (recorded in the store) for ``count`` mails delivered back to back, plus the reply
    a user waits for, delivered while the watcher is in the middle of them; the reply's latency is last."""
    from taskping_tui.config import Config, MailConfig, SecurityConfig
    from taskping_tui.inbound.processor import InboundProcessor
    from taskping_tui.mail.reply import parse_mail
    from taskping_tui.store import Store

    store = Store.open(state_dir / "burst.sqlite3")
    config = Config(
        mail=MailConfig(address="service@example.test"),
        security=SecurityConfig(allowed_senders=["someone@example.test"]),
    )
    processor = InboundProcessor(store, config)
    subjects = [f"burst {index}" for index in range(count)]
    middle = subjects[count // 2]
    handled: dict[str, float] = {}
    delivered: dict[str, float] = {}

    async def handler(mail: FetchedMail) -> None:
        assert mail.raw is not None
        processor.process(mail, "bench")
        subject = parse_mail(mail.raw).subject
        handled[subject] = time.monotonic()
        if subject == middle:  # the reply lands while the watcher works through the burst
            delivered[REPLY_SUBJECT] = await deliver(server, user, REPLY_SUBJECT)

    states: list[WatcherState] = []
    watcher = MailWatcher(
        ImapConfig(host=HOST, port=server.imap_port, security="none"),
        user.login,
        user.password,
        store,
        handler,
        on_status=lambda status: states.append(status.state),
        timings=WatcherTimings(response_timeout_seconds=STEP_TIMEOUT),
    )
    watcher.start()
    try:
        await wait_until_idle(states)
        for subject in subjects:
            delivered[subject] = await deliver(server, user, subject)
        deadline = time.monotonic() + STEP_TIMEOUT + BURST_WAIT
        while len(handled) < count + 1:
            if time.monotonic() > deadline:
                missing = [subject for subject in [*subjects, REPLY_SUBJECT] if subject not in handled]
                raise BenchError(
                    f"burst: {len(missing)} mail(s) not handled {BURST_WAIT:g} s after the burst "
                    f"({', '.join(missing[:3])}): a new-mail notice was lost"
                )
            await asyncio.sleep(0.01)
        return [handled[subject] - delivered[subject] for subject in [*subjects, REPLY_SUBJECT]]
    finally:
        await bounded(watcher.stop(), "MailWatcher.stop()")
        store.close()


def describe(name: str, values: list[float]) -> str:
    return (
        f"{name:<48} p50 {statistics.median(values):6.3f} s   p95 {percentile(values, 0.95):6.3f} s   "
        f"max {max(values):6.3f} s"
    )


def report(reference: list[float], measured: list[float], count: int, quick: bool, burst: list[float]) -> int:
    """Print the result lines and the verdict; the exit status."""
    print(f"inbound latency over {count} mails, LMTP delivery into dovecot → ...")
    print(describe("reference: bare aioimaplib IDLE push", reference))
    print(describe("MailWatcher: push → SEARCH → FETCH → handler", measured))
    ratio_p50 = statistics.median(measured) / statistics.median(reference)
    ratio_p95 = percentile(measured, 0.95) / percentile(reference, 0.95)
    print(
        f"ratio watcher/reference: p50 {ratio_p50:.3f}x   p95 {ratio_p95:.3f}x   "
        f"(watcher's own cost p50 {1000 * (statistics.median(measured) - statistics.median(reference)):.1f} ms)"
    )
    print(describe(f"burst of {len(burst) - 1} + the reply: delivery → stored", burst))
    print(
        f"burst: the reply delivered while mail {(len(burst) - 1) // 2 + 1} was handled took {burst[-1]:.3f} s; "
        f"ratio burst max / reference p95: {max(burst) / percentile(reference, 0.95):.3f}x"
    )
    target = f"target ≤ {TARGET_SECONDS:g} s to the handler (store + screen follow at once)"
    if quick:
        print(f"{target}: {SMOKE_VERDICT}")
        return 0
    if count < VERDICT_MAILS:
        print(f"{target}: no verdict, fewer than {VERDICT_MAILS} mails")
        return 0
    met = percentile(measured, 0.95) <= TARGET_SECONDS and max(burst) <= TARGET_SECONDS
    print(f"{target}, every mail of the burst included: {'met' if met else 'MISSED'}")
    return 0 if met else EXIT_MISSED


async def main_async(count: int, quick: bool, burst_count: int) -> int:
    main_task = asyncio.current_task()
    assert main_task is not None
    # Cancelling unwinds every `finally` below: watcher stopped, IMAP closed, dovecot stopped.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    try:
        with DovecotServer.start() as server:
            reference = await reference_push_latencies(server, server.new_user(), count)
            measured = await watcher_latencies(server, server.new_user(), count)
            with tempfile.TemporaryDirectory(prefix="taskping-bench-") as state_dir:
                burst = await burst_latencies(server, server.new_user(), burst_count, Path(state_dir))
    except asyncio.CancelledError:
        print("bench/inbound_latency.py: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except (BenchError, aioimaplib.Abort, aioimaplib.CommandTimeout, OSError, RuntimeError) as error:
        print(f"bench/inbound_latency.py: {error}", file=sys.stderr)
        return EXIT_ERROR
    return report(reference, measured, count, quick, burst)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_MAILS} mails (CI smoke), no verdict")
    parser.add_argument("--mails", type=int, default=VERDICT_MAILS)
    parser.add_argument("--burst", type=int, default=BURST_MAILS, help="mails delivered back to back")
    args = parser.parse_args()
    count = QUICK_MAILS if args.quick else max(1, args.mails)
    burst = QUICK_BURST if args.quick else max(2, args.burst)
    return asyncio.run(main_async(count, args.quick, burst))


if __name__ == "__main__":
    raise SystemExit(main())
