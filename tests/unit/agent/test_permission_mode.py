"""Claude Code's permission mode from its footer and hooks; one notice when it never asks."""

from __future__ import annotations

from taskping_tui.agent.events import parse_hook_event
from taskping_tui.agent.permission_mode import PermissionModeWatch, mode_from_screen, never_asks

# Footers as 2.1.332 draws them (captured in tmux against the mock API).
AUTO = ["❯ ", "─" * 40, "  ⏵⏵ auto mode on (shift+tab to cycle) · ← for agents"]
MANUAL = ["❯ ", "─" * 40, "  ⏸ manual mode on · ? for shortcuts"]


def test_footer_names_the_mode() -> None:
    assert mode_from_screen(AUTO) == "auto"
    assert mode_from_screen(MANUAL) == "default"
    assert mode_from_screen(["  ⏵⏵ accept edits on (shift+tab to cycle)"]) == "acceptEdits"
    assert mode_from_screen(["  ⏸ plan mode on (shift+tab to cycle)"]) == "plan"
    assert mode_from_screen(["  ⏵⏵ bypass permissions on (shift+tab to cycle)"]) == "bypassPermissions"
    assert mode_from_screen(["❯ ", "? for shortcuts"]) is None  # 2.1.197's default footer


def test_auto_mode_on_screen_gives_one_notice_with_the_way_out() -> None:
    watch = PermissionModeWatch()
    notice = watch.on_screen(AUTO)
    assert notice is not None and "auto mode" in notice and "no permission mail" in notice
    assert "Shift+Tab" in notice and "--permission-mode default" in notice
    assert watch.on_screen(AUTO) is None and not watch.wants_screen
    event = parse_hook_event({"hook_event_name": "Stop", "permission_mode": "auto"})
    assert event is not None and watch.on_hook(event) is None


def test_manual_mode_gives_no_notice_and_a_later_switch_to_auto_is_caught_by_the_hooks() -> None:
    watch = PermissionModeWatch()
    assert watch.on_screen(MANUAL) is None
    assert not watch.wants_screen  # mode known: no more screen reads
    event = parse_hook_event({"hook_event_name": "UserPromptSubmit", "permission_mode": "auto", "prompt": "x"})
    assert event is not None
    assert watch.on_hook(event) is not None
    assert never_asks("bypassPermissions") and not never_asks("default") and not never_asks(None)


def test_screen_is_read_only_a_bounded_number_of_times() -> None:
    watch = PermissionModeWatch(screen_checks_left=3)
    for _ in range(3):
        assert watch.on_screen(["starting…"]) is None
    assert not watch.wants_screen
