"""The one validator for every address setting (``mail.address``, ``mail.recipients``,
``security.allowed_senders``, the gate's own addresses).

It accepts exactly what the gate can match: :func:`~taskping_tui.mail.reply.parse_from` must read one
unambiguous address, and that address must have a local part and a domain of dot-separated labels.
``"@example.com"`` (a domain, not an address) and ``"bot@"`` used to pass the config check and then crash
start-up; now both stop it with a message naming the key.
"""

from __future__ import annotations

import re
from typing import Final

from taskping_tui.errors import TaskPingError
from taskping_tui.mail.reply import parse_from

_DOMAIN_LABEL: Final = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.IGNORECASE)
EXAMPLE: Final = '"you@example.com"'


class AddressError(TaskPingError, ValueError):
    """A configured address that the gate could never match; the message says why."""


def config_address(value: object, what: str = "address") -> str:
    """The address the gate will compare, lower-cased; raises :class:`AddressError` naming ``what``.

    A display name (``"Me <me@example.com>"``) is accepted and dropped.
    """
    fix = f"write one plain address, e.g. {EXAMPLE}"
    if not isinstance(value, str) or not value.strip():
        raise AddressError(f"{what}: an empty value is not a mail address", fix)
    address, _display = parse_from(value)
    if not address:
        raise AddressError(f"{what}: {value!r} is not a single mail address", fix)
    local, _, domain = address.rpartition("@")
    if not local:
        raise AddressError(f"{what}: {value!r} has nothing before the @", fix)
    labels = domain.split(".")
    if len(labels) < 2 and domain != "localhost" or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels):
        raise AddressError(f"{what}: {value!r} does not end in a domain name such as example.com", fix)
    return address
