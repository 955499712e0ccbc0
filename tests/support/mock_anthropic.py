"""A scriptable mock of the Anthropic Messages API for running the real Claude Code offline.

Serves ``POST /v1/messages`` (streamed as SSE, or plain JSON when the request does not ask for a stream),
``HEAD /`` and answers anything else sensibly while logging it. Responses for the agent's main loop come
from a queue (text answer, tool call, HTTP error); side requests Claude Code makes on its own (titles,
topic checks, token counts) get a short default answer and never consume the queue.

In-process::

    mock = MockAnthropic()
    await mock.start()
    mock.queue_text("Hello from the mock")
    ... ANTHROPIC_BASE_URL = mock.base_url ...
    await mock.stop()

Stand-alone (manual runs, benches)::

    python tests/support/mock_anthropic.py --port 8765 --answer "Done."
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

logger = logging.getLogger(__name__)

ReplyKind = Literal["text", "tool_use", "error"]
MAX_BODY_BYTES = 32 * 1024 * 1024
DEFAULT_ANSWER = "OK."
MODEL_NAME = "claude-mock-1"


@dataclass
class MockReply:
    """One scripted answer to a main-loop request."""

    kind: ReplyKind
    text: str = ""
    tool_name: str = ""
    tool_input: dict[str, Any] = field(default_factory=dict)
    status: int = 500
    delay: float = 0.0


@dataclass
class RecordedRequest:
    """Every request the mock received, in arrival order."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    is_main_loop: bool
    answered_with: ReplyKind | None = None


def is_main_loop_request(body: dict[str, Any] | None) -> bool:
    """The agent's conversation requests carry the tool list; side requests (titles, topic checks) do not."""
    return bool(body) and bool(body.get("tools")) and bool(body.get("messages"))


def last_user_message(body: dict[str, Any]) -> dict[str, Any] | None:
    """The user turn this request answers (2.1.197 may append a ``system`` role message after it)."""
    for message in reversed(body.get("messages") or []):
        role = message.get("role") if isinstance(message, dict) else None
        if role == "system":
            continue
        return message if role == "user" else None
    return None


def content_blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [block for block in content or [] if isinstance(block, dict)]


def typed_prompt_of(body: dict[str, Any]) -> str | None:
    """The text the user typed in this request's final user turn (system reminders left out)."""
    message = last_user_message(body)
    if message is None:
        return None
    blocks = content_blocks(message)
    if any(block.get("type") == "tool_result" for block in blocks):
        return None
    texts = [
        block.get("text", "")
        for block in blocks
        if block.get("type") == "text" and not block.get("text", "").lstrip().startswith("<system-reminder>")
    ]
    return "\n".join(texts) if texts else None


def tool_results_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    message = last_user_message(body)
    if message is None:
        return []
    return [block for block in content_blocks(message) if block.get("type") == "tool_result"]


def sse_event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def message_start(message_id: str) -> dict[str, Any]:
    return {
        "type": "message_start",
        "message": {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": MODEL_NAME,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": 1},
        },
    }


def sse_for_text(message_id: str, text: str) -> bytes:
    chunks = [text[i : i + 40] for i in range(0, len(text), 40)] or [""]
    out = [
        sse_event("message_start", message_start(message_id)),
        sse_event(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
    ]
    for chunk in chunks:
        out.append(
            sse_event(
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": chunk}},
            )
        )
    out += [
        sse_event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        sse_event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": max(1, len(text) // 4)},
            },
        ),
        sse_event("message_stop", {"type": "message_stop"}),
    ]
    return b"".join(out)


def sse_for_tool_use(message_id: str, tool_id: str, name: str, tool_input: dict[str, Any]) -> bytes:
    return b"".join(
        [
            sse_event("message_start", message_start(message_id)),
            sse_event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "tool_use", "id": tool_id, "name": name, "input": {}},
                },
            ),
            sse_event(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "input_json_delta", "partial_json": json.dumps(tool_input)},
                },
            ),
            sse_event("content_block_stop", {"type": "content_block_stop", "index": 0}),
            sse_event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                    "usage": {"output_tokens": 20},
                },
            ),
            sse_event("message_stop", {"type": "message_stop"}),
        ]
    )


def json_message_for_text(message_id: str, text: str) -> dict[str, Any]:
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": MODEL_NAME,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": max(1, len(text) // 4)},
    }


def error_body(status: int, message: str) -> dict[str, Any]:
    kind = "api_error" if status >= 500 else "invalid_request_error"
    if status == 529:
        kind = "overloaded_error"
    return {"type": "error", "error": {"type": kind, "message": message}}


REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    529: "Overloaded",
}


class MockAnthropic:
    """The mock server. All state is read and changed from the loop it runs in."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, default_answer: str = DEFAULT_ANSWER) -> None:
        self.host = host
        self.port = port
        self.default_answer = default_answer
        self.requests: list[RecordedRequest] = []
        self.unknown_paths: list[str] = []
        # Every tool call the mock asked for: {"id", "name", "input"}, to match against tool_results().
        self.tool_uses_sent: list[dict[str, Any]] = []
        self._queue: deque[MockReply] = deque()
        self._server: asyncio.AbstractServer | None = None
        self._ids = itertools.count(1)
        self._changed: asyncio.Condition | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._stopping: asyncio.Event | None = None

    # -- scripting -------------------------------------------------------------------------------------

    def queue_text(self, text: str, delay: float = 0.0) -> None:
        self._queue.append(MockReply(kind="text", text=text, delay=delay))

    def queue_tool_use(self, tool_name: str, tool_input: dict[str, Any], delay: float = 0.0) -> None:
        self._queue.append(MockReply(kind="tool_use", tool_name=tool_name, tool_input=tool_input, delay=delay))

    def queue_error(self, status: int = 500, message: str = "mock internal error") -> None:
        self._queue.append(MockReply(kind="error", status=status, text=message))

    @property
    def pending_replies(self) -> int:
        return len(self._queue)

    # -- what was seen ---------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def main_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.is_main_loop]

    def user_prompts(self) -> list[str]:
        """The typed prompt of each main-loop request that starts a new user turn, in order."""
        prompts = []
        for request in self.main_requests():
            prompt = typed_prompt_of(request.body or {})
            if prompt is not None:
                prompts.append(prompt)
        return prompts

    def tool_results(self) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        for request in self.main_requests():
            results.extend(tool_results_of(request.body or {}))
        return results

    async def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``predicate()`` holds (checked after every request); False on timeout."""
        assert self._changed is not None, "server not started"
        try:
            async with asyncio.timeout(timeout):
                async with self._changed:
                    await self._changed.wait_for(predicate)
            return True
        except TimeoutError:
            return predicate()

    # -- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._changed = asyncio.Condition()
        self._stopping = asyncio.Event()
        self._server = await asyncio.start_server(self._serve_connection, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        logger.info("mock Anthropic API listening on %s", self.base_url)

    async def stop(self) -> None:
        if self._server is not None:
            assert self._stopping is not None
            self._stopping.set()
            self._server.close()
            for writer in list(self._writers):
                writer.close()  # idle keep-alive connections: their reader sees EOF and the handler returns
            if self._handlers:
                await asyncio.wait(list(self._handlers), timeout=2.0)
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> MockAnthropic:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- HTTP ------------------------------------------------------------------------------------------

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    break
                method, path, headers, raw_body = request
                keep_alive = headers.get("connection", "").lower() != "close"
                await self._dispatch(method, path, headers, raw_body, writer)
                await writer.drain()
                if not keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            logger.debug("mock connection ended: %r", exc)
        finally:
            self._writers.discard(writer)
            if task is not None:
                self._handlers.discard(task)
            writer.close()

    async def _read_request(self, reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str], bytes] | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None  # the client closed the keep-alive connection
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._read_chunked(reader)
        else:
            length = int(headers.get("content-length", "0") or 0)
            if length > MAX_BODY_BYTES:
                raise ValueError("request body too large")
            body = await reader.readexactly(length) if length else b""
        return method, target, headers, body

    async def _read_chunked(self, reader: asyncio.StreamReader) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return b"".join(parts)
            total += size
            if total > MAX_BODY_BYTES:
                raise ValueError("request body too large")
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)

    async def _dispatch(
        self, method: str, target: str, headers: dict[str, str], raw_body: bytes, writer: asyncio.StreamWriter
    ) -> None:
        path = target.split("?", 1)[0]
        body: dict[str, Any] | None = None
        if raw_body:
            try:
                parsed = json.loads(raw_body)
                body = parsed if isinstance(parsed, dict) else None
            except ValueError:
                body = None
        record = RecordedRequest(
            method, target, headers, body, method == "POST" and path == "/v1/messages" and is_main_loop_request(body)
        )
        self.requests.append(record)
        try:
            if method == "POST" and path == "/v1/messages":
                await self._answer_messages(record, writer)
            elif method == "POST" and path == "/v1/messages/count_tokens":
                self._write_json(writer, 200, {"input_tokens": 100})
            elif method in ("HEAD", "GET") and path == "/":
                self._write_json(writer, 200, {}, head_only=method == "HEAD")
            else:
                logger.warning("mock Anthropic: unknown request %s %s", method, target)
                self.unknown_paths.append(f"{method} {target}")
                self._write_json(writer, 404, error_body(404, f"not found: {path}"), head_only=method == "HEAD")
        finally:
            await self._notify_changed()

    async def _notify_changed(self) -> None:
        if self._changed is not None:
            async with self._changed:
                self._changed.notify_all()

    async def _answer_messages(self, record: RecordedRequest, writer: asyncio.StreamWriter) -> None:
        body = record.body or {}
        reply = self._queue.popleft() if record.is_main_loop and self._queue else None
        if reply is None:
            reply = MockReply(kind="text", text=self.default_answer)
        record.answered_with = reply.kind
        if reply.delay and self._stopping is not None:
            # A delayed answer ends early when the mock stops, so shutdown never waits on it.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), reply.delay)
        if reply.kind == "error":
            self._write_json(writer, reply.status, error_body(reply.status, reply.text))
            return
        message_id = f"msg_mock_{next(self._ids):04d}"
        if not body.get("stream"):
            self._write_json(writer, 200, json_message_for_text(message_id, reply.text or self.default_answer))
            return
        if reply.kind == "tool_use":
            tool_id = f"toolu_mock_{next(self._ids):04d}"
            self.tool_uses_sent.append({"id": tool_id, "name": reply.tool_name, "input": reply.tool_input})
            payload = sse_for_tool_use(message_id, tool_id, reply.tool_name, reply.tool_input)
        else:
            payload = sse_for_text(message_id, reply.text)
        self._write_raw(writer, 200, "text/event-stream", payload)

    def _write_json(
        self, writer: asyncio.StreamWriter, status: int, payload: dict[str, Any], head_only: bool = False
    ) -> None:
        data = json.dumps(payload).encode()
        self._write_raw(writer, status, "application/json", b"" if head_only else data, len(data))

    @staticmethod
    def _write_raw(
        writer: asyncio.StreamWriter, status: int, content_type: str, payload: bytes, length: int | None = None
    ) -> None:
        head = (
            f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {len(payload) if length is None else length}\r\n"
            "request-id: req_mock\r\n"
            "Connection: keep-alive\r\n\r\n"
        )
        writer.write(head.encode() + payload)


class MockAnthropicThread:
    """Runs a MockAnthropic in its own thread and loop, for synchronous callers (benches, sync tests)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, default_answer: str = DEFAULT_ANSWER) -> None:
        self.mock = MockAnthropic(host, port, default_answer)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="mock-anthropic", daemon=True)

    def __enter__(self) -> MockAnthropic:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.mock.start(), self._loop).result(timeout=10)
        return self.mock

    def call(self, function: Callable[[], Any]) -> Any:
        """Run ``function`` on the mock's loop (to script or read it safely) and return its result."""

        async def run() -> Any:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=10)

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.mock.stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


async def serve_forever(port: int, answer: str) -> None:
    mock = MockAnthropic(port=port, default_answer=answer)
    await mock.start()
    print(f"mock Anthropic API on {mock.base_url} (Ctrl-C to stop)", flush=True)
    try:
        while True:
            before = len(mock.requests)
            await mock.wait_for(lambda before=before: len(mock.requests) > before, timeout=3600)
            for request in mock.requests[before:]:
                prompt = typed_prompt_of(request.body or {}) if request.is_main_loop else None
                print(f"{request.method} {request.path} main={request.is_main_loop} prompt={prompt!r}", flush=True)
    finally:
        await mock.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Mock Anthropic Messages API for offline Claude Code runs")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--answer", default=DEFAULT_ANSWER, help="text every main-loop request is answered with")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    try:
        asyncio.run(serve_forever(args.port, args.answer))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
