"""Reading what a child wrote to its PTY master, without blocking: the app's own reader and the
emulator process both read this way (and the emulator process imports nothing more for it)."""

from __future__ import annotations

import errno
import logging
import os
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PtyOutput:
    data: bytes
    drained: bool  # the kernel's buffer ran empty: the child wrote no more than this, for now
    ended: bool  # EIO or EOF: every slave fd is closed (the child and its children are gone)


def read_available(fd: int, budget: int) -> PtyOutput:
    """Up to ``budget`` bytes from the non-blocking ``fd``; a PTY hands out a few KiB per read."""
    chunks: list[bytes] = []
    total = 0
    drained = ended = False
    while total < budget:
        try:
            data = os.read(fd, budget - total)
        except BlockingIOError:
            drained = True
            break
        except OSError as error:
            if error.errno != errno.EIO:
                logger.warning("reading the child's terminal failed: %s", error)
            ended = True
            break
        if not data:
            ended = True
            break
        chunks.append(data)
        total += len(data)
    return PtyOutput(chunks[0] if len(chunks) == 1 else b"".join(chunks), drained, ended)
