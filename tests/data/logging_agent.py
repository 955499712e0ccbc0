"""A stand-in agent that records every byte it receives, for the hostile-mail suite.

Runs in raw mode (so the terminal's line discipline changes nothing) with bracketed paste on, like
Claude Code. Appends every byte read to $TP_AGENT_LOG and writes its environment as JSON to $TP_AGENT_ENV
at start. After each Enter it answers and draws a fresh "❯ " prompt, so the app sees a finished turn.
"""

import json
import os
import sys
import tty


def main() -> None:
    with open(os.environ["TP_AGENT_ENV"], "w", encoding="utf-8") as env_file:
        json.dump(dict(os.environ), env_file)
    log = open(os.environ["TP_AGENT_LOG"], "ab", buffering=0)  # noqa: SIM115 - open for the whole run
    tty.setraw(0)
    out = sys.stdout.buffer
    out.write(b"\x1b]0;Logging Agent\x07\x1b[?2004hlogging agent ready\r\n\xe2\x9d\xaf ")
    out.flush()
    while True:
        data = os.read(0, 65536)
        if not data:
            return
        log.write(data)
        if b"\r" in data:
            out.write(b"\r\nreceived\r\n\xe2\x9d\xaf ")
            out.flush()


if __name__ == "__main__":
    main()
