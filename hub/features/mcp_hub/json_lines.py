"""Upstream answers sent as several JSON-RPC messages in one ``application/json`` body.

The Streamable HTTP transport says a JSON answer holds one message and several go as an
event stream. Some servers write each message on its own line in a JSON body anyway
(the conformance suite's reference server does, for a progress notice before the
result); the mcp SDK's client then fails the whole call with -32700. This transport
hands the SDK such a body as the event stream it should have been, one event per
message, so the call and its notifications go through. A body that is one JSON value,
pretty-printed or not, is left untouched and not parsed: a newline between ``}`` and
``{`` cannot occur inside one JSON value (a string holds no raw newline), so one byte
scan decides.
"""

from __future__ import annotations

import json
import re

import httpx2

JSON_MEDIA = "application/json"
JOINED = re.compile(rb"\}[ \t\r]*\n[ \t\r\n]*\{")


def _messages(body: bytes) -> list[str] | None:
    """The JSON documents of ``body`` when there are several, else None."""
    if JOINED.search(body) is None:
        return None
    text = body.decode("utf-8", errors="strict").strip()
    try:
        json.loads(text)
        return None  # one value: as sent
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            return None  # not JSON at all: the SDK reports it as it would
    decoder, found, index = json.JSONDecoder(), [], 0
    while index < len(text):
        try:
            value, end = decoder.raw_decode(text, index)
        except json.JSONDecodeError:
            return None
        found.append(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
        index = end
        while index < len(text) and text[index] in " \t\r\n":
            index += 1
    return found


class JsonLinesAsEvents(httpx2.AsyncBaseTransport):
    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self._inner.handle_async_request(request)
        media = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media != JSON_MEDIA or request.method != "POST":
            return response
        body = await response.aread()  # kept by the response: the SDK's read gets it back
        try:
            messages = _messages(body)
        except UnicodeDecodeError:
            messages = None
        if messages is None:
            return response
        headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in ("content-length", "transfer-encoding", "content-encoding")
        }
        headers["content-type"] = "text/event-stream"
        events = "".join(f"event: message\ndata: {m}\n\n" for m in messages).encode()
        await response.aclose()
        return httpx2.Response(
            response.status_code, headers=headers, content=events, request=request
        )

    async def aclose(self) -> None:
        await self._inner.aclose()
