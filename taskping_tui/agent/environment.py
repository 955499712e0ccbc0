"""The environment the hosted agent runs with: the user's own, minus every secret the app reads.

Pure. The agent runs tools on the user's behalf and on the behalf of whoever writes its prompts (a mail
reply, a web page it reads): anything in its environment is one ``env`` call away. So the variable that
``mail.password_env`` names is removed, and so is every other variable whose value holds the resolved
mail password (a ``password_command`` such as ``echo $MAIL_PW``, or an ``[agent] env`` entry built from
one). Everything else the user has set stays.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from taskping_tui.config import MailConfig
from taskping_tui.mail.password import Secret

# A value this short is too likely to occur by chance ("1", "yes") to be matched inside other values.
MIN_SECRET_CHARS_FOR_SUBSTRING: Final = 6


def _holds(value: str, secret: str) -> bool:
    if not secret:
        return False
    return value == secret or (len(secret) >= MIN_SECRET_CHARS_FOR_SUBSTRING and secret in value)


def secret_variable_names(mail: MailConfig, base: Mapping[str, str], secret: Secret | None) -> set[str]:
    """Names in ``base`` that carry a secret: ``mail.password_env`` and any whose value holds the password."""
    names = {mail.password_env} if mail.password_env else set()
    if secret:
        names |= {name for name, value in base.items() if _holds(value, secret.reveal())}
    return names


def agent_environment(
    base: Mapping[str, str], extra: Mapping[str, str], mail: MailConfig, secret: Secret | None
) -> dict[str, str | None]:
    """What to change in ``base`` for the agent: ``extra`` without secrets, and None for each name to unset.

    (:func:`taskping_tui.terminal.process.build_child_env` applies it: None removes a variable.)
    """
    removed = secret_variable_names(mail, base, secret) | secret_variable_names(mail, extra, secret)
    changes: dict[str, str | None] = {name: value for name, value in extra.items() if name not in removed}
    changes.update({name: None for name in removed})
    return changes
