"""Many sessions in one app, driven with the keys of the command layer (fake agents, mail off)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from taskping_tui.agent.events import HookEvent
from taskping_tui.app import TaskPingApp
from taskping_tui.config import parse_config
from taskping_tui.core.sessions import NewSession
from taskping_tui.screens.main_screen import HostedSession, MainScreen
from taskping_tui.widgets.confirm_dialog import ConfirmDialog
from taskping_tui.widgets.session_dialog import RenameDialog, SessionDialog
from taskping_tui.widgets.sessions_panel import SessionsPanel
from tests.support.app_harness import AppDriver

FAKE_AGENT = [sys.executable, str(Path(__file__).resolve().parents[1] / "data" / "fake_agent.py")]
CONFIG = parse_config("[agent]\nsilence_seconds = 0.5\n[notify]\ntoast = false\ndesktop = false\n")


def text_of(session: HostedSession) -> str:
    return "\n".join(line.rstrip() for line in session.pane.terminal_screen.display)


class Sessions(AppDriver):
    @property
    def main(self) -> MainScreen:
        return self.app.main

    def session(self, number: int) -> HostedSession:
        return next(s for s in self.main.sessions.values() if s.row.number == number)

    @property
    def focused(self) -> HostedSession:
        session = self.main.focused_session
        assert session is not None
        return session

    async def ready(self, number: int) -> HostedSession:
        await self.until(lambda: any(s.row.number == number for s in self.main.sessions.values()), f"session {number}")
        session = self.session(number)
        await self.until(lambda: "Ready" in text_of(session), f"session {number}'s prompt")
        return session

    async def open_second(self, directory: Path) -> HostedSession:
        await self.main.new_session(NewSession(str(directory), FAKE_AGENT))
        return await self.ready(2)

    async def layer(self) -> SessionsPanel:
        await self.pilot.press("f6")
        await self.pilot.pause()
        panel = self.app.query_one(SessionsPanel)
        assert panel.has_focus_within
        return panel


@pytest.fixture
def two_dirs(tmp_path: Path) -> tuple[Path, Path]:
    api, web = tmp_path / "api", tmp_path / "web"
    api.mkdir()
    web.mkdir()
    return api, web


def make_app(tmp_path: Path, dirs: tuple[Path, ...]) -> TaskPingApp:
    return TaskPingApp(
        CONFIG,
        FAKE_AGENT,
        session_dirs=[str(d) for d in dirs],
        store_path=tmp_path / "s.sqlite3",
        runtime_dir=tmp_path / "run",
    )


async def test_dash_s_opens_one_session_per_directory_numbered_in_order(tmp_path: Path, two_dirs) -> None:  # type: ignore[no-untyped-def]
    app = make_app(tmp_path, two_dirs)
    async with app.run_test(size=(120, 36)) as pilot:
        driver = Sessions(app, pilot)
        one, two = await driver.ready(1), await driver.ready(2)  # the hidden one starts too
        assert (one.row.cwd, one.row.name, two.row.cwd, two.row.name) == (
            str(two_dirs[0]),
            "api",
            str(two_dirs[1]),
            "web",
        )
        assert driver.focused is one and one.pane.display and not two.pane.display
        assert two.pane.terminal_screen.columns == one.pane.size.width  # started at the shown pane's size
        assert [row.name for row in app.store.list_sessions()] == ["api", "web"]  # type: ignore[union-attr]


async def test_number_keys_tab_and_escape(tmp_path: Path, two_dirs) -> None:  # type: ignore[no-untyped-def]
    app = make_app(tmp_path, two_dirs)
    async with app.run_test(size=(120, 36)) as pilot:
        driver = Sessions(app, pilot)
        one, two = await driver.ready(1), await driver.ready(2)
        size = (one.pane.terminal_screen.lines, one.pane.terminal_screen.columns)
        await driver.layer()
        await pilot.press("2")
        assert driver.focused is two and two.pane.has_focus and two.pane.display and not one.pane.display
        # A hidden pane keeps its terminal size: no resize (SIGWINCH, redraw) on every switch.
        assert (one.pane.terminal_screen.lines, one.pane.terminal_screen.columns) == size
        await driver.layer()
        await pilot.press("tab")
        assert driver.focused is one and one.pane.has_focus
        await driver.layer()
        await pilot.press("escape")
        assert driver.focused is one and one.pane.has_focus
        await driver.layer()
        await pilot.press("f6")
        assert one.pane.has_focus


async def test_keys_go_to_the_focused_session_and_a_hidden_one_keeps_parsing(tmp_path: Path, two_dirs) -> None:  # type: ignore[no-untyped-def]
    app = make_app(tmp_path, two_dirs)
    async with app.run_test(size=(120, 36)) as pilot:
        driver = Sessions(app, pilot)
        one, two = await driver.ready(1), await driver.ready(2)
        await pilot.press("a", "b", "enter")
        await driver.until(lambda: "you said: ab" in text_of(one), "the line in session 1")
        await driver.layer()
        await pilot.press("2")
        two.pane.paste("pasted")
        await pilot.press("enter")
        await driver.until(lambda: "you said: pasted" in text_of(two), "the paste in session 2")
        one.pane.write(b"while hidden\r")  # session 1 is hidden now: its screen still follows its output
        await driver.until(lambda: "you said: while hidden" in text_of(one), "output of the hidden session")
        assert "you said: ab" not in text_of(two) and "pasted" not in text_of(one)


async def test_j_k_enter_and_a_click_focus_a_session(tmp_path: Path, two_dirs) -> None:  # type: ignore[no-untyped-def]
    app = make_app(tmp_path, two_dirs)
    async with app.run_test(size=(120, 36)) as pilot:
        driver = Sessions(app, pilot)
        one, two = await driver.ready(1), await driver.ready(2)
        panel = await driver.layer()
        assert panel.highlighted_key == one.key
        await pilot.press("j")
        assert panel.highlighted_key == two.key
        await pilot.press("enter")
        assert driver.focused is two and two.pane.has_focus
        await driver.layer()
        await pilot.press("k", "enter")
        assert driver.focused is one
        await pilot.click(SessionsPanel, offset=(4, 4))  # the second row (row, divider, row)
        await pilot.pause()
        assert driver.focused is two


async def test_space_goes_to_the_session_that_needs_you(tmp_path: Path, two_dirs) -> None:  # type: ignore[no-untyped-def]
    third = tmp_path / "docs"
    third.mkdir()
    app = make_app(tmp_path, (*two_dirs, third))
    async with app.run_test(size=(120, 36)) as pilot:
        driver = Sessions(app, pilot)
        one, two, three = await driver.ready(1), await driver.ready(2), await driver.ready(3)
        await driver.until(
            lambda: all(
                s.link.state and s.link.state.value == "idle"  # type: ignore[union-attr]
                for s in (one, two, three)
            ),
            "all idle",
        )
        three.unread = True
        assert two.link is not None
        two.link.on_hook(HookEvent("PermissionRequest", tool_name="Bash", tool_input={"command": "ls"}))
        await driver.layer()
        await pilot.press("space")
        assert driver.focused is two  # a permission wait comes before an unread finished turn
        assert two.link.tracker is not None
        two.link.on_hook(HookEvent("UserPromptSubmit", prompt="go on"))  # answered
        await driver.layer()
        await pilot.press("space")
        assert driver.focused is three and not three.unread  # seen now
        await driver.layer()
        await pilot.press("space")
        assert driver.focused is three  # nobody needs you: stay


async def test_n_opens_a_session_from_the_dialog(tmp_path: Path, two_dirs) -> None:  # type: ignore[no-untyped-def]
    app = make_app(tmp_path, two_dirs[:1])
    async with app.run_test(size=(120, 36)) as pilot:
        driver = Sessions(app, pilot)
        await driver.ready(1)
        await driver.layer()
        await pilot.press("n")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, SessionDialog)
        dialog.query_one("#session-dir").value = str(tmp_path / "missing")  # type: ignore[attr-defined]
        dialog.query_one("#session-name").value = "frontend"  # type: ignore[attr-defined]
        await pilot.click("#open")
        await pilot.pause()
        assert "is not a directory" in str(dialog.query_one("#session-error").render())
        dialog.query_one("#session-dir").value = str(two_dirs[1])  # type: ignore[attr-defined]
        dialog.query_one("#session-dir").focus()
        await pilot.press("enter")  # Enter in any field opens it
        two = await driver.ready(2)
        assert (two.row.name, two.row.cwd) == ("frontend", str(two_dirs[1]))
        assert driver.focused is two


async def test_r_renames_and_the_name_is_stored(tmp_path: Path, two_dirs) -> None:  # type: ignore[no-untyped-def]
    app = make_app(tmp_path, two_dirs[:1])
    async with app.run_test(size=(120, 36)) as pilot:
        driver = Sessions(app, pilot)
        one = await driver.ready(1)
        await driver.layer()
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, RenameDialog)
        app.screen.query_one("Input").value = "billing api"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause()
        assert one.row.name == "billing api"
        assert app.store.get_session(one.key).name == "billing api"  # type: ignore[union-attr]
        await driver.until(
            lambda: "billing api" in str(app.query_one(SessionsPanel).option_list.get_option_at_index(0).prompt),
            "the new name in the panel",
        )


async def test_shift_r_restarts_the_agent(tmp_path: Path, two_dirs) -> None:  # type: ignore[no-untyped-def]
    app = make_app(tmp_path, two_dirs[:1])
    async with app.run_test(size=(120, 36)) as pilot:
        driver = Sessions(app, pilot)
        one = await driver.ready(1)
        first_pid = one.pane.pid
        await driver.layer()
        await pilot.press("R")
        await driver.until(lambda: one.pane.pid not in (None, first_pid), "a new agent process")
        assert (
            not Path(f"/proc/{first_pid}").exists() or Path(f"/proc/{first_pid}/status").read_text().find("zombie") >= 0
        )
        assert app.notification_entries == []  # a restart asked for is no "agent exited" news


async def test_x_closes_a_session_after_saying_what_stops(tmp_path: Path, two_dirs) -> None:  # type: ignore[no-untyped-def]
    app = make_app(tmp_path, two_dirs)
    async with app.run_test(size=(120, 36)) as pilot:
        driver = Sessions(app, pilot)
        one, two = await driver.ready(1), await driver.ready(2)
        pid = two.pane.pid
        await driver.layer()
        await pilot.press("2")
        await driver.layer()
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        body = "".join(str(w.render()) for w in app.screen.query("Static"))
        assert "web" in body and f"pid {pid}" in body and "this session has ended" in body
        await pilot.press("y")
        await driver.until(lambda: len(driver.main.sessions) == 1, "the session to go")
        assert driver.focused is one and one.pane.display
        assert app.store.session_is_closed(two.key)  # type: ignore[union-attr]
        await driver.until(lambda: not Path(f"/proc/{pid}").exists(), "its agent to end")


async def test_s_sends_the_command_key_itself_to_the_agent(tmp_path: Path, two_dirs) -> None:  # type: ignore[no-untyped-def]
    app = make_app(tmp_path, two_dirs[:1])
    async with app.run_test(size=(120, 36)) as pilot:
        driver = Sessions(app, pilot)
        one = await driver.ready(1)
        written: list[bytes] = []
        original = one.pane.write
        one.pane.write = lambda data: (written.append(data), original(data))[1]  # type: ignore[method-assign]
        await driver.layer()
        await pilot.press("s")
        assert written == [b"\x1b[17~"] and one.pane.has_focus


async def test_q_asks_before_ending_running_agents(tmp_path: Path, two_dirs) -> None:  # type: ignore[no-untyped-def]
    app = make_app(tmp_path, two_dirs)
    async with app.run_test(size=(120, 36)) as pilot:
        driver = Sessions(app, pilot)
        await driver.ready(1)
        await driver.ready(2)
        await driver.layer()
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "2 agents are running (api, web)" in "".join(str(w.render()) for w in app.screen.query("Static"))
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running and app.query_one(SessionsPanel).has_focus_within  # back in the layer
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause(0.5)
    assert app.return_code == 0


async def test_no_arguments_bring_back_the_open_sessions(tmp_path: Path, two_dirs) -> None:  # type: ignore[no-untyped-def]
    app = make_app(tmp_path, two_dirs)
    async with app.run_test(size=(120, 36)) as pilot:
        driver = Sessions(app, pilot)
        await driver.ready(1)
        await driver.ready(2)
    again = TaskPingApp(
        parse_config(
            f"[agent]\ncommand = {FAKE_AGENT[0]!r}\nargs = [{FAKE_AGENT[1]!r}]\n"
            "[notify]\ntoast = false\ndesktop = false\n"
        ),
        store_path=tmp_path / "s.sqlite3",
        runtime_dir=tmp_path / "run",
    )
    async with again.run_test(size=(120, 36)) as pilot:
        driver = Sessions(again, pilot)
        one, two = await driver.ready(1), await driver.ready(2)
        assert (one.row.name, two.row.name) == ("api", "web") and len(driver.main.sessions) == 2


def plain_app(tmp_path: Path, on_start: str) -> TaskPingApp:
    """`taskping-tui` with no arguments, its agent command from the config."""
    config = parse_config(
        f"[agent]\ncommand = {FAKE_AGENT[0]!r}\nargs = [{FAKE_AGENT[1]!r}]\n"
        f"[notify]\ntoast = false\ndesktop = false\n[sessions]\non_start = {on_start!r}\n"
    )
    return TaskPingApp(config, store_path=tmp_path / "s.sqlite3", runtime_dir=tmp_path / "run")


async def test_on_start_none_lists_the_old_sessions_as_resumable(tmp_path: Path, two_dirs, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    async with make_app(tmp_path, two_dirs).run_test(size=(120, 36)) as pilot:
        await Sessions(pilot.app, pilot).ready(2)  # type: ignore[arg-type]
    monkeypatch.chdir(two_dirs[0])
    app = plain_app(tmp_path, "none")
    async with app.run_test(size=(120, 36)) as pilot:
        driver = Sessions(app, pilot)
        new = await driver.ready(3)  # one new session here; the old ones wait
        assert new.row.cwd == str(two_dirs[0])
        old = driver.session(2)
        assert old.link is None and old.status().value == "offline, resumable"
        await driver.layer()
        await pilot.press("2")  # an offline session comes back when you go to it
        await driver.ready(2)
        assert driver.focused is old and old.running


async def test_on_start_ask_asks_before_bringing_sessions_back(tmp_path: Path, two_dirs) -> None:  # type: ignore[no-untyped-def]
    async with make_app(tmp_path, two_dirs).run_test(size=(120, 36)) as pilot:
        await Sessions(pilot.app, pilot).ready(2)  # type: ignore[arg-type]
    app = plain_app(tmp_path, "ask")
    async with app.run_test(size=(120, 36)) as pilot:
        driver = Sessions(app, pilot)
        await driver.until(lambda: isinstance(app.screen, ConfirmDialog), "the question")
        assert "api" in "".join(str(w.render()) for w in app.screen.query("Static"))
        await pilot.press("y")
        await driver.ready(1)
        await driver.ready(2)
        assert len(driver.main.sessions) == 2


async def test_panel_entries_name_their_session_once_there_are_two(tmp_path: Path, two_dirs) -> None:  # type: ignore[no-untyped-def]
    from taskping_tui.widgets.notifications_panel import NotificationsPanel

    app = make_app(tmp_path, two_dirs[:1])
    async with app.run_test(size=(120, 36)) as pilot:
        driver = Sessions(app, pilot)
        one = await driver.ready(1)
        assert one.link is not None
        one.link.on_exit(0, None)
        await pilot.pause()
        panel = app.query_one(NotificationsPanel)

        def first_entry() -> str:
            return str(panel.option_list.get_option_at_index(0).prompt)

        assert "Agent exited (code 0)" in first_entry() and "[1 api]" not in first_entry()
        await driver.open_second(two_dirs[1])
        await driver.until(lambda: "[1 api] Agent exited" in first_entry(), "the entry to name its session")


async def test_a_command_for_a_session_that_is_not_running_says_how_to_bring_it_back(  # type: ignore[no-untyped-def]
    tmp_path: Path, two_dirs, monkeypatch
) -> None:
    from taskping_tui.store import NewInboundMail, Store

    async with make_app(tmp_path, two_dirs).run_test(size=(120, 36)) as pilot:
        await Sessions(pilot.app, pilot).ready(2)  # type: ignore[arg-type]
    with Store.open(tmp_path / "s.sqlite3") as store:
        web = store.list_sessions()[1]
        store.record_inbound_mail(
            NewInboundMail(
                verdict="accepted", received_at=1.0, command="restyle it", session_id=web.id, message_id="<w@x>"
            ),
            command_state="approved",
        )
    monkeypatch.chdir(two_dirs[0])
    config = parse_config(
        f"[agent]\ncommand = {FAKE_AGENT[0]!r}\nargs = [{FAKE_AGENT[1]!r}]\n[notify]\ntoast = false\n"
        'desktop = false\n[sessions]\non_start = "none"\n[mail]\nenabled = true\naddress = "b@example.com"\n'
        'password_env = "TASKPING_TEST_UNSET"\nrecipients = ["me@example.com"]\n'
        'smtp = { host = "127.0.0.1", port = 9, security = "none" }\n'
        'imap = { host = "127.0.0.1", port = 9, security = "none" }\n'
        '[security]\nallowed_senders = ["me@example.com"]\n'
    )
    app = TaskPingApp(config, store_path=tmp_path / "s.sqlite3", runtime_dir=tmp_path / "run")
    async with app.run_test(size=(120, 36)) as pilot:
        driver = Sessions(app, pilot)
        await driver.ready(3)
        from taskping_tui.widgets.commands_panel import CommandsPanel

        panel = app.query_one(CommandsPanel)
        await driver.until(lambda: panel.count == 1, "the held command")
        row = next(iter(panel._entries.values()))
        assert row.note == "waiting: session 2 is not running (F6, then R)"
