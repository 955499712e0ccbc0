"""The app composes frames on a 240 fps grid; the agents in its panes never inherit that setting."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = (
    "import os\n"
    "from taskping_tui.cli import import_textual_with_fine_frame_grid\n"
    "import_textual_with_fine_frame_grid()\n"
    "import textual.constants\n"
    "print(textual.constants.MAX_FPS, os.environ.get('TEXTUAL_FPS'))\n"
)


def probe(env_fps: str | None) -> str:
    env = {key: value for key, value in os.environ.items() if key != "TEXTUAL_FPS"}
    if env_fps is not None:
        env["TEXTUAL_FPS"] = env_fps
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_app_composes_on_a_fine_grid_and_its_children_see_no_setting() -> None:
    assert probe(None) == "240 None"


@pytest.mark.parametrize("fps", ["30", "60"])
def test_a_frame_rate_the_user_chose_is_kept(fps: str) -> None:
    assert probe(fps) == f"{fps} {fps}"
