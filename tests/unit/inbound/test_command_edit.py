"""Edit and approve: the edited text is checked again, and both texts stay in the command's history."""

from __future__ import annotations

from pathlib import Path

from taskping_tui.inbound.command_edit import command_history_rows, plan_approval
from taskping_tui.inbound.commands import CommandEvent, CommandState
from taskping_tui.store import NewInboundMail, Store


def test_a_blocked_command_edited_into_a_harmless_one_is_no_longer_dangerous() -> None:
    plan = plan_approval(
        CommandState.BLOCKED, "git push --force origin main", "git push --force", "git push origin main"
    )
    assert plan.edited and plan.text == "git push origin main"
    assert plan.danger is None and not plan.needs_confirmation


def test_a_safe_command_edited_into_a_dangerous_one_must_be_confirmed() -> None:
    plan = plan_approval(CommandState.QUEUED, "run the tests", None, "sudo rm -rf /tmp/build")
    assert plan.needs_confirmation and plan.danger
    body = plan.confirmation_body()
    assert "sudo rm -rf /tmp/build" in body and "run the tests" in body and "Checked again" in body


def test_extra_patterns_from_the_config_apply_to_the_edit() -> None:
    plan = plan_approval(CommandState.QUEUED, "deploy to staging", None, "deploy to prod", [r"\bprod\b"])
    assert plan.needs_confirmation


def test_unedited_commands_keep_the_gates_verdict() -> None:
    assert plan_approval(CommandState.BLOCKED, "rm -rf build", "rm -rf").danger == "rm -rf"
    assert plan_approval(CommandState.BLOCKED, "rm -rf build", "rm -rf", "rm -rf build").danger == "rm -rf"
    assert not plan_approval(CommandState.QUEUED, "ls", None).needs_confirmation


def test_the_store_keeps_both_texts_and_both_verdicts(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store.sqlite3")
    recorded = store.record_inbound_mail(
        NewInboundMail(
            verdict="blocked",
            received_at=1000.0,
            command="git push --force origin main",
            danger_pattern="git push --force",
        )
    )
    assert recorded.command_id is not None
    edited = store.edit_command(recorded.command_id, "git push origin main", None, now=1010.0)
    assert edited is not None and edited.text == "git push origin main" and edited.danger_pattern is None
    approved = store.apply_command_event(recorded.command_id, CommandEvent.APPROVE, note="edited")
    assert approved is not None and approved.state is CommandState.APPROVED
    (edit,) = store.command_edits(recorded.command_id)
    assert (edit.old_text, edit.old_danger) == ("git push --force origin main", "git push --force")
    assert (edit.new_text, edit.new_danger) == ("git push origin main", None)
    rows = dict(command_history_rows([edit]))
    assert "git push --force origin main" in rows["Text from the mail"]
    assert store.edit_command(recorded.command_id, "again", None) is None, "approved: no longer editable"
    store.close()
    reopened = Store.open(tmp_path / "store.sqlite3")
    assert len(reopened.command_edits(recorded.command_id)) == 1


def test_an_edited_yes_to_a_dangerous_permission_dialog_still_asks() -> None:
    """Blocked because the dialog's tool input is dangerous: "yes" edited into "Yes" is still that yes."""
    from taskping_tui.inbound.processor import PendingPermission, dangerous_permission

    pending = PendingPermission("Bash", {"command": "rm -rf ~/project"})
    plan = plan_approval(
        CommandState.BLOCKED,
        "yes",
        "permission for Bash: rm -rf",
        "Yes",
        permission_danger=lambda text: dangerous_permission(text, pending, []),
    )
    assert plan.needs_confirmation and "permission for Bash" in (plan.danger or "")


def test_a_blocked_command_always_asks_even_without_a_recorded_pattern() -> None:
    assert plan_approval(CommandState.BLOCKED, "something", None).needs_confirmation
