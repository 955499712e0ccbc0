"""``taskping-tui hook``: run by Claude Code for each hook; forwards the hook's stdin JSON to the app.

Rules this module lives by, because Claude Code waits on it:
- exit 0 always, within about one second, even when the app is gone or stuck;
- write nothing to stdout (Claude Code reads hook stdout as instructions) nor to stderr;
- import only small stdlib modules (no Textual, no asyncio, no json: the server validates).
"""

from __future__ import annotations

import os
import select
import socket
import sys
import time

# Whole run budget; Claude Code's own hook timeout is longer, this keeps a turn from ever stalling on us.
TOTAL_BUDGET_SECONDS = 0.8
# Hook payloads carry the whole last answer; anything beyond this is dropped by the server as well.
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024
SOCKET_ENV = "TASKPING_HOOK_SOCKET"


def socket_path_from_args(argv: list[str]) -> str | None:
    """``[hook] --socket PATH`` (or ``--socket=PATH``); falls back to $TASKPING_HOOK_SOCKET."""
    args = argv[1:] if argv and argv[0] == "hook" else argv
    for index, word in enumerate(args):
        if word == "--socket" and index + 1 < len(args):
            return args[index + 1]
        if word.startswith("--socket="):
            return word.split("=", 1)[1]
    return os.environ.get(SOCKET_ENV) or None


def read_stdin_bounded(deadline: float, fd: int = 0) -> bytes | None:
    """Read stdin until EOF, the size cap or the deadline; None when over the cap or out of time."""
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            return None
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_PAYLOAD_BYTES:
            return None
        chunks.append(chunk)


def as_one_line(payload: bytes) -> bytes:
    """JSON never needs a raw newline (inside strings they are escaped), so flatten to a single line."""
    return payload.replace(b"\r", b" ").replace(b"\n", b" ").strip() + b"\n"


def send_line(path: str, line: bytes, deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(remaining)
        sock.connect(path)
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        sock.sendall(line)
        sock.shutdown(socket.SHUT_WR)


def forward(argv: list[str], deadline: float) -> None:
    path = socket_path_from_args(argv)
    payload = read_stdin_bounded(deadline)
    if not path or not payload or not payload.strip():
        return
    send_line(path, as_one_line(payload), deadline)


def main(argv: list[str] | None = None) -> int:
    """Entry point for ``taskping-tui hook --socket PATH``. Always returns 0."""
    deadline = time.monotonic() + TOTAL_BUDGET_SECONDS
    try:
        forward(list(sys.argv[1:] if argv is None else argv), deadline)
    except BaseException:  # noqa: BLE001 - a hook must never fail Claude Code, whatever happened
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
