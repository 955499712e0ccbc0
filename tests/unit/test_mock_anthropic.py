"""The mock Anthropic API the real-Claude tests rely on: scripted answers and what it records."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.support.mock_anthropic import MockAnthropic

TOOLS = [{"name": "Bash", "input_schema": {"type": "object"}}]


async def post(mock: MockAnthropic, body: dict[str, Any]) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection(mock.host, mock.port)
    data = json.dumps(body).encode()
    writer.write(
        b"POST /v1/messages?beta=true HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\nContent-Length: " + str(len(data)).encode() + b"\r\n\r\n" + data
    )
    await writer.drain()
    response = await reader.read()
    writer.close()
    head, _, payload = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), payload


def turn(*messages: dict[str, Any]) -> dict[str, Any]:
    return {"model": "m", "stream": True, "tools": TOOLS, "messages": list(messages)}


async def test_scripted_replies_in_order_and_side_requests_do_not_consume_them() -> None:
    async with MockAnthropic() as mock:
        mock.queue_tool_use("Bash", {"command": "touch f"})
        mock.queue_error(500, "boom")
        side_status, side = await post(
            mock, {"model": "m", "stream": True, "messages": [{"role": "user", "content": "title this"}]}
        )
        user = {
            "role": "user",
            "content": [
                {"type": "text", "text": "<system-reminder>\ncontext\n</system-reminder>\n"},
                {"type": "text", "text": "say hello"},
            ],
        }
        status1, first = await post(mock, turn(user, {"role": "system", "content": "agent list"}))
        tool_id = mock.tool_uses_sent[0]["id"]
        result = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": "ok"}]}
        status2, second = await post(mock, turn(user, {"role": "assistant", "content": []}, result))
        status3, third = await post(mock, turn({"role": "user", "content": "again"}))
    assert side_status == 200 and b"OK." in side
    assert (
        status1 == 200 and b'"tool_use"' in first and b"input_json_delta" in first and b"event: message_stop" in first
    )
    assert status2 == 500 and json.loads(second)["error"]["type"] == "api_error"
    assert status3 == 200 and b"text_delta" in third and b"OK." in third
    assert mock.user_prompts() == ["say hello", "again"]
    assert [r["tool_use_id"] for r in mock.tool_results()] == [tool_id]
    assert [r.is_main_loop for r in mock.requests] == [False, True, True, True]


async def test_unknown_paths_are_logged_and_answered_404() -> None:
    async with MockAnthropic() as mock:
        reader, writer = await asyncio.open_connection(mock.host, mock.port)
        writer.write(b"GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        response = await reader.read()
        writer.close()
    assert response.startswith(b"HTTP/1.1 404")
    assert mock.unknown_paths == ["GET /v1/models"]
