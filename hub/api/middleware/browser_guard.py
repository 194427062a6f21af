"""One Host/Origin/content-type policy for every HTTP and WebSocket route.

The hub runs next to the user's browser. A page from another site can reach it
two ways: DNS rebinding (its own name resolving to 127.0.0.1, so the browser
thinks it is same-origin: stopped by the ``Host`` check) and cross-site requests
or WebSockets (stopped by the ``Origin`` check, plus ``application/json`` only on
state-changing routes, which no "simple" cross-site request can send).
Clients that are not browsers send no ``Origin`` and pass that check.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from hub.config import ServerConfig
from hub.core.jsontypes import JSONObject

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_BINDS = ("", "0.0.0.0", "::")
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
JSON_MEDIA_TYPE = "application/json"


def split_host(value: str) -> tuple[str, str]:
    """``name[:port]`` or ``[v6]:port`` → (lower-case name without brackets, port or "")."""
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        return name, rest[1:] if rest.startswith(":") else ""
    if value.count(":") > 1:  # a bare IPv6 address
        return value, ""
    name, _, port = value.partition(":")
    return name, port


def _is_loopback(name: str) -> bool:
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class BrowserPolicy:
    """Which ``Host`` and ``Origin`` values the hub answers to."""

    any_port_hosts: frozenset[str]  # names allowed on any port
    exact_hosts: frozenset[str]  # "name:port" entries
    origins: frozenset[str]

    @classmethod
    def from_config(cls, server: ServerConfig) -> BrowserPolicy:
        any_port: set[str] = set()
        exact: set[str] = set()
        if server.host not in WILDCARD_BINDS:  # the address actually bound is ours
            any_port.add(split_host(server.host)[0])
        for entry in server.allowed_hosts:
            name, port = split_host(entry)
            if port in ("", "*"):
                any_port.add(name)
            else:
                exact.add(f"{name}:{port}")
        origins = frozenset(o.strip().rstrip("/").lower() for o in server.allowed_origins)
        return cls(frozenset(any_port), frozenset(exact), origins)

    def host_allowed(self, host: str) -> bool:
        name, port = split_host(host)
        if not name:
            return False
        return (
            _is_loopback(name)
            or name in self.any_port_hosts
            or f"{name}:{port}" in self.exact_hosts
        )

    def origin_allowed(self, origin: str, host: str) -> bool:
        """The dashboard's own origin (same as ``Host``), or one configured."""
        origin = origin.strip().rstrip("/").lower()
        own = {f"http://{host.strip().lower()}", f"https://{host.strip().lower()}"}
        return origin in own or origin in self.origins


WANTED = frozenset((b"host", b"origin", b"content-type", b"content-length", b"transfer-encoding"))


def _headers(scope: Scope) -> tuple[dict[bytes, str], int]:
    """The headers this policy reads (first of each), and how many ``Host`` there were."""
    found: dict[bytes, str] = {}
    hosts = 0
    for key, value in scope.get("headers", []):
        if key in WANTED:
            hosts += key == b"host"
            found.setdefault(key, bytes(value).decode("latin-1"))
    return found, hosts


def _has_body(headers: dict[bytes, str]) -> bool:
    if b"transfer-encoding" in headers:
        return True
    return headers.get(b"content-length", "").strip() not in ("", "0")


def is_mcp_path(path: str) -> bool:
    return path == "/mcp" or path.endswith("/mcp") or path.startswith("/mcp/")


class BrowserGuard:
    """ASGI middleware applying :class:`BrowserPolicy` before any route runs."""

    def __init__(self, app: ASGIApp, policy: BrowserPolicy) -> None:
        self.app = app
        self.policy = policy

    def _refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        headers, hosts = _headers(scope)
        host = headers.get(b"host", "")
        if hosts != 1 or not self.policy.host_allowed(host):
            shown = host[:100] or "absent"
            message = (
                f"Hôte « {shown} » non autorisé (protection contre le DNS rebinding ; "
                "ajoutez-le à [server] allowed_hosts)."
            )
            return 421, "host_not_allowed", message
        origin = headers.get(b"origin")
        if origin is not None and not self.policy.origin_allowed(origin, host):
            message = (
                f"Origine « {origin[:100]} » non autorisée (ajoutez-la à [server] allowed_origins)."
            )
            return 403, "origin_not_allowed", message
        if scope["type"] == "http" and scope.get("method") in BODY_METHODS:
            content_type = headers.get(b"content-type")
            media = (content_type or "").split(";", 1)[0].strip().lower()
            if (content_type is not None or _has_body(headers)) and media != JSON_MEDIA_TYPE:
                shown = content_type[:100] if content_type else "absent"
                message = f"Content-Type « {shown} » refusé : seul application/json est accepté."
                return 415, "unsupported_media_type", message
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self._refusal(scope) if scope["type"] in ("http", "websocket") else None
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, code, message = refusal
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": code})
            return
        await send_refusal(send, status, code, message, mcp=is_mcp_path(str(scope["path"])))


async def send_refusal(
    send: Send,
    status: int,
    code: str,
    message: str,
    *,
    mcp: bool,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """A JSON error: JSON-RPC on MCP endpoints, OpenAI-shaped everywhere else."""
    if mcp:
        payload: JSONObject = {
            "jsonrpc": "2.0",
            "id": None,
            "error": {"code": -32600, "message": message},
        }
    else:
        kind = "authentication_error" if status == 401 else "invalid_request_error"
        payload = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": headers + (extra_headers or []),
        }
    )
    await send({"type": "http.response.body", "body": body})
