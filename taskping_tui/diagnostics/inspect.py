"""`taskping-tui inspect MAIL.eml`: what the gate would decide for one mail, without touching anything."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from taskping_tui import paths
from taskping_tui.config import Config
from taskping_tui.inbound.gate import GateFacts, GatePolicy, Verdict, decide
from taskping_tui.inbound.processor import InboundProcessor, gate_facts
from taskping_tui.mail.reply import parse_mail
from taskping_tui.store import Store, StoreError


def inspect_mail(raw: bytes, config: Config, store_path: Path | None = None) -> tuple[Verdict, str]:
    """The verdict for ``raw`` and a note on where token facts came from. The store is opened read-only."""
    policy = GatePolicy.from_config(config.security, InboundProcessor.own_addresses(config))
    now = time.time()
    path = store_path or paths.default_store_path()
    parsed = parse_mail(raw)
    if not path.exists():
        return decide(parsed, policy, GateFacts(), now), f"no store at {path}: tokens are reported as unknown"
    try:
        store = Store.open(path, read_only=True)
    except StoreError as error:
        return decide(parsed, policy, GateFacts(), now), f"store unreadable ({error}): tokens reported as unknown"
    try:
        return decide(parsed, policy, gate_facts(store, now), now), f"tokens checked against {path}"
    finally:
        store.close()


def format_verdict(verdict: Verdict) -> str:
    lines = [f"verdict: {verdict.kind.value}", f"from:    {verdict.sender or '(none)'}",
             f"token:   {verdict.token or '(none)'}"]
    if verdict.danger is not None:
        lines.append(f"danger:  {verdict.danger.name} ({verdict.danger.matched!r})")
    lines.append("command:")
    lines.extend(f"  {line}" for line in (verdict.command or "(empty)").splitlines())
    if verdict.reasons:
        lines.append("reasons:")
        lines.extend(f"  - {reason}" for reason in verdict.reasons)
    return "\n".join(lines)


def main(mail_path: Path, config: Config, *, as_json: bool, write: Callable[[str], object] = print) -> int:
    try:
        raw = mail_path.read_bytes()
    except OSError as error:
        write(f"taskping-tui inspect: cannot read {mail_path}: {error.strerror or error}")
        return 2
    verdict, note = inspect_mail(raw, config)
    if as_json:
        write(json.dumps(verdict.to_dict(), ensure_ascii=False, indent=2))
    else:
        write(format_verdict(verdict))
        write(f"({note})")
    return 0
