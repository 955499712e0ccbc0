"""`taskping-tui inspect MAIL.eml`: what the gate would decide for one mail, without touching anything.

A mail the app already processed is reported with what was decided for it then (and what the gate
would decide now, without counting the mail as its own duplicate).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from taskping_tui import paths
from taskping_tui.config import Config
from taskping_tui.inbound.gate import GateFacts, GatePolicy, Verdict, decide
from taskping_tui.inbound.processor import InboundProcessor, gate_facts
from taskping_tui.mail.reply import parse_mail
from taskping_tui.store import CommandRow, InboundMailRow, Store, StoreError


@dataclass(frozen=True)
class RecordedDecision:
    """What the running app decided for this mail when it arrived."""

    mail: InboundMailRow
    command: CommandRow | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": str(self.mail.verdict),
            "reasons": list(self.mail.reasons),
            "received_at": datetime.fromtimestamp(self.mail.received_at).astimezone().isoformat(timespec="seconds"),
            "command_state": str(self.command.state) if self.command else None,
            "command": self.command.text if self.command else self.mail.command,
        }


@dataclass(frozen=True)
class Inspection:
    verdict: Verdict  # what the gate decides now
    note: str  # where token facts came from
    recorded: RecordedDecision | None = None


def _without_self_duplicate(facts: GateFacts, message_id: str) -> GateFacts:
    """The store's facts, except that this very mail's Message-ID does not count as seen before."""
    seen = facts.message_id_seen
    return dataclasses.replace(facts, message_id_seen=lambda mid: mid != message_id and seen(mid))


def inspect(raw: bytes, config: Config, store_path: Path | None = None) -> Inspection:
    """The verdict for ``raw`` (and what was recorded for it). The store is opened read-only."""
    policy = GatePolicy.from_config(config.security, InboundProcessor.own_addresses(config))
    now = time.time()
    path = store_path or paths.default_store_path()
    parsed = parse_mail(raw)
    if not path.exists():
        return Inspection(
            decide(parsed, policy, GateFacts(), now), f"no store at {path}: tokens are reported as unknown"
        )
    try:
        store = Store.open(path, read_only=True)
    except StoreError as error:
        return Inspection(
            decide(parsed, policy, GateFacts(), now), f"store unreadable ({error}): tokens reported as unknown"
        )
    try:
        recorded_mail = store.inbound_mail_by_message_id(parsed.message_id or "")
        facts = gate_facts(store, now)
        recorded = None
        if recorded_mail is not None:
            facts = _without_self_duplicate(facts, parsed.message_id or "")
            recorded = RecordedDecision(recorded_mail, store.command_for_mail(recorded_mail.id))
        return Inspection(decide(parsed, policy, facts, now), f"tokens checked against {path}", recorded)
    finally:
        store.close()


def inspect_mail(raw: bytes, config: Config, store_path: Path | None = None) -> tuple[Verdict, str]:
    """The verdict for ``raw`` now and a note on where token facts came from."""
    result = inspect(raw, config, store_path)
    return result.verdict, result.note


def format_verdict(verdict: Verdict) -> str:
    lines = [
        f"verdict: {verdict.kind.value}",
        f"from:    {verdict.sender or '(none)'}",
        f"token:   {verdict.token or '(none)'}",
    ]
    if verdict.danger is not None:
        lines.append(f"danger:  {verdict.danger.name} ({verdict.danger.matched!r})")
    lines.append("command:")
    lines.extend(f"  {line}" for line in (verdict.command or "(empty)").splitlines())
    if verdict.reasons:
        lines.append("reasons:")
        lines.extend(f"  - {reason}" for reason in verdict.reasons)
    return "\n".join(lines)


def format_recorded(recorded: RecordedDecision) -> str:
    when = datetime.fromtimestamp(recorded.mail.received_at).strftime("%Y-%m-%d %H:%M:%S")
    lines = [f"already processed {when}: {recorded.mail.verdict}"]
    lines.extend(f"  - {reason}" for reason in recorded.mail.reasons)
    if recorded.command is not None:
        command = recorded.command
        lines.append(f"  command #{command.id} is {command.state}" + (f" ({command.note})" if command.note else ""))
    return "\n".join(lines)


def main(
    mail_path: Path,
    config: Config,
    *,
    as_json: bool,
    write: Callable[[str], object] = print,
    store_path: Path | None = None,
) -> int:
    try:
        raw = mail_path.read_bytes()
    except OSError as error:
        write(f"taskping-tui inspect: cannot read {mail_path}: {error.strerror or error}")
        return 2
    result = inspect(raw, config, store_path)
    if as_json:
        data = result.verdict.to_dict()
        data["recorded"] = result.recorded.to_dict() if result.recorded else None
        write(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        if result.recorded is not None:
            write(format_recorded(result.recorded))
            write("\nwhat it would be now:")
        write(format_verdict(result.verdict))
        write(f"({result.note})")
    return 0
