"""Several JSON-RPC messages in one ``application/json`` body become events; one JSON
value, however it is laid out, is never touched (the reference server case runs in
tests/mcp/test_conformance.py, server-stateless through an HTTP upstream)."""

from __future__ import annotations

import json

import httpx2

from hub.features.mcp_hub.json_lines import JsonLinesAsEvents

NOTICE = {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progress": 1}}
RESULT = {"jsonrpc": "2.0", "id": 1, "result": {"content": []}}


async def _through(body: bytes, media: str = "application/json") -> httpx2.Response:
    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": media}, content=body)

    transport = JsonLinesAsEvents(httpx2.MockTransport(answer))
    async with httpx2.AsyncClient(transport=transport) as http:
        return await http.post("http://upstream.test/mcp", json={})


async def test_json_lines_become_one_event_each() -> None:
    body = (json.dumps(NOTICE) + "\n" + json.dumps(RESULT)).encode()
    response = await _through(body)
    assert response.headers["content-type"] == "text/event-stream"
    events = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    assert [json.loads(e) for e in events] == [NOTICE, RESULT]


async def test_one_json_value_is_passed_on_byte_for_byte() -> None:
    for body in (
        json.dumps(RESULT).encode(),
        json.dumps(RESULT, indent=2).encode(),  # pretty: newlines, never "}\n{"
        b'{"jsonrpc": "2.0", "id": 1, "result": {"text": "}\\n{"}}',  # in a string: escaped
        b"not json at all }\n{ still not",  # the SDK reports it as it would
        '{"é": 1}\n{"x"'.encode(),  # a cut second value: left as sent
    ):
        response = await _through(body)
        assert response.headers["content-type"] == "application/json"
        assert response.content == body
    streamed = (json.dumps(NOTICE) + "\n" + json.dumps(RESULT)).encode()
    events = await _through(streamed, "text/event-stream")  # not JSON: not looked at
    assert events.content == streamed
