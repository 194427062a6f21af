"""A virtual key's connection ends when the key is revoked, whatever it is doing.

``ApiKeyMiddleware`` runs every request and WebSocket of a virtual key through
``until_revoked``: revoking the key cancels the connection's task (the way a client's
disconnect does, hub/api/middleware/disconnects.py), then the connection is closed
properly: a 401 if nothing was answered yet, an SSE error event then the end of the body
for a chat stream, the end of the body for another stream (MCP), a 1008 close for a
WebSocket. The upstream call is cancelled with it and its row says why.
"""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.services.access.live import LiveConnections

MESSAGE = "Clé API révoquée : connexion fermée."
CHAT_PATH = "/chat/completions"
CLOSE_POLICY = 1008


def _error(error_type: str) -> bytes:
    error = {"message": MESSAGE, "type": error_type, "param": None, "code": "key_revoked"}
    return json.dumps({"error": error}, ensure_ascii=False).encode()


async def until_revoked(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, live: LiveConnections, key_id: str
) -> None:
    task = asyncio.current_task()
    assert task is not None
    revoked = False
    started = False  # response headers sent, or WebSocket accepted

    def end() -> None:
        nonlocal revoked
        if not revoked:
            revoked = True
            task.cancel()

    async def watched(message: Message) -> None:
        nonlocal started
        if message["type"] in ("http.response.start", "websocket.accept"):
            started = True
        await send(message)

    forget = live.watch(key_id, end)
    try:
        await app(scope, receive, watched)
    except asyncio.CancelledError:
        if not revoked or task.uncancel() > 0:
            raise
        await _close(scope, send, started)
    finally:
        forget()


async def _close(scope: Scope, send: Send, started: bool) -> None:
    if scope["type"] == "websocket":
        if started:
            await send({"type": "websocket.close", "code": CLOSE_POLICY, "reason": MESSAGE})
        else:
            await send({"type": "websocket.close", "code": CLOSE_POLICY})
        return
    if not started:
        headers = [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": _error("authentication_error")})
        return
    last = b""
    if scope.get("path") == CHAT_PATH:  # the openai SDKs raise on an error event
        last = b"data: " + _error("authentication_error") + b"\n\n"
    await send({"type": "http.response.body", "body": last, "more_body": False})
