"""Danger patterns: commands that must wait for a human at the keyboard before reaching the agent.

Pure. A match does not reject a command; the gate marks it *blocked* and the user approves it by key.
Matching errs on the side of blocking: prose that mentions ``sudo`` is blocked too, and a person
approves it in one key press, while a destructive command typed by mistake (or by someone who got
past the sender check) is caught before it runs.

Patterns are matched against the command's folded form (:func:`taskping_tui.inbound.normalize.matching_view`:
invisible characters removed, NFKC, line continuations joined, blank runs collapsed, so ``r<ZWSP>m`` and
full-width ``ｒｍ`` read as ``rm``) and against a copy with shell quoting and escapes removed as well
(``r\\m -r'f'`` reads as ``rm -rf``).

Beyond downloads, anything piped, substituted or redirected into a shell or an interpreter is blocked
(``… | base64 -d | sh``, ``bash <(…)``, ``sh -c "$(…)"``, ``eval``, ``python -c "exec(…)"``): the text
that runs is not the text the user can read in the mail.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from taskping_tui.errors import TaskPingError
from taskping_tui.inbound.normalize import matching_view

# A command word starts at the beginning, after whitespace, or after a shell operator / path slash.
_W: Final = r"(?<![\w.-])"
# Arguments of the same simple command (stops at ; & | and newlines). Lazy, so a scan stops at the first hit.
_ARGS: Final = r"[^\n;&|]*?"


def _first(word: str, *, within: str = r"[^\n;&|]") -> str:
    """The first ``word`` of a simple command (or of a line, with ``within=r"[^\n]"``).

    Searching starts only where a command starts, and the atomic group settles on the first occurrence:
    whatever must follow a later occurrence also follows the first one, so not retrying loses no match
    and keeps matching linear on hostile input such as ``git git git …``.
    """
    start = r"(?:\A|(?<=[\n;&|]))" if within == r"[^\n;&|]" else r"(?:\A|(?<=\n))"
    return start + r"(?>" + within + r"*?" + _W + word + r")"


def _git(subcommand: str, flag: str) -> str:
    """``git … <subcommand> … <flag>`` in one simple command (the first subcommand word counts)."""
    return _first(r"git\s") + r"(?>" + _ARGS + r"\b(?:" + subcommand + r")\b)" + _ARGS + r"(?:" + flag + r")"


@dataclass(frozen=True)
class DangerPattern:
    name: str
    regex: re.Pattern[str]

    @property
    def pattern(self) -> str:
        return self.regex.pattern


@dataclass(frozen=True)
class DangerMatch:
    """Which pattern hit, and the text it matched (shown to the user before approval)."""

    name: str
    pattern: str
    matched: str


class DangerPatternError(TaskPingError, ValueError):
    """A user-supplied danger pattern is not a valid regular expression (message says which and why)."""


def _p(name: str, regex: str, flags: int = 0) -> DangerPattern:
    return DangerPattern(name, re.compile(regex, flags))


_I: Final = re.IGNORECASE
# GNU long options may be abbreviated to any unambiguous prefix: rm takes --rec and --forc too.
_RECURSIVE: Final = r"--r(?:e(?:c(?:u(?:r(?:s(?:i(?:v(?:e)?)?)?)?)?)?)?)?\b"
_FORCE: Final = r"--f(?:o(?:r(?:c(?:e)?)?)?)?\b"
# Shells (and shell-like runners) run whatever reaches them on stdin, whatever their arguments.
_SHELL: Final = r"(?:ba|z|da|k|c|tc|fi|a|mk|yash|posh|lk)?sh"
_STDIN_SHELL: Final = r"(?:" + _SHELL + r"|busybox\s+" + _SHELL + r"|source|\.|tclsh|wish|osascript|pwsh|powershell)"
# Language interpreters read their program from stdin only when no script, -c/-e or -m names one:
# ``| python3`` and ``| perl -`` run the piped text, ``| python3 -m json.tool`` only reads it.
_CODE_INTERPRETER: Final = r"(?:python[\d.]*|pypy[\d.]*|perl[\d.]*|ruby|node|nodejs|php[\d.]*|lua[\d.]*|Rscript|julia)"
_READS_PROGRAM_FROM_STDIN: Final = r"(?![\w./-])(?:\s+-(?![mceEr]\b)[A-Za-z]\w*)*(?:\s+-)?\s*(?=$|[;&|)\n])"
_INTERPRETER: Final = r"(?:" + _STDIN_SHELL + r"|" + _CODE_INTERPRETER + r")"
# What may stand before the program: sudo, env with assignments, nice/nohup/time/command/exec, a path.
_LAUNCHER: Final = (
    r"(?:(?:[\w.~-]*/)*(?:sudo|doas|nohup|nice|time|command|exec|builtin|xargs)(?:\s+-\S+)*\s+|"
    r"(?:[\w.~-]*/)*env(?:\s+-\S+)*(?:\s+\w+=\S*)*\s+|\w+=\S*\s+)*(?:[\w.~-]*/)*"
)

DEFAULT_DANGER_PATTERNS: Final[tuple[DangerPattern, ...]] = (
    _p(
        "rm -rf",
        _first(r"rm\b")
        + r"(?="
        + _ARGS
        + r"(?:\s-[a-zA-Z]*[rR]|\s"
        + _RECURSIVE
        + r"))"  # recursive …
        + r"(?="
        + _ARGS
        + r"(?:\s-[a-zA-Z]*f|\s"
        + _FORCE
        + r"))",  # … and forced, in any order or spelling
    ),
    _p("rm --no-preserve-root", _first(r"rm\b") + _ARGS + r"\s--no-preserve-root\b"),
    _p("rm of / or ~", _first(r"rm\s") + r"(?:" + _ARGS + r"\s)?(?:/|~/?|\$HOME/?|/\*|\*)(?=\s|$|[;&|])"),
    _p("chmod 777", _first(r"chmod\s") + _ARGS + r"(?:\b0?777\b|\b[augo]*\+rwx\b)"),
    _p(
        "chmod/chown -R on /",
        _first(r"(?:chmod|chown)\b") + r"(?>" + _ARGS + r"\s-[a-zA-Z]*R\b)" + _ARGS + r"\s/(?=\s|$)",
    ),
    _p(
        "download piped to a shell",
        _first(r"(?:curl|wget|fetch)\b", within=r"[^\n]")
        + r"[^\n]*?\|\s*(?:sudo\s+)?(?:env\s+)?(?:(?:ba|z|da|k|c|tc|fi)?sh|python[\d.]*|perl|ruby|node|php)\b",
    ),
    _p(
        "shell runs a download",
        _first(r"(?:ba|z|da|k)?sh\b", within=r"[^\n]")
        + r"[^\n]*?(?:<\(|\$\(|`)\s*(?:curl|wget)\b|"
        + _W
        + r"(?:source|\.)\s+<\(\s*(?:curl|wget)\b|"
        + _W
        + r"eval\s+[\"']?\$\(\s*(?:curl|wget)\b",
    ),
    _p(
        "piped into a shell or interpreter",
        r"\|&?\s*"
        + _LAUNCHER
        + r"(?:"
        + _STDIN_SHELL
        + r"(?![\w./-])(?!\s+-(?:-version|-help)\b)|"
        + _CODE_INTERPRETER
        + _READS_PROGRAM_FROM_STDIN
        + r")",
    ),
    _p(
        "shell reads a substitution or here-doc",
        _first(_INTERPRETER + r"(?![\w./-])") + _ARGS + r"(?:<\s*\(|<<<|<<-?\s*['\"]?\w+)",
    ),
    _p(
        "shell -c runs substituted text",
        _first(_INTERPRETER + r"(?![\w./-])")
        + r"(?>"
        + _ARGS
        + r"\s-[a-zA-Z]*[ce][a-zA-Z]*\s)"
        + r"\s*[\"']?\s*(?:\$\(|`|\$\{?\w)",
    ),
    _p(
        "interpreter -c runs decoded code",
        _first(r"(?:python[\d.]*|pypy[\d.]*|perl[\d.]*|ruby|node|php[\d.]*)\s", within=r"[^\n]")
        + r"(?>[^\n]*?(?<=\s)-[a-zA-Z]*[ceEr][a-zA-Z]*\s)"
        r"[^\n]*?(?:\bexec\s*\(|\beval\s*\(|\bsystem\s*\(|__import__|\bos\.|\bsubprocess\b|\bchild_process\b|"
        r"b64decode|base64|\bpack\s*\()",
    ),
    _p("eval", r"(?:\A|(?<=[\n;&|(`{]))\s*(?:" + _LAUNCHER + r")?eval\s+\S|" + _W + r"eval\s+[\"']?(?:\$\(|`)"),
    _p(
        "substituted text run as a command",
        r"(?:\A|(?<=[\n;&|(]))\s*(?:" + _LAUNCHER + r")?[\"']?(?:\$\(|`)",
    ),
    _p("mkfs", _W + r"mkfs(?:\.\w+)?\b|" + _W + r"(?:mke2fs|mkswap|wipefs)\b"),
    _p("dd if=/of=", _first(r"dd\s") + _ARGS + r"\b(?:if|of)="),
    # Bounded bodies: a fork bomb is short, and unbounded ones made this quadratic on "a(){ a(){ …".
    _p("fork bomb", r"(?<![\w:])([\w:]{1,40})\s*\(\)\s*\{[^}]{0,80}?\1\s*\|\s*\1\s*&[^}]{0,80}\}"),
    _p("git push --force", _git("push", r"\s--force(?:-with-lease|-if-includes)?\b|\s-[a-zA-Z]*f\b|\s\+[\w./-]+")),
    _p("git reset --hard", _git("reset", r"\s--hard\b")),
    _p("git clean -f", _git("clean", r"\s-[a-zA-Z]*f|\s--force\b")),
    _p("git checkout/restore discarding changes", _git("checkout|restore", r"\s(?:--\s+)?\.(?=\s|$)")),
    _p("git branch -D", _git("branch", r"\s-D\b|\s--delete\s+--force\b")),
    _p("SQL DROP", r"\bdrop\s+(?:table|database|schema|user|index)\b", _I),
    _p("SQL TRUNCATE", r"\bTRUNCATE\b|(?i:\btruncate\s+table\b)"),
    _p("SQL DELETE without WHERE", r"\bdelete\s+from\s+[\w.\"`\[\]]+\s*(?:;|$)", _I | re.MULTILINE),
    _p("write to a disk device", r">\s*/dev/(?:sd|hd|vd|xvd|nvme|mmcblk|disk|md|dm-)\w*"),
    _p(
        "shutdown/reboot",
        _W + r"(?:shutdown|reboot|poweroff)\b|" + _W + r"init\s+[06]\b|" + _W + r"systemctl\s+(?:halt|kexec)\b|"
        r"(?:^|[;&|]\s*|sudo\s+)halt\b",
        re.MULTILINE,
    ),
    _p("kill every process", _W + r"kill\s+-(?:9|KILL|SIGKILL)\s+-1\b|" + _W + r"killall5?\b|" + _W + r"pkill\s+-9\b"),
    _p("find -delete", _first(r"find\b") + _ARGS + r"\s-(?:delete|exec\s+rm)\b"),
    _p("crontab -r", _first(r"crontab\s") + _ARGS + r"-[a-zA-Z]*r\b"),
    _p("overwrite a dotfile", r"(?<![>])>\s*~?/?(?:[\w.-]*/)*\.(?:bashrc|zshrc|profile|bash_profile|ssh/\w+)\b"),
    _p("secrets read", r"(?:~|\$HOME)/\.ssh/id_\w+|(?:~|\$HOME)/\.aws/credentials|/etc/shadow\b"),
    # Generic privilege escalation last, so a more specific pattern names the danger when both hit.
    _p("sudo", _W + r"(?:sudo|doas|pkexec)\b"),
    _p("su -c", _W + r"su\s+(?:-\s+|-l\s+)?(?:\w+\s+)?-c\b"),
    # Claude Code runs a line starting with "!" directly in its shell, without a permission prompt.
    _p("Claude Code shell escape (!)", r"\A\s*!"),
)


_SHELL_QUOTING: Final = re.compile(r"[\\'\"`]")
_IFS: Final = re.compile(r"\$\{?IFS\}?")


def _matching_views(text: str) -> list[str]:
    """The command folded (see :mod:`taskping_tui.inbound.normalize`) and with shell quoting / $IFS tricks undone."""
    folded = matching_view(text)
    unquoted = _SHELL_QUOTING.sub("", _IFS.sub(" ", folded))
    return [folded] if unquoted == folded else [folded, unquoted]


def compile_patterns(
    specs: Iterable[str | Mapping[str, str] | tuple[str, str] | DangerPattern],
) -> tuple[DangerPattern, ...]:
    """Compile user patterns from config: a regex string, ``{name, pattern}``, or ``(name, pattern)``.

    User patterns match case-insensitively. Raises :class:`DangerPatternError` naming the bad entry.
    """
    compiled: list[DangerPattern] = []
    for number, spec in enumerate(specs, start=1):
        if isinstance(spec, DangerPattern):
            compiled.append(spec)
            continue
        if isinstance(spec, str):
            name, source = f"custom pattern {number}: {spec}", spec
        elif isinstance(spec, Mapping):
            source = spec.get("pattern", "")
            name = spec.get("name") or f"custom pattern {number}: {source}"
        elif isinstance(spec, tuple) and len(spec) == 2:
            name, source = spec
        else:
            raise DangerPatternError(f"danger pattern #{number} must be a string, got {type(spec).__name__}")
        if not isinstance(source, str) or not source.strip():
            raise DangerPatternError(f"danger pattern #{number} is empty")
        try:
            regex = re.compile(source, re.IGNORECASE)
        except re.error as exc:
            raise DangerPatternError(
                f"danger pattern #{number} {source!r} is not a valid regular expression: {exc}"
            ) from None
        if regex.search(""):
            raise DangerPatternError(
                f"danger pattern #{number} {source!r} matches empty text, so it would block everything"
            )
        compiled.append(DangerPattern(str(name), regex))
    return tuple(compiled)


def match_danger(
    text: str,
    extra_patterns: Sequence[DangerPattern | str] = (),
    *,
    include_defaults: bool = True,
) -> DangerMatch | None:
    """The first danger pattern (defaults first, then ``extra_patterns``) that matches ``text``."""
    extras = compile_patterns(extra_patterns) if any(isinstance(p, str) for p in extra_patterns) else extra_patterns
    patterns: list[DangerPattern] = list(DEFAULT_DANGER_PATTERNS) if include_defaults else []
    patterns.extend(p for p in extras if isinstance(p, DangerPattern))
    views = _matching_views(text)
    for pattern in patterns:
        for view in views:
            found = pattern.regex.search(view)
            if found:
                return DangerMatch(pattern.name, pattern.pattern, _snippet(view, found))
    return None


def _snippet(view: str, found: re.Match[str]) -> str:
    """The matched text, widened to the whole line it sits on (capped), so the user sees the context."""
    start = view.rfind("\n", 0, found.start()) + 1
    end = view.find("\n", found.end())
    line = view[start : end if end != -1 else len(view)].strip()
    return line if len(line) <= 200 else view[found.start() : found.end()][:200]
