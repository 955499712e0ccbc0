"""Command line entry point: `taskping-tui [--config FILE] [-- COMMAND [ARGS...]]` and its subcommands.

Kept free of heavy imports: `taskping-tui hook` runs once per Claude Code hook and must start fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from taskping_tui import __version__

DESCRIPTION = """\
Run a coding agent (Claude Code by default) in a terminal pane, get a mail when it finishes a turn
or waits for you, and answer from your phone."""

EPILOG = """\
commands:
  taskping-tui init     set up mail interactively and write the config file
  taskping-tui doctor   check the config, mail servers, agent and hooks, with a fix for each problem
  taskping-tui inspect  run one .eml file through reply parsing and the gate, and print the verdict
  taskping-tui hook     forward one Claude Code hook event to the running app (used by the
                        hooks taskping-tui installs for each launch; not for direct use)

examples:
  taskping-tui                      bring back the last run's open sessions ([sessions] on_start),
                                    or open one session here running the [agent] command (default: claude)
  taskping-tui -- claude --model opus
                                    one new session here running that command
  taskping-tui -s ~/api -s ~/web    one new session per directory, numbered 1, 2 in that order
  taskping-tui -s ~/api -- bash     the same with another command
  taskping-tui --config ./dev.toml -- bash

keys: F6 (`[ui] command_key`) is the only key the agent pane does not get; it opens the command layer
(1-9 session N, Tab last used, Space next that needs you, n new, r rename, R restart/resume, x close,
s send F6 to the agent, q quit, F6/Esc back to the pane).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="taskping-tui",
        usage="taskping-tui [-h] [--version] [--config FILE] [-s DIR ...] [-- COMMAND [ARGS...]]",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"taskping-tui {__version__}")
    parser.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="config file (default: the XDG config dir's taskping-tui/config.toml)",
    )
    parser.add_argument(
        "-s",
        "--session",
        metavar="DIR",
        action="append",
        default=[],
        dest="session_dirs",
        help="open a new session in DIR (repeat for more); each runs COMMAND, or the config's agent command",
    )
    return parser


def split_agent_command(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split our own options from the agent command that follows `--`."""
    args = list(argv)
    if "--" in args:
        index = args.index("--")
        return args[:index], args[index + 1 :]
    return args, []


QUIET_LOGGERS = ("aioimaplib", "aiosmtplib", "mail.log")


def setup_logging() -> Path | None:
    """Log to a private file in the state dir (the screen belongs to the app); None if that fails."""
    import logging
    import os

    from taskping_tui import paths

    try:
        paths.ensure_private_dir(paths.state_dir())
        log_file = paths.log_path()
        fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.close(fd)
        os.chmod(log_file, 0o600)
    except OSError:
        return None
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # The mail libraries log whole protocol exchanges at DEBUG (mail text, the LOGIN password): never those.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return log_file


# Textual composes frames on a fixed grid of 1/TEXTUAL_FPS (default 60): output the pane has parsed
# waits up to 17 ms for the next grid tick before anyone sees it (≈ 20 ms of every short `ls`, end to
# end). The pane paces its own frames (60 a second, 10 while it floods) and an idle app composes
# nothing, so a finer grid costs no frames, only that wait.
FRAME_GRID_FPS = 240


def import_textual_with_fine_frame_grid() -> None:
    """Import Textual reading TEXTUAL_FPS = FRAME_GRID_FPS unless the user set it.

    Textual reads the variable once, at import; it is removed again so that the agents started in
    the panes (a Textual app among them) do not inherit it.
    """
    preset = "TEXTUAL_FPS" in os.environ
    if not preset:
        os.environ["TEXTUAL_FPS"] = str(FRAME_GRID_FPS)
    try:
        import textual.constants  # noqa: F401
    finally:
        if not preset:
            os.environ.pop("TEXTUAL_FPS", None)


def report_bad_config(error: Exception) -> int:
    """Say what is wrong with the config (its message names the file, key and fix); exit status 2."""
    print(f"taskping-tui: bad config\n{error}", file=sys.stderr)
    return 2


def run_app(config_path: Path | None, agent_argv: list[str], session_dirs: Sequence[str] = ()) -> int:
    from taskping_tui.config import ConfigError, load_config
    from taskping_tui.errors import TaskPingError, describe_error
    from taskping_tui.startup import check_startup

    try:
        config = load_config(config_path)
        check_startup(config)
    except ConfigError as error:
        return report_bad_config(error)
    except TaskPingError as error:
        print(describe_error(error), file=sys.stderr)
        return 2
    for warning in config.warnings:
        print(f"taskping-tui: warning: {warning}", file=sys.stderr)
    setup_logging()

    import gc

    import_textual_with_fine_frame_grid()
    from taskping_tui.app import TaskPingApp

    # Everything imported so far lives for the whole run: keep it out of the collector's way, which
    # otherwise re-scans it while the terminal pane parses output (≈20 % of parse time).
    gc.freeze()
    # A flooding pane allocates steadily (parsed runs, painted strips) over a heap dominated by the
    # 10,000-row scrollback; the default 700-object gen-0 threshold makes full collections of it
    # (tens of ms each, stalling parsing and echo) every few MB. Collect less often.
    gc.set_threshold(20_000, 20, 20)
    # Textual's input and writer threads need the GIL for a moment per key / per frame; while the
    # pane floods, the loop thread holds it and would hand it over only every 5 ms (the default).
    sys.setswitchinterval(0.001)
    app = TaskPingApp(config=config, agent_argv=agent_argv or None, session_dirs=list(session_dirs))
    app.run()
    return app.return_code or 0


def run_doctor(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="taskping-tui doctor", description="Check everything taskping-tui needs; exit 1 on any error."
    )
    parser.add_argument("--config", metavar="FILE", type=Path, help="config file to check")
    parser.add_argument("--send-test", action="store_true", help="also send a test mail to the recipients")
    options = parser.parse_args(argv)
    from taskping_tui.diagnostics.doctor import main as doctor_main

    return doctor_main(options.config, send_test=options.send_test)


def run_init(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="taskping-tui init", description="Set up mail interactively and write the config file."
    )
    parser.add_argument("--config", metavar="FILE", type=Path, help="where to write (default: the XDG path)")
    options = parser.parse_args(argv)
    from taskping_tui import paths
    from taskping_tui.init_app import InitApp

    result = InitApp(options.config or paths.default_config_path()).run()
    if result is None:
        print("Nothing was written.")
        return 1
    print(
        f"Saved {result.path}"
        + ("" if result.comments_kept else " (rewritten: its comments could not be kept)")
        + ". Set:"
    )
    for change in result.changed:
        print(f"  {change}")
    print("Next: `taskping-tui doctor` checks the mail servers; then run `taskping-tui`.")
    return 0


def run_inspect(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="taskping-tui inspect",
        description="Run one mail file through reply parsing and the gate, without touching the mailbox or the store.",
    )
    parser.add_argument("--config", metavar="FILE", type=Path, help="config file (allowlist, danger patterns)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("mail", metavar="MAIL.eml", type=Path)
    options = parser.parse_args(argv)
    from taskping_tui.config import ConfigError, load_config
    from taskping_tui.diagnostics.inspect import main as inspect_main

    try:
        config = load_config(options.config)
    except ConfigError as error:
        return report_bad_config(error)
    return inspect_main(options.mail, config, as_json=options.json)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "hook":
        from taskping_tui.agent.hook_client import main as hook_main

        return hook_main(argv[1:])
    if argv and argv[0] == "doctor":
        return run_doctor(argv[1:])
    if argv and argv[0] == "init":
        return run_init(argv[1:])
    if argv and argv[0] == "inspect":
        return run_inspect(argv[1:])
    own, agent_argv = split_agent_command(argv)
    parser = build_parser()
    options, unexpected = parser.parse_known_args(own)
    if unexpected:
        parser.error(
            f"unexpected {unexpected[0]!r}: put the agent command after `--`, "
            f"e.g. taskping-tui -- {' '.join(unexpected)}"
        )
    for directory in options.session_dirs:
        if not Path(directory).expanduser().is_dir():
            parser.error(f"-s {directory}: not a directory")
    return run_app(options.config, agent_argv, [str(Path(d).expanduser()) for d in options.session_dirs])


if __name__ == "__main__":
    sys.exit(main())
