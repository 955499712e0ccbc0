"""Write config changes back to the user's TOML file without losing their comments.

Values are rendered with tomli-w. A key whose current value spans several lines, or a file we cannot
parse, cannot be edited in place: then the whole file is rewritten from the parsed data (comments are
lost) and the caller is told so, so it can say what changed.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

# A change: dotted table ("mail.smtp", "" for the top level), key, new value.
Change = tuple[str, str, Any]

TABLE_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\s*(#.*)?$")
KEY_LINE = re.compile(r"^(\s*)([A-Za-z0-9_\-]+)(\s*=\s*)(.*)$")


@dataclass
class WriteResult:
    path: Path
    comments_kept: bool
    changed: list[str] = field(default_factory=list)


def render_value(value: Any) -> str:
    """One TOML value as tomli-w writes it (on one line)."""
    rendered = tomli_w.dumps({"v": value}).strip()
    return rendered.split("=", 1)[1].strip()


def _value_is_complete(text: str) -> bool:
    try:
        tomllib.loads(f"v = {text}")
    except tomllib.TOMLDecodeError:
        return False
    return True


def _strip_comment(value_text: str) -> tuple[str, str]:
    """Split `value  # comment` into value and the trailing comment (with its spacing)."""
    for match in re.finditer(r"\s+#", value_text):
        head = value_text[: match.start()]
        if _value_is_complete(head):
            return head, value_text[match.start() :]
    return value_text, ""


class _InPlaceImpossible(Exception):
    pass


def _apply_in_place(text: str, changes: list[Change]) -> str:
    lines = text.splitlines()
    for table, key, value in changes:
        lines = _set_key(lines, table, key, value)
    return "\n".join(lines) + "\n"


def _table_bounds(lines: list[str], table: str) -> tuple[int, int] | None:
    """Line range [start, end) of the body of ``table`` ("" = top level before the first header)."""
    start = 0 if table == "" else None
    for index, line in enumerate(lines):
        header = TABLE_HEADER.match(line)
        if not header:
            continue
        if start is not None:
            return start, index
        if header.group(1).replace(" ", "") == table:
            start = index + 1
    return (start, len(lines)) if start is not None else None


def _set_key(lines: list[str], table: str, key: str, value: Any) -> list[str]:
    bounds = _table_bounds(lines, table)
    rendered = render_value(value)
    if bounds is None:
        while lines and not lines[-1].strip():
            lines.pop()
        return [*lines, "", f"[{table}]", f"{key} = {rendered}"]
    start, end = bounds
    for index in range(start, end):
        match = KEY_LINE.match(lines[index])
        if not match or match.group(2) != key:
            continue
        value_text, comment = _strip_comment(match.group(4))
        if not _value_is_complete(value_text):
            raise _InPlaceImpossible(f"{table}.{key} spans several lines")
        lines[index] = f"{match.group(1)}{key}{match.group(3)}{rendered}{comment}"
        return lines
    insert_at = end
    while insert_at > start and not lines[insert_at - 1].strip():
        insert_at -= 1
    return [*lines[:insert_at], f"{key} = {rendered}", *lines[insert_at:]]


def apply_changes(data: dict[str, Any], changes: list[Change]) -> dict[str, Any]:
    """Apply ``changes`` to parsed TOML data (nested dicts), creating tables as needed."""
    for table, key, value in changes:
        node = data
        for part in filter(None, table.split(".")):
            node = node.setdefault(part, {})
        node[key] = value
    return data


def write_private(path: Path, text: str) -> None:
    """Atomically write ``text`` to ``path`` as a 0600 file in a 0700-or-stricter directory."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temp_name, 0o600)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


class ConfigWriteError(Exception):
    pass


def update_config_file(path: Path, changes: list[Change]) -> WriteResult:
    """Apply ``changes`` to the file at ``path`` (created if missing), keeping comments when possible.

    A file that is not valid TOML is never overwritten: the user's text would be lost.
    """
    described = [f"{table + '.' if table else ''}{key} = {render_value(value)}" for table, key, value in changes]
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigWriteError(f"{path} is not valid TOML ({error}); fix it before saving changes") from None
    try:
        new_text = _apply_in_place(text, changes)
        tomllib.loads(new_text)
        comments_kept = True
    except (tomllib.TOMLDecodeError, _InPlaceImpossible):
        apply_changes(data, changes)
        new_text = tomli_w.dumps(data)
        comments_kept = "#" not in text
    write_private(path, new_text)
    return WriteResult(path=path, comments_kept=comments_kept, changed=described)
