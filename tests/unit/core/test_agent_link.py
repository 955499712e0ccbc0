"""Each session's agent link has its own private hook socket: an event reaches only the session it came from."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import time
from pathlib import Path
from types import SimpleNamespace

from taskping_tui.agent.hook_client import send_line
from taskping_tui.agent.state import AgentState, TrackerSettings
from taskping_tui.core.agent_link import AgentIds, AgentLink
from taskping_tui.inbound.permission import dialog_key


def settings_socket(link: AgentLink) -> str:
    """The socket the launch's --settings hooks report to (read back from the file we wrote)."""
    assert link.plan is not None and link.plan.settings_path is not None
    settings = json.loads(link.plan.settings_path.read_text())
    command = settings["hooks"]["SessionStart"][0]["hooks"][0]["command"]
    return command.split("--socket ")[1].strip("'")


def make_link(tmp_path: Path, ids: list[AgentIds], states: list[AgentState]) -> AgentLink:
    fake_claude = tmp_path / "claude"
    fake_claude.write_text("#!/bin/sh\n")
    fake_claude.chmod(0o755)
    return AgentLink(
        [str(fake_claude)],
        str(tmp_path),
        settings=TrackerSettings(),
        on_notes=lambda notes: None,
        on_state_change=lambda _old, new: states.append(new),
        on_ids_change=ids.append,
        runtime_dir=tmp_path / "run",
    )


async def send(path: str, payload: dict[str, object]) -> None:
    await asyncio.to_thread(send_line, path, json.dumps(payload).encode() + b"\n", time.monotonic() + 1.0)


async def test_two_links_two_private_sockets_and_events_stay_apart(tmp_path: Path) -> None:
    ids_a: list[AgentIds] = []
    ids_b: list[AgentIds] = []
    states_a: list[AgentState] = []
    states_b: list[AgentState] = []
    a, b = make_link(tmp_path, ids_a, states_a), make_link(tmp_path, ids_b, states_b)
    plan_a, plan_b = await a.open(), await b.open()
    try:
        socket_a, socket_b = settings_socket(a), settings_socket(b)
        assert socket_a != socket_b
        for path in (socket_a, socket_b):
            assert stat.S_IMODE(os.stat(Path(path).parent).st_mode) == 0o700
        assert plan_a.session_id and plan_b.session_id and plan_a.session_id != plan_b.session_id
        transcript = tmp_path / "t.jsonl"
        await send(
            socket_b,
            {
                "hook_event_name": "SessionStart",
                "session_id": "cc-b2",
                "source": "clear",
                "transcript_path": str(transcript),
                "cwd": str(tmp_path),
            },
        )
        for _ in range(100):
            if ids_b and ids_b[-1].session_id == "cc-b2":
                break
            await asyncio.sleep(0.01)
        assert ids_b[-1] == AgentIds("cc-b2", str(transcript))  # /clear: the new conversation is recorded
        assert all(each.session_id != "cc-b2" for each in ids_a)
        assert b.state is AgentState.IDLE and a.state is AgentState.STARTING
        transcript.write_text("{}\n")
        assert "--resume" in b.plan_launch(resume=True).argv and "cc-b2" in (b.plan.argv if b.plan else [])
    finally:
        await a.close()
        await b.close()
    assert not Path(socket_a).exists() and not Path(socket_b).parent.exists()


class QuestionPane:
    """What AgentLink reads from a pane: its screen's lines (and the injector's few extra facts)."""

    def __init__(self, lines: list[str]) -> None:
        self.terminal_screen = SimpleNamespace(
            display=lines, buffer=[[] for _ in lines], cursor=SimpleNamespace(x=0, y=0), bracketed_paste=True
        )
        self.last_key_time = 0.0

    def write(self, data: bytes) -> None:
        raise AssertionError("nothing is typed here")


async def test_claudes_question_keeps_the_agent_waiting_while_drawn_and_is_answerable(tmp_path: Path) -> None:
    states: list[AgentState] = []
    link = make_link(tmp_path, [], states)
    link.settings = TrackerSettings(dialog_gone_grace=0.05)
    await link.open()
    try:
        assert link.tracker is not None
        socket = settings_socket(link)
        question = {"question": "Which database?", "options": [{"label": "PostgreSQL"}, {"label": "SQLite"}]}
        await send(socket, {"hook_event_name": "UserPromptSubmit", "session_id": "cc", "prompt": "set up"})
        await send(
            socket,
            {
                "hook_event_name": "PermissionRequest",
                "session_id": "cc",
                "tool_name": "AskUserQuestion",
                "tool_input": {"questions": [question]},
            },
        )
        for _ in range(100):
            if link.state is AgentState.WAITING:
                break
            await asyncio.sleep(0.01)
        drawn = QuestionPane(QUESTION_SCREEN)
        for _ in range(3):
            link.tick(drawn)
            await asyncio.sleep(0.06)
        assert link.state is AgentState.WAITING  # the question dialog is not a dismissed permission dialog
        view = link.agent_view(drawn)
        assert [question.text for question in view.questions] == ["Which database?"]
        assert view.dialog_options == {1: "PostgreSQL", 2: "SQLite", 3: "Type something.", 4: "Chat about this"}
        assert view.dialog_key == dialog_key("AskUserQuestion", {"questions": [question]}) != ""
        answered = QuestionPane(["❯ set up", "● Answered Claude's questions:"])
        for _ in range(3):
            link.tick(answered)
            await asyncio.sleep(0.06)
        assert link.state is AgentState.IDLE  # answered at the keyboard: the dialog is gone
        assert link.agent_view(answered).dialog_key == ""  # a held answer to it is not typed now
    finally:
        await link.close()


QUESTION_SCREEN = [
    "❯ set up",
    "─" * 40,
    " ☐ Database",
    "Which database?",
    "❯ 1. PostgreSQL",
    "  2. SQLite",
    "  3. Type something.",
    "─" * 40,
    "  4. Chat about this",
    "Enter to select · ↑/↓ to navigate · Esc to cancel",
]
