"""Bearer-token check when ``[server].api_key`` is set (mandatory off loopback).

Open paths: ``/health`` and the dashboard's static files. Browsers cannot set
headers on a WebSocket, so ``/ws`` also accepts ``?token=``.
"""

from __future__ import annotations

import hmac
import json
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

OPEN_PATHS = ("/health", "/", "/favicon.ico")
OPEN_PREFIXES = ("/static/",)


class ApiKeyMiddleware:
    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self._key = api_key.encode()

    def _allowed(self, scope: Scope) -> bool:
        path = str(scope.get("path", ""))
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            return True
        for name, value in scope.get("headers", []):
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                return hmac.compare_digest(value[7:].strip(), self._key)
        if scope["type"] == "websocket":
            query = parse_qs(scope.get("query_string", b"").decode())
            token = query.get("token", [""])[0].encode()
            return hmac.compare_digest(token, self._key)
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = json.dumps(
            {
                "error": {
                    "message": "Clé API absente ou invalide (en-tête Authorization: Bearer).",
                    "type": "authentication_error",
                    "param": None,
                    "code": "invalid_api_key",
                }
            },
            ensure_ascii=False,
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b"Bearer"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
