"""Desktop notifications through the outer terminal: OSC 9, OSC 99 (kitty), OSC 777, or a plain BEL.

``notification_bytes`` is pure (environment passed in); ``TerminalNotifier`` writes the sequence through a
running Textual app. Textual's driver owns stdout (a writer thread), so raw writes must go through
``app._driver.write`` exactly as Textual itself does for its bell and OSC 52 clipboard.
"""

from __future__ import annotations

import enum
import logging
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import App

logger = logging.getLogger(__name__)

ESC = "\x1b"
BEL = "\x07"
ST = ESC + "\\"
MAX_FIELD_CHARS = 200
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")

OSC9_TERM_PROGRAMS = frozenset({"iTerm.app", "WezTerm", "ghostty", "mintty"})
OSC777_TERM_PREFIXES = ("rxvt", "foot", "contour")


class NotifyMethod(enum.Enum):
    OSC9 = "osc9"
    OSC99 = "osc99"
    OSC777 = "osc777"
    BEL = "bel"


def choose_method(env: Mapping[str, str]) -> NotifyMethod:
    """Pick what the outer terminal understands, from TERM_PROGRAM / TERM and friends.

    Inside tmux or screen the outer terminal is hidden and passthrough is off by default, so a BEL (which
    tmux turns into its own bell / activity alert) is the one signal that reliably gets through.
    """
    term = env.get("TERM", "")
    program = env.get("TERM_PROGRAM", "")
    if env.get("TMUX") or program == "tmux" or term.startswith(("screen", "tmux")):
        return NotifyMethod.BEL
    if env.get("KITTY_WINDOW_ID") or term == "xterm-kitty":
        return NotifyMethod.OSC99
    if program in OSC9_TERM_PROGRAMS or env.get("LC_TERMINAL") == "iTerm2":
        return NotifyMethod.OSC9
    if term.startswith(OSC777_TERM_PREFIXES):
        return NotifyMethod.OSC777
    return NotifyMethod.BEL


def clean_field(text: str, forbid_semicolon: bool = False) -> str:
    """Text safe inside an OSC string: no control characters (they could end or forge a sequence)."""
    cleaned = _CONTROL_CHARS.sub(" ", text)
    if forbid_semicolon:
        cleaned = cleaned.replace(";", ",")
    cleaned = " ".join(cleaned.split())
    return cleaned[:MAX_FIELD_CHARS]


def notification_sequence(title: str, body: str, method: NotifyMethod) -> str:
    if method is NotifyMethod.OSC9:
        return f"{ESC}]9;{clean_field(f'{title}: {body}' if body else title)}{BEL}"
    if method is NotifyMethod.OSC99:
        head = f"{ESC}]99;i=taskping:d=0:p=title;{clean_field(title)}{ST}"
        return head + f"{ESC}]99;i=taskping:d=1:p=body;{clean_field(body)}{ST}"
    if method is NotifyMethod.OSC777:
        return f"{ESC}]777;notify;{clean_field(title, True)};{clean_field(body, True)}{BEL}"
    return BEL


def notification_bytes(title: str, body: str, env: Mapping[str, str] | None = None) -> bytes:
    """The bytes that make the outer terminal show (or ring for) a notification."""
    method = choose_method(os.environ if env is None else env)
    return notification_sequence(title, body, method).encode("utf-8")


class TerminalNotifier:
    """Sends desktop notifications through a running Textual app's terminal driver."""

    def __init__(self, app: App[Any], env: Mapping[str, str] | None = None) -> None:
        self.app = app
        self.method = choose_method(os.environ if env is None else env)

    def notify(self, title: str, body: str) -> bool:
        """Write the notification; False when there is no real terminal (headless, tests, not running)."""
        driver = getattr(self.app, "_driver", None)
        if driver is None or getattr(driver, "is_headless", False):
            return False
        try:
            driver.write(notification_sequence(title, body, self.method))
            driver.flush()
        except Exception:  # the driver may be shutting down; a missed desktop ping is not an error
            logger.debug("could not write a desktop notification", exc_info=True)
            return False
        return True
