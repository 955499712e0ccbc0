"""The SQLite store: sessions' tokens, the outbox, seen mail, commands and the audit log.

`from taskping_tui.store import Store, CommandRow, …` is the public API; the modules inside are its parts.
"""

from taskping_tui.store.database import *  # noqa: F403  (re-export the store's public names)
