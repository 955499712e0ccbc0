"""Each dialog carries its own CSS: pushed in a bare App with no stylesheet, it is a centred box of the
same size as in taskping-tui, with its buttons docked at the bottom, and it answers its keys."""

from __future__ import annotations

import pytest
from textual.app import App
from textual.screen import Screen

from taskping_tui.widgets.confirm_dialog import ConfirmDialog
from taskping_tui.widgets.details_dialog import DetailsDialog
from taskping_tui.widgets.dialog import Dialog
from taskping_tui.widgets.edit_dialog import EditDialog

DIALOGS: list[Dialog[object]] = [
    ConfirmDialog("Approve a dangerous command?", "rm -rf build/", confirm_label="Approve", danger=True),
    DetailsDialog("Command #3", [("State", "queued"), ("Command", "run the tests")]),
    EditDialog("Edit the command", "run the tests"),
]


@pytest.mark.parametrize("dialog", DIALOGS, ids=lambda dialog: type(dialog).__name__)
async def test_a_dialog_is_styled_without_any_app_stylesheet(dialog: Dialog[object]) -> None:
    results: list[object] = []
    app: App[None] = App()
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(dialog, results.append)
        await pilot.pause()
        box = dialog.query_one("#dialog")
        assert box.styles.max_width is not None and box.styles.max_width.value == 100
        assert box.region.width == 96  # 80 % of 120 columns
        assert dialog.query_one("#dialog-buttons").styles.dock == "bottom"
        assert box.region.x == (120 - box.region.width) // 2  # centred
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, type(dialog)) and isinstance(app.screen, Screen)
    assert results in ([False], [None])


async def test_a_dangerous_confirmation_has_the_error_border() -> None:
    dialog = ConfirmDialog("Approve?", "sudo reboot", danger=True)
    app: App[None] = App()
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(dialog)
        await pilot.pause()
        border = dialog.query_one("#dialog").styles.border_top
        assert border[0] == "thick"
        error = app.current_theme.to_color_system().error
        assert max(abs(a - b) for a, b in zip(border[1].rgb, error.rgb, strict=True)) <= 1
