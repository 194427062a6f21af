"""Pieces of the proxy benchmark that must cost as little as possible.

``fast_upstream`` is a raw ASGI app (no routing, no body parsing) answering a fixed
OpenAI chat completion, or a short SSE stream when the body asks for ``"stream": true``.
``Connection`` is a minimal HTTP/1.1 keep-alive client on asyncio streams: httpx2 costs
more CPU per request than the hub's own path, and on 2 cores the load generator shares
the machine with the servers it measures.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping

Scope = MutableMapping[str, object]
Message = MutableMapping[str, object]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

USAGE = {"prompt_tokens": 25, "completion_tokens": 9, "total_tokens": 34}
COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "fast",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Bonjour ! Réponse de test."},
                "finish_reason": "stop",
            }
        ],
        "usage": USAGE,
    }
).encode()


def _chunk(delta: dict[str, str], finish: str | None = None) -> bytes:
    payload = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "fast",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(payload)}\n\n".encode()


STREAM_EVENTS = [
    _chunk({"role": "assistant", "content": ""}),
    *(_chunk({"content": word}) for word in ("Bonjour", " !", " Réponse", " de test.")),
    _chunk({}, "stop"),
    b"data: "
    + json.dumps({"object": "chat.completion.chunk", "choices": [], "usage": USAGE}).encode()
    + b"\n\n",
    b"data: [DONE]\n\n",
]
JSON_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(COMPLETION)).encode()),
]
SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]


async def fast_upstream(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return  # lifespan: nothing to set up
    body = b""
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        body += chunk if isinstance(chunk, bytes) else b""
        if not message.get("more_body"):
            break
    if b'"stream": true' in body or b'"stream":true' in body:
        await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
        for event in STREAM_EVENTS:
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200, "headers": JSON_HEADERS})
    await send({"type": "http.response.body", "body": COMPLETION})


class Connection:
    """One keep-alive HTTP/1.1 connection; ``post`` returns (status, ttfb s, total s)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    def close(self) -> None:
        self._writer.close()

    async def post(self, head: bytes, body: bytes) -> tuple[int, float, float]:
        started = time.perf_counter()
        self._writer.write(head + body)
        status_line = await self._reader.readuntil(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length: int | None = None
        chunked = False
        while (line := await self._reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if not chunked:
            await self._reader.readexactly(length or 0)
            now = time.perf_counter()
            return status, now - started, now - started
        ttfb: float | None = None
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await self._reader.readexactly(size + 2)
            if ttfb is None:
                ttfb = time.perf_counter() - started
            if size == 0:
                return status, ttfb, time.perf_counter() - started


def request_head(host: str, port: int, path: str, body: bytes, token: str = "") -> bytes:
    auth = f"authorization: Bearer {token}\r\n" if token else ""
    return (
        f"POST {path} HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\n"
        f"{auth}content-length: {len(body)}\r\n\r\n"
    ).encode()
