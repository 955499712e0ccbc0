"""The real, pinned Claude Code under a pty, with our --settings hooks, socket server and state tracker.

Claude talks only to tests/support/mock_anthropic.py on 127.0.0.1 (offline recipe: tests/support/claude_fixtures.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyte
import pytest
import pytest_asyncio
from ptyprocess import PtyProcess

from taskping_tui.agent.events import HookEvent
from taskping_tui.agent.hooks import InstanceDir, LaunchPlan, plan_agent_launch
from taskping_tui.agent.screen_hints import permission_dialog_visible
from taskping_tui.agent.socket_server import HookSocketServer
from taskping_tui.agent.state import AgentState, AgentTracker, Notification, NotificationKind
from tests.support.mock_anthropic import MockAnthropic

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]
logger = logging.getLogger(__name__)

COLUMNS, ROWS = 120, 40
TITLE_RE = re.compile(rb"\x1b\][02];([^\x07\x1b]*)(?:\x07|\x1b\\)")
PROMPT_MARK = "❯"


class PtyAgent:
    """The child under a pty: output parsed by pyte (to look at the screen) and scanned for titles."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str], on_title: Callable[[str], None]) -> None:
        self.on_title = on_title
        self.screen = pyte.Screen(COLUMNS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.titles: list[str] = []
        self._pending = b""
        self.process = PtyProcess.spawn(argv, cwd=str(cwd), env=env, dimensions=(ROWS, COLUMNS))
        self.exited = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().add_reader(self.process.fd, self._on_readable)

    def _on_readable(self) -> None:
        try:
            data = os.read(self.process.fd, 65536)
        except OSError:
            data = b""
        if not data:
            self._finish()
            return
        self._scan_titles(data)
        try:
            self.stream.feed(data)
        except Exception:  # pyte chokes on a few modern sequences; the screen is only for assertions
            logger.debug("pyte could not parse a chunk", exc_info=True)

    def _scan_titles(self, data: bytes) -> None:
        buffer = self._pending + data
        end = 0
        for match in TITLE_RE.finditer(buffer):
            title = match.group(1).decode("utf-8", "replace")
            self.titles.append(title)
            self.on_title(title)
            end = match.end()
        rest = buffer[end:]
        start = rest.rfind(b"\x1b]")
        self._pending = rest[start:][-4096:] if start != -1 else b""

    def _finish(self) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(self.process.fd)
        if not self.exited.done():
            self.process.wait()
            self.exited.set_result(self.process.exitstatus)

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def shows(self, needle: str) -> bool:
        return needle in self.text()

    def prompt_drawn(self) -> bool:
        return any(line.lstrip().startswith(PROMPT_MARK) for line in self.screen.display)

    def write(self, data: bytes) -> None:
        self.process.write(data)

    async def close(self) -> None:
        if not self.exited.done():
            with contextlib.suppress(Exception):
                self.process.terminate(force=True)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.exited), 5)
        with contextlib.suppress(Exception):
            asyncio.get_running_loop().remove_reader(self.process.fd)
            self.process.close(force=True)


@dataclass
class Harness:
    mock: MockAnthropic
    tracker: AgentTracker
    plan: LaunchPlan
    project: Path
    events: list[HookEvent] = field(default_factory=list)
    notes: list[Notification] = field(default_factory=list)
    agent: PtyAgent | None = None

    async def wait_until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            if loop.time() > deadline:
                screen = self.agent.text() if self.agent else ""
                events = [e.event for e in self.events]
                raise AssertionError(
                    f"timed out waiting for {what}; state={self.tracker.state}, "
                    f"events={events}, notes={self.notes}\n{screen}"
                )
            await asyncio.sleep(0.05)

    def kinds(self) -> list[NotificationKind]:
        return [note.kind for note in self.notes]

    def event_names(self) -> list[str]:
        return [event.event for event in self.events]

    async def type_prompt(self, text: str) -> None:
        assert self.agent is not None
        await self.wait_until(self.agent.prompt_drawn, 15, "the ❯ prompt")
        self.agent.write(text.encode() + b"\r")


@pytest_asyncio.fixture
async def harness(
    tmp_path: Path, claude_cli: Path, claude_project: Path, claude_env: dict[str, str], mock_anthropic: MockAnthropic
) -> AsyncIterator[Harness]:
    instance = InstanceDir.create(tmp_path / "run")
    plan = plan_agent_launch([str(claude_cli)], instance)
    state = Harness(
        mock=mock_anthropic,
        tracker=AgentTracker(is_claude=True, cwd=str(claude_project)),
        plan=plan,
        project=claude_project,
    )

    def on_event(event: HookEvent) -> None:
        state.events.append(event)
        state.notes.extend(state.tracker.on_hook(event))

    async def tick_forever() -> None:
        while True:
            dialog = permission_dialog_visible(state.agent.screen.display) if state.agent else None
            state.notes.extend(state.tracker.tick(permission_dialog_visible=dialog))
            await asyncio.sleep(0.1)

    server = HookSocketServer(instance.socket_path, on_event)
    await server.start()
    ticker = asyncio.create_task(tick_forever())
    state.agent = PtyAgent(
        plan.argv, claude_project, claude_env, lambda title: state.notes.extend(state.tracker.on_title(title))
    )
    state.agent.exited.add_done_callback(lambda f: state.notes.extend(state.tracker.on_exit(f.result())))
    try:
        yield state
    finally:
        await state.agent.close()
        ticker.cancel()
        await server.stop()
        instance.cleanup()
    # Claude reached nothing but the mock: every request it made is one the mock knows how to answer.
    assert mock_anthropic.unknown_paths == []
    assert all(r.path.split("?")[0] in ("/", "/v1/messages") for r in mock_anthropic.requests)


async def test_prompt_gives_stop_with_the_mock_answer_then_exit(harness: Harness) -> None:
    answer = "Hello from the mock answer"
    harness.mock.queue_text(answer)
    await harness.wait_until(lambda: harness.tracker.state is AgentState.IDLE, 15, "SessionStart / idle title")
    await harness.type_prompt("say hello")

    await harness.wait_until(lambda: NotificationKind.TURN_FINISHED in harness.kinds(), 20, "the Stop hook")
    assert harness.mock.user_prompts() == ["say hello"]
    assert harness.tracker.state is AgentState.IDLE
    (note,) = harness.notes
    assert note.kind is NotificationKind.TURN_FINISHED
    assert note.last_assistant_message == answer
    assert note.prompt == "say hello"
    assert note.session_id == harness.plan.session_id
    assert note.cwd == str(harness.project)
    assert note.transcript_path and note.transcript_path.endswith(f"{harness.plan.session_id}.jsonl")
    assert harness.event_names()[:3] == ["SessionStart", "UserPromptSubmit", "Stop"]
    assert uuid.UUID(harness.events[0].session_id or "") == uuid.UUID(harness.plan.session_id or "")
    assert harness.agent is not None and harness.agent.shows(answer)
    # 2.1.197's titles: ✳ when idle, a braille spinner frame while working.
    assert "✳ Claude Code" in harness.agent.titles
    assert any(0x2800 <= ord(title[0]) <= 0x28FF for title in harness.agent.titles if title)

    harness.agent.write(b"/exit\r")
    await harness.wait_until(lambda: harness.tracker.state is AgentState.EXITED, 15, "the child to exit")
    # The SessionEnd hook's report and the child's exit race to the loop (the tracker takes either order).
    await harness.wait_until(lambda: "SessionEnd" in harness.event_names(), 5, "the SessionEnd hook")
    # /exit is the user leaving (SessionEnd reason prompt_input_exit): no "Agent exited" notification.
    assert harness.kinds() == [NotificationKind.TURN_FINISHED]


async def test_tool_call_opens_a_permission_dialog_and_waits(harness: Harness) -> None:
    harness.mock.queue_tool_use("Bash", {"command": "touch made_by_tool.txt", "description": "Create a file"})
    harness.mock.queue_text("Created the file.")
    await harness.type_prompt("create a file please")

    await harness.wait_until(lambda: harness.agent.shows("Do you want to proceed?"), 20, "the permission dialog")
    await harness.wait_until(lambda: harness.tracker.state is AgentState.WAITING, 10, "state WAITING")
    (note,) = harness.notes
    assert note.kind is NotificationKind.NEEDS_PERMISSION
    assert note.tool_name == "Bash"
    assert note.tool_input == {"command": "touch made_by_tool.txt", "description": "Create a file"}
    assert note.prompt == "create a file please"

    # Claude Code adds a Notification(permission_prompt) ≈6 s later for the same dialog: still one entry.
    await harness.wait_until(
        lambda: any(e.notification_type == "permission_prompt" for e in harness.events), 12, "permission_prompt"
    )
    assert harness.kinds() == [NotificationKind.NEEDS_PERMISSION]
    assert harness.tracker.state is AgentState.WAITING
    assert not (harness.project / "made_by_tool.txt").exists()

    harness.agent.write(b"\r")  # option 1, "Yes", is preselected
    await harness.wait_until(lambda: NotificationKind.TURN_FINISHED in harness.kinds(), 20, "the turn to finish")
    assert (harness.project / "made_by_tool.txt").exists()
    (sent,) = harness.mock.tool_uses_sent
    assert [r["tool_use_id"] for r in harness.mock.tool_results()] == [sent["id"]]
    assert harness.notes[-1].last_assistant_message == "Created the file."
    assert harness.tracker.state is AgentState.IDLE


async def test_denied_permission_returns_to_idle_without_a_hook(harness: Harness) -> None:
    harness.mock.queue_tool_use("Bash", {"command": "touch denied.txt", "description": "Create a file"})
    await harness.type_prompt("create another file")
    await harness.wait_until(lambda: harness.tracker.state is AgentState.WAITING, 20, "state WAITING")
    titles_before = len(harness.agent.titles)
    harness.agent.write(b"3")  # "No"

    await harness.wait_until(lambda: harness.tracker.state is AgentState.IDLE, 10, "back to IDLE")
    # 2.1.197 sends no hook and no title for a denial: the screen was the only signal.
    assert harness.event_names() == ["SessionStart", "UserPromptSubmit", "PermissionRequest"]
    assert all(title.startswith("✳") for title in harness.agent.titles[titles_before:])
    assert harness.kinds() == [NotificationKind.NEEDS_PERMISSION]
    assert not (harness.project / "denied.txt").exists()


async def test_api_error_gives_stop_failure_and_an_api_error_notification(harness: Harness) -> None:
    for _ in range(2):  # CLAUDE_CODE_MAX_RETRIES=1: the first try and one retry
        harness.mock.queue_error(500, "mock overload")
    await harness.type_prompt("make it fail")

    await harness.wait_until(lambda: NotificationKind.API_ERROR in harness.kinds(), 25, "StopFailure")
    assert "StopFailure" in harness.event_names() and "Stop" not in harness.event_names()
    (note,) = harness.notes
    assert note.error == "server_error"
    assert "500" in (note.last_assistant_message or "")
    assert note.prompt == "make it fail"
    assert harness.tracker.state is AgentState.IDLE
    assert harness.mock.pending_replies == 0


async def test_esc_interrupt_is_detected_through_the_title_alone(harness: Harness) -> None:
    harness.mock.queue_text("too late", delay=8)
    await harness.type_prompt("take your time")
    await harness.wait_until(lambda: harness.tracker.state is AgentState.BUSY, 10, "state BUSY")
    await harness.wait_until(lambda: len(harness.mock.main_requests()) >= 1, 10, "the request to the mock")
    harness.agent.write(b"\x1b")

    await harness.wait_until(lambda: harness.tracker.interrupted_turns == 1, 10, "the interrupt")
    assert harness.tracker.state is AgentState.IDLE
    assert harness.notes == []
    assert "Stop" not in harness.event_names()
