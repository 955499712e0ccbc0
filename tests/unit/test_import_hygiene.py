"""The layering holds at run time: headless parts load no Textual, the hook client loads almost nothing.

Each import runs in a fresh interpreter, so what one module pulls in is not hidden by what an earlier test
imported. `lint-imports` (pyproject `[tool.importlinter]`) checks the same rules statically; this test also
catches what a static graph cannot see, such as a package `__init__` that loads a widget on first use.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest

import taskping_tui

# Packages whose every module must import without Textual or Rich.
HEADLESS_PACKAGES = ("inbound", "store", "mail", "config", "agent", "diagnostics", "terminal")
# The pane widget and the app's input driver are the UI side of the terminal package.
UI_MODULES = {"taskping_tui.terminal.view", "taskping_tui.terminal.driver"}

PROBE = """
import importlib, json, sys
before = set(sys.modules)
importlib.import_module(sys.argv[1])
loaded = sorted(set(sys.modules) - before)
print(json.dumps(loaded))
"""


def _loaded_by(module: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, module], capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(result.stdout)


def _headless_modules() -> list[str]:
    names = []
    for package in HEADLESS_PACKAGES:
        prefix = f"taskping_tui.{package}"
        names.append(prefix)
        path = [str(p) for p in taskping_tui.__path__]
        for info in pkgutil.walk_packages([f"{path[0]}/{package}"], prefix=f"{prefix}."):
            if info.name not in UI_MODULES:
                names.append(info.name)
    return sorted(names)


def _ui_libraries(loaded: list[str]) -> list[str]:
    return sorted({name.split(".")[0] for name in loaded} & {"textual", "rich"})


def test_every_headless_package_is_probed() -> None:
    modules = _headless_modules()
    assert "taskping_tui.inbound.injector" in modules
    assert "taskping_tui.terminal.keys" in modules
    assert not UI_MODULES & set(modules)


@pytest.mark.parametrize("module", _headless_modules())
def test_headless_module_loads_no_textual(module: str) -> None:
    assert _ui_libraries(_loaded_by(module)) == [], f"importing {module} loads Textual/Rich"


def test_the_probe_sees_textual_when_a_module_loads_it() -> None:
    assert _ui_libraries(_loaded_by("taskping_tui.terminal.view")) == ["rich", "textual"]


@pytest.mark.parametrize("module", ["taskping_tui.cli", "taskping_tui.agent.hook_client"])
def test_the_hook_path_stays_import_light(module: str) -> None:
    """`taskping-tui hook` runs once per Claude Code hook call: cli and hook_client import only the stdlib
    they need (today 5 and 10 modules), never asyncio, the app's config, or any other part of the app."""
    loaded = _loaded_by(module)
    ours = {name for name in loaded if name.startswith("taskping_tui")}
    assert ours <= {"taskping_tui", "taskping_tui.cli", "taskping_tui.agent", "taskping_tui.agent.hook_client"}
    assert not {"asyncio", "textual", "rich", "sqlite3", "email"} & {name.split(".")[0] for name in loaded}
    assert len(loaded) <= 25, loaded


def test_the_app_loads_no_pyte_the_emulator_process_parses() -> None:
    """pyte and its width tables cost ~9 MB and ~25 ms; the pane's output is parsed in the emulator process."""
    loaded = {name.split(".")[0] for name in _loaded_by("taskping_tui.app")}
    assert "textual" in loaded
    assert not {"pyte", "wcwidth"} & loaded
