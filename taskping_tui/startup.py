"""Start-up checks that run before the App: anything that would stop taskping-tui stops it here, as one
message naming the file or key and the fix (exit status 2), never as a traceback.

Textual-free. The App calls :func:`open_mail_store` and :func:`mail_policy` itself too (tests start it
directly), and turns the same errors into ``App.exit(return_code=2, message=…)``.
"""

from __future__ import annotations

from pathlib import Path

from taskping_tui.config import Config, ConfigError, check_mail_addresses
from taskping_tui.errors import TaskPingError
from taskping_tui.inbound.gate import GatePolicy
from taskping_tui.store import Store, StoreError


def mail_policy(config: Config, own_addresses: list[str]) -> GatePolicy:
    """The gate's policy for ``config``; a value the gate refuses becomes a :class:`ConfigError`.

    The mail addresses are checked again here: a Config built in code never went through parse_config.
    """
    check_mail_addresses(config)
    try:
        return GatePolicy.from_config(config.security, own_addresses)
    except TaskPingError as error:
        raise ConfigError(config.path, "security", error.problem, error.fix) from None
    except ValueError as error:
        raise ConfigError(config.path, "security", str(error)) from None


def own_addresses(config: Config) -> list[str]:
    """The service mailbox's own From addresses (``mail.address``, and ``mail.username`` when it is one)."""
    from taskping_tui.mail.address import AddressError, config_address

    found: list[str] = []
    for value in (config.mail.address, config.mail.username):
        try:
            found.append(config_address(value))
        except AddressError:
            continue  # a login name that is not an address is not a From address either
    return found


def open_mail_store(path: Path | None) -> Store:
    """:meth:`Store.open`, with every failure a :class:`StoreError` that says what to do."""
    try:
        return Store.open(path)
    except StoreError:
        raise
    except OSError as error:
        where = path or "the state directory"
        raise StoreError(
            f"cannot open the store {where}: {error.strerror or error}",
            "check that the state directory (XDG_STATE_HOME) is yours and writable",
        ) from None


def check_startup(config: Config, store_path: Path | None = None) -> None:
    """Raise a :class:`TaskPingError` for anything that would stop the App once it runs."""
    if not config.mail.enabled:
        return
    mail_policy(config, own_addresses(config))
    Store.check(store_path)
