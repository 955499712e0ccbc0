"""Smoke runs of every bench/ script in its smallest mode: each must finish and print its result lines.

No timing is asserted (CI machines vary); a benchmark that crashes, hangs or stops printing the numbers
the README's performance table is built from fails here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NUMBER = r"[0-9]+(?:\.[0-9]+)?"

# One worker runs the benches one after another: each loads the machine, two at once starve each other.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(150), pytest.mark.xdist_group("benches")]


@dataclass(frozen=True)
class BenchRun:
    script: str
    args: tuple[str, ...]
    # Every pattern must match some line of stdout (re.MULTILINE).
    result_lines: tuple[str, ...]
    timeout: float


BENCHES = [
    BenchRun(
        "throughput",
        ("--quick",),
        (rf"^whole\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}x\s+{NUMBER}x", rf"^plain\s+{NUMBER}\s+{NUMBER}"),
        60,
    ),
    BenchRun(
        "latency",
        ("--quick",),
        (
            r"^\[idle\]$",
            r"^\[flood\]$",
            rf"^  taskping pane\s+p50\s+{NUMBER} ms\s+p95\s+{NUMBER} ms",
            rf"^  ours / tmux\s+p50 ×{NUMBER}\s+p95 ×{NUMBER}$",
        ),
        60,
    ),
    BenchRun(
        "inbound_latency.py",
        ("--quick",),
        (
            rf"^MailWatcher: push → SEARCH → FETCH → handler\s+p50\s+{NUMBER} s",
            rf"^reference: bare aioimaplib IDLE push\s+p50\s+{NUMBER} s",
            rf"^ratio watcher/reference: p50 {NUMBER}x",
        ),
        60,
    ),
    BenchRun(
        "idle_cpu",
        ("--quick",),
        (
            rf"^taskping-tui \(app \+ emulator, child excluded\)\s+{NUMBER} %$",
            rf"^reference: minimal Textual app, focused Input\s+{NUMBER} %$",
            r"^target ≤ 1 % of one core \(30 s window\): ",
        ),
        60,
    ),
    BenchRun(
        "memory",
        ("--quick",),
        (
            rf"^taskping-tui \(app \+ emulator, child excluded\)\s+{NUMBER} MB\s+{NUMBER} MB\s+-?{NUMBER} MB",
            rf"^reference: tmux server, history \d+ lines\s+{NUMBER} MB\s+{NUMBER} MB",
            r"^target app RSS ≤ 80 MB with the scrollback full: ",
        ),
        90,
    ),
    BenchRun(
        "startup",
        ("--quick",),
        (
            r"^taskping-tui: first frame\s+\d+\s+\d+\s+\d+$",
            r"^reference: minimal Textual app, one Static\s+\d+\s+\d+\s+\d+$",
            r"^target first frame ≤ 0.5 s \(median of ≥ 5 runs\): ",
        ),
        60,
    ),
    BenchRun(
        "sessions",
        ("--quick",),
        (
            rf"^  8 idle sessions: {NUMBER} % of one core",
            rf"^RSS per extra session with a [0-9,]+-line coloured scrollback: -?{NUMBER} MB",
            rf"^switch F6\+N → new pane fully painted, 5 samples: p50 {NUMBER} ms, p95 {NUMBER} ms",
            rf"^reference, key echoed in the same app: p50 {NUMBER} ms",
        ),
        140,
    ),
    BenchRun(
        "loop",
        ("--quick",),
        (
            rf"^taskping-tui: text received by the mock API\s+p50\s+{NUMBER} s\s+p95\s+{NUMBER} s",
            rf"^reference: bare aioimaplib IDLE sees EXISTS\s+p50\s+{NUMBER} s",
            rf"^ratio ours / reference: p50 {NUMBER}x\s+p95 {NUMBER}x",
        ),
        120,
    ),
]


@pytest.mark.parametrize("bench", BENCHES, ids=[bench.script for bench in BENCHES])
def test_bench_finishes_and_prints_its_results(bench: BenchRun) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / bench.script), *bench.args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=bench.timeout,
        check=False,
    )
    assert result.returncode == 0, f"bench/{bench.script} exited {result.returncode}:\n{result.stderr[-3000:]}"
    missing = [pattern for pattern in bench.result_lines if not re.search(pattern, result.stdout, flags=re.MULTILINE)]
    assert not missing, f"bench/{bench.script} did not print {missing}; stdout was:\n{result.stdout}"
