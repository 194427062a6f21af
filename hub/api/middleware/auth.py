"""Who is calling: the admin key (``[server].api_key``), a virtual key, or nobody.

The admin key opens every route. A virtual key (``sk-kp-…``, hub/services/access/keys.py)
opens the routes a client uses (``/models``, ``/chat/completions``, the MCP
endpoints) and is put in the ASGI scope for attribution and limits. ``/metrics`` also
takes ``[server].metrics_key``. Without an admin key the hub is open (loopback only),
but a virtual key is still checked and attributed. An unknown key and a malformed
header get the same answer. Open paths: ``/health``, the dashboard's static files and
``/v1/…`` (no such route: its 404 says to drop ``/v1`` from the base URL, whatever key
came with it). ``/ws`` is let through without the header: browsers cannot set it on a WebSocket,
so the endpoint reads the admin key from the first message instead (never from the
URL, which access logs keep); ``state["authenticated"]`` says if the header did.
With ``[auth.oauth]``, the MCP endpoints also take the issuer's JWT access tokens and
refuse a request without credentials (401 and the RFC 9728 challenge); a JWT also
opens ``/models`` and ``/chat/completions`` (hub/services/access/oauth_resource.py).
"""

from __future__ import annotations

import hmac
import json

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from hub.api.middleware.oauth_step_up import tool_step_up
from hub.api.middleware.revocation import until_revoked
from hub.core.errors import HubError
from hub.core.storage.keys import KeyRecord
from hub.services.access.caller import ADMIN, LOCAL, Caller, key_caller, oauth_caller
from hub.services.access.keys import SECRET_PREFIX, KeyService
from hub.services.access.oauth_resource import ProtectedResource, endpoint_profile
from hub.services.access.oauth_tokens import BearerRefusal, OAuthIdentity

OPEN_PATHS = ("/health", "/", "/favicon.ico", "/v1")
# /v1/…: no such route; its 404 tells whoever asks to drop /v1 from the base URL
# /oauth/: a browser coming back from an authorization server (routes/sign_in.py)
OPEN_PREFIXES = ("/static/", "/v1/", "/.well-known/", "/oauth/")
WS_PATH = "/ws"
CLIENT_PATHS = ("/models", "/chat/completions", "/mcp")
CLIENT_PREFIXES = ("/models/", "/mcp/", "/servers/", "/profiles/")
KEY_SCOPE = "kimi.key"
OAUTH_SCOPE = "kimi.oauth"  # the OAuthIdentity of a request that came with a JWT
ADMIN_SCOPE = "kimi.admin"  # the request came with the admin key
INVALID_KEY = "Clé API absente ou invalide (en-tête Authorization: Bearer)."


def request_key(connection: HTTPConnection) -> KeyRecord | None:
    """The virtual key the request came with (None: admin key or open hub)."""
    key = connection.scope.get(KEY_SCOPE)
    return key if isinstance(key, KeyRecord) else None


def caller_of(connection: HTTPConnection) -> Caller:
    """Who calls: a virtual key, an OAuth subject, the admin key, or anyone on an open hub
    (loopback)."""
    key = request_key(connection)
    identity = connection.scope.get(OAUTH_SCOPE)
    if key is not None and isinstance(identity, OAuthIdentity):
        return oauth_caller(key, identity.subject, identity.client_id, identity.scopes)
    if key is not None:
        return key_caller(key)
    return ADMIN if connection.scope.get(ADMIN_SCOPE) else LOCAL


def _token(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            raw = bytes(value)
            return raw[7:].strip() if raw[:7].lower() == b"bearer " else b""
    return None


def _same(token: bytes | None, key: str | None) -> bool:
    return token is not None and key is not None and hmac.compare_digest(token, key.encode())


def key_matches(candidate: str, key: str) -> bool:
    return _same(candidate.encode(), key)


class ApiKeyMiddleware:
    def __init__(self, app: ASGIApp, api_key: str | None, metrics_key: str | None) -> None:
        self.app = app
        self._admin = api_key
        self._metrics = metrics_key

    async def _check(self, scope: Scope) -> None:
        """Raise the HubError to answer with; mark the scope with a virtual key."""
        path = str(scope.get("path", ""))
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            return
        token = _token(scope)
        if _same(token, self._admin):
            scope[ADMIN_SCOPE] = True
            return
        if path == "/metrics" and _same(token, self._metrics):
            return
        client = path in CLIENT_PATHS or path.startswith(CLIENT_PREFIXES)
        if token is not None and token.startswith(SECRET_PREFIX.encode()):
            keys = scope["app"].state.hub.keys
            assert isinstance(keys, KeyService)
            key = await keys.authenticate(token.decode(errors="replace"))
            if key is None:
                raise _invalid()
            if client:
                scope[KEY_SCOPE] = key  # its tool rules hold on every MCP door (tool gate)
                return
            if self._admin is not None or (path == "/metrics" and self._metrics is not None):
                raise HubError(
                    "Cette route est réservée à la clé d'administration.",
                    status=403,
                    error_type="permission_error",
                    code="admin_key_required",
                )
            return
        oauth = oauth_of(scope)
        mcp = endpoint_profile(path) is not None
        if oauth is not None and client and (mcp or (token is not None and token.count(b".") == 2)):
            if not token:
                raise oauth.missing_token(path)
            identity, principal = await oauth.admit(token.decode(errors="replace"), path)
            scope[KEY_SCOPE] = principal  # the same tool gate as a key
            scope[OAUTH_SCOPE] = identity
            return
        if self._admin is None and not (path == "/metrics" and self._metrics is not None):
            return
        raise _invalid()

    async def _step_up(self, scope: Scope, receive: Receive) -> Receive:
        identity, key = scope.get(OAUTH_SCOPE), scope.get(KEY_SCOPE)
        oauth = oauth_of(scope) if isinstance(identity, OAuthIdentity) else None
        if oauth is None or not isinstance(identity, OAuthIdentity):
            return receive
        assert isinstance(key, KeyRecord)
        limit = scope["app"].state.hub.config.server.max_body_bytes
        assert isinstance(limit, int)
        return await tool_step_up(scope, receive, oauth, identity, key, limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket" and scope.get("path") == WS_PATH:
            header_ok = self._admin is None or _same(_token(scope), self._admin)
            scope.setdefault("state", {})["authenticated"] = header_ok
            await self.app(scope, receive, send)  # else the first message carries the key
            return
        try:
            await self._check(scope)
            receive = await self._step_up(scope, receive)
        except HubError as exc:
            await _refuse(scope, send, exc)
            return
        key = scope.get(KEY_SCOPE)
        # revoking the key ends this connection (an OAuth token ends at its exp)
        if isinstance(key, KeyRecord) and OAUTH_SCOPE not in scope:
            keys = scope["app"].state.hub.keys
            assert isinstance(keys, KeyService)
            await until_revoked(self.app, scope, receive, send, keys.live, key.id)
            return
        await self.app(scope, receive, send)


def oauth_of(scope: Scope) -> ProtectedResource | None:
    """The hub's ``[auth.oauth]`` resource, None when OAuth is off."""
    oauth = scope["app"].state.hub.oauth
    assert oauth is None or isinstance(oauth, ProtectedResource)
    return oauth


def _challenge(scope: Scope, error: HubError) -> bytes:
    """``Bearer``, with the OAuth error and resource metadata on MCP endpoints."""
    mcp = endpoint_profile(str(scope.get("path", ""))) is not None
    oauth = oauth_of(scope) if mcp and error.status in (401, 403) else None
    if oauth is None:
        return b"Bearer"
    if not isinstance(error, BearerRefusal):
        if error.status != 401:
            return b"Bearer"
        error = BearerRefusal(error.message, error.status, "invalid_token")
    return oauth.challenge(error).encode()


def _invalid() -> HubError:
    return HubError(
        INVALID_KEY, status=401, error_type="authentication_error", code="invalid_api_key"
    )


async def _refuse(scope: Scope, send: Send, error: HubError) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = json.dumps(
        {
            "error": {
                "message": error.message,
                "type": error.error_type,
                "param": None,
                "code": error.code,
            }
        },
        ensure_ascii=False,
    ).encode()
    headers = [(b"content-type", b"application/json")]
    challenge = _challenge(scope, error)
    if error.status == 401 or challenge != b"Bearer":
        headers.append((b"www-authenticate", challenge))
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
