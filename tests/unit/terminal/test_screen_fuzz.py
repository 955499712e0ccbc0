"""Fuzz: more than 10^6 random and mutated bytes through TerminalScreen; nothing may escape feed()."""

from __future__ import annotations

import logging
import random
import time

from taskping_tui.terminal.screen import Cell, TerminalScreen
from tests.support import STREAMS_DIR

STREAMS = STREAMS_DIR
SEED = 20261124

# Fragments that make random input hit the parser's interesting states.
ALPHABET = [
    b"\x1b",
    b"[",
    b"]",
    b"P",
    b"_",
    b"^",
    b"X",
    b"\\",
    b"\x07",
    b"?",
    b">",
    b"<",
    b"=",
    b";",
    b":",
    b"$",
    b"!",
    b" ",
    b"0",
    b"1",
    b"2",
    b"5",
    b"9",
    b"38",
    b"48",
    b"1049",
    b"2026",
    b"99999999",
    b"m",
    b"H",
    b"G",
    b"J",
    b"K",
    b"h",
    b"l",
    b"r",
    b"n",
    b"c",
    b"q",
    b"u",
    b"p",
    b"@",
    b"L",
    b"M",
    b"P",
    b"X",
    b"b",
    b"S",
    b"T",
    b"(",
    b"0",
    b"B",
    b"#",
    b"8",
    b"7",
    b"\r",
    b"\n",
    b"\t",
    b"\x08",
    b"\x0e",
    b"\x0f",
    b"\x18",
    b"\x7f",
    "中".encode(),
    "\u200d".encode(),
    "\ufe0f".encode(),
    "\u0301".encode(),
    "\U0001f468".encode(),
    b"\xe4",
    b"\xb8",
    b"\xc2\x9b",
    b"abc",
    b"x" * 30,
]


def check_invariants(screen: TerminalScreen) -> None:
    assert len(screen.buffer) == screen.lines
    for row in screen.buffer:
        assert len(row) == screen.columns
    assert 0 <= screen.cursor.x <= screen.columns
    assert 0 <= screen.cursor.y < screen.lines
    assert isinstance(screen.buffer[screen.cursor.y][0], Cell)
    assert all(len(row) > 0 for row in screen.history)


def random_bytes(rng: random.Random, size: int) -> bytes:
    return rng.randbytes(size)


def token_soup(rng: random.Random, size: int) -> bytes:
    out = bytearray()
    while len(out) < size:
        out += rng.choice(ALPHABET)
    return bytes(out)


def text_heavy(rng: random.Random, size: int) -> bytes:
    """Mostly printable text (ASCII, CJK, emoji, combining) with an escape now and then."""
    out = bytearray()
    while len(out) < size:
        roll = rng.random()
        if roll < 0.6:
            out += "".join(chr(rng.randint(0x20, 0x7E)) for _ in range(rng.randint(1, 200))).encode()
        elif roll < 0.8:
            out += "".join(
                chr(rng.choice((0x4E00, 0x1F600, 0x301, 0x200D, 0xFE0F, 0x2500, 0xE9)) + rng.randint(0, 40))
                for _ in range(rng.randint(1, 30))
            ).encode()
        else:
            out += b"".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 12)))
    return bytes(out)


def mutate(rng: random.Random, data: bytes, size: int) -> bytes:
    out = bytearray()
    while len(out) < size:
        piece = bytearray(data[rng.randrange(len(data)) :][: rng.randint(1, 4096)])
        for _ in range(rng.randint(0, 8)):
            if not piece:
                break
            pos = rng.randrange(len(piece))
            action = rng.random()
            if action < 0.3:
                piece[pos] ^= 1 << rng.randrange(8)
            elif action < 0.5:
                del piece[pos : pos + rng.randint(1, 16)]
            elif action < 0.7:
                piece[pos:pos] = rng.choice(ALPHABET)
            elif action < 0.85:
                piece[pos:pos] = piece[pos : pos + rng.randint(1, 64)]
            else:
                piece[pos] = rng.randrange(256)
        out += piece
    return bytes(out)


def feed_in_random_chunks(rng: random.Random, screen: TerminalScreen, data: bytes) -> None:
    pos = 0
    while pos < len(data):
        size = rng.choice((1, 2, 3, 17, 256, 4096, 16384))
        screen.feed(data[pos : pos + size])
        pos += size
        if rng.random() < 0.002:
            screen.resize(rng.randint(1, 40), rng.randint(1, 120))
        if rng.random() < 0.01:
            check_invariants(screen)


def test_a_million_random_and_mutated_bytes_never_raise(caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG, logger="taskping_tui.terminal.parser")
    rng = random.Random(SEED)
    recorded = b"".join(path.read_bytes() for path in sorted(STREAMS.glob("*.bin")))
    assert len(recorded) > 5000
    corpus = [
        random_bytes(rng, 300_000),
        token_soup(rng, 300_000),
        text_heavy(rng, 300_000),
        mutate(rng, recorded, 400_000),
    ]
    total = sum(len(data) for data in corpus)
    assert total >= 1_000_000
    replies: list[bytes] = []
    start = time.monotonic()
    for data in corpus:
        screen = TerminalScreen(rng.randint(20, 120), rng.randint(5, 40), scrollback=500)
        screen.on_reply = replies.append
        screen.on_title = lambda title: None
        feed_in_random_chunks(rng, screen, data)
        check_invariants(screen)
        # The screen still works normally after the abuse.
        screen.feed(b"\x1bc\x1b[?1049l\x1b[0m\x1b(B\x1b[4l\r\nhello")
        assert "".join(c.data for c in screen.row_cells(screen.cursor.y)).startswith("hello")
    assert time.monotonic() - start < 30
    assert all(isinstance(reply, bytes) for reply in replies)
    handler_errors = [r for r in caplog.records if "handler error" in r.getMessage()]
    assert handler_errors == [], "a sequence handler raised (caught by feed, but it is a bug)"
