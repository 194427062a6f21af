"""The MCP SDK's own JSON-RPC errors, in French, on every MCP endpoint of the hub.

The SDK answers some requests before any handler of ours runs (invalid JSON, a body
that is no JSON-RPC message, a missing or unknown session, a wrong ``Accept`` header,
an unknown method, parameters that fail its models, the 2026-07-28 envelope checks),
in English. Each known message is rewritten here as it leaves: HTTP responses of
``/mcp``, ``/profiles/NAME/mcp`` and ``/servers/NAME/mcp`` (``FrenchMcpErrors``, an ASGI
wrapper), and ``kimi-proxy mcp``'s stdout (``translate_outgoing``). Codes, ids and HTTP
statuses are kept; only ``error.message`` changes. Unknown messages (an upstream's own
text relayed by ``/servers/NAME/mcp``) pass unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import anyio
import mcp_types as types
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.shared.message import SessionMessage
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.core.jsontypes import JSON

MCP_PATH = re.compile(r"^/(?:mcp|profiles/[^/]+/mcp|servers/[^/]+/mcp)$")
HELD_BYTES = 1024 * 1024  # JSON bodies kept to rewrite (errors are small; results stream)
EVENT_BYTES = 64 * 1024  # SSE chunks looked into (an error event is small)
_POSITION = re.compile(r"line (\d+) column (\d+)")
_NEED_INIT = " : recommencer par « initialize »."

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _fixed(text: str) -> Callable[[re.Match[str]], str]:
    return lambda _: text


def _parse_error(found: re.Match[str]) -> str:
    where = _POSITION.search(found.group(0))
    at = f" (ligne {where.group(1)}, colonne {where.group(2)})" if where else ""
    return f"JSON invalide{at} : le corps de la requête n'est pas un JSON lisible."


def _header(found: re.Match[str]) -> str:
    header, rest = found.group("header"), found.group("rest")
    if rest.startswith("appears more than once"):
        return f"L'en-tête {header} apparaît plusieurs fois."
    if rest.startswith("carries a malformed base64"):
        return f"L'en-tête {header} porte une valeur base64 malformée."
    name = re.search(r"'([^']*)'", rest)
    what = f"« {name.group(1)} »" if name else "la requête"
    if rest.startswith("is present but"):
        return f"L'en-tête {header} est présent mais l'argument {what} manque."
    if rest.startswith("is missing but"):
        return f"L'en-tête {header} manque alors que l'argument {what} est présent."
    if "protocol version" in rest:
        return f"L'en-tête {header} ne correspond pas à la version du protocole de la requête."
    if "method" in rest:
        return f"L'en-tête {header} ne correspond pas à la méthode de la requête."
    return f"L'en-tête {header} ne correspond pas à {what} dans le corps de la requête."


RULES: tuple[Rule, ...] = tuple(
    (re.compile(pattern, re.DOTALL), translate)
    for pattern, translate in (
        (r"^Parse error\b.*", _parse_error),
        (
            r"^Validation error: .*",
            _fixed(
                'Message JSON-RPC invalide : un objet avec « jsonrpc » ("2.0"), « method » '
                "et, pour une requête, « id » est attendu."
            ),
        ),
        (
            r"^Body must be a single JSON-RPC request or notification object$",
            _fixed("Le corps doit être un seul objet JSON-RPC (requête ou notification)."),
        ),
        (
            r"^Bad Request: Missing session ID$",
            _fixed("En-tête Mcp-Session-Id absent" + _NEED_INIT),
        ),
        (
            r"^(?:Not Found: Invalid or expired session ID|Session not found)$",
            _fixed("Session MCP inconnue ou expirée" + _NEED_INIT),
        ),
        (r"^Not Found: Session has been terminated$", _fixed("Session MCP terminée" + _NEED_INIT)),
        (
            r"^Not Acceptable: Client must accept both application/json and text/event-stream$",
            _fixed("L'en-tête Accept doit contenir application/json et text/event-stream."),
        ),
        (
            r"^Not Acceptable: Client must accept (?P<type>[\w/+-]+)$",
            lambda m: f"L'en-tête Accept doit contenir {m.group('type')}.",
        ),
        (
            r"^Unsupported Media Type: .*",
            _fixed("Content-Type doit être application/json."),
        ),
        (
            r"^Conflict: Only one SSE stream is allowed per session$",
            _fixed("Un seul flux SSE est permis par session."),
        ),
        (r"^Method Not Allowed.*", _fixed("Méthode HTTP non autorisée sur ce point MCP.")),
        (
            r"^Too many open sessions$",
            _fixed("Trop de sessions MCP ouvertes ; réessayer plus tard."),
        ),
        (
            r"^Session terminated before the request completed$",
            _fixed("Session MCP terminée avant la fin de la requête."),
        ),
        (r"^Error handling POST request$", _fixed("Erreur interne en traitant la requête.")),
        (r"^Error replaying events$", _fixed("Erreur en rejouant les événements du flux.")),
        (r"^Request cancelled$", _fixed("Requête annulée.")),
        (r"^Method not found$", _fixed("Méthode MCP inconnue.")),
        (
            r"^Invalid request parameters$",
            _fixed("Paramètres de la requête invalides (champ manquant ou de mauvais type)."),
        ),
        (r"^Handler returned an invalid result$", _fixed("Réponse interne invalide.")),
        (r"^Internal (?:server )?error$", _fixed("Erreur interne du serveur.")),
        (r"^Connection closed$", _fixed("Connexion fermée.")),
        (
            r"^Unsupported protocol version$",
            _fixed("Version du protocole MCP non prise en charge."),
        ),
        (
            r"^params\._meta must be an object carrying the required .*",
            _fixed(
                "params._meta doit être un objet portant les clés "
                "« io.modelcontextprotocol/protocolVersion » et "
                "« io.modelcontextprotocol/clientCapabilities »."
            ),
        ),
        (
            r"^params\._meta is missing the required envelope key\(s\): (?P<keys>.*)$",
            lambda m: f"params._meta : clé(s) obligatoire(s) absente(s) : {m.group('keys')}.",
        ),
        (
            r"^the protocol-version envelope value must be a string$",
            _fixed("La version du protocole (params._meta) doit être une chaîne."),
        ),
        (
            r"^(?P<header>[\w-]+) header (?P<rest>appears more than once|carries a malformed "
            r"base64.*|is present but .*|is missing but .*|does not match the request.*)$",
            _header,
        ),
        (
            r"^this connection serves the handshake protocol era.*",
            _fixed("Cette session (initialize) n'accepte pas l'enveloppe 2026-07-28."),
        ),
        (
            r"^connection is serving the 2026-07-28 protocol.*",
            _fixed("Cette connexion sert le protocole 2026-07-28 : pas d'« initialize »."),
        ),
        (r"^Invalid or expired requestState$", _fixed("requestState invalide ou expiré.")),
        (
            r"^subscriptions/listen requires a request id$",
            _fixed("subscriptions/listen exige un identifiant de requête."),
        ),
        (r"^Subscription limit reached$", _fixed("Nombre maximal d'abonnements atteint.")),
    )
)


def french_message(message: str) -> str | None:
    """The French text of one of the SDK's own error messages; None for any other."""
    for pattern, translate in RULES:
        found = pattern.match(message)
        if found is not None:
            return translate(found)
    return None


def _rewritten(raw: bytes) -> bytes | None:
    """A JSON-RPC error body with its message in French, or None when nothing changes."""
    try:
        body: JSON = json.loads(raw)
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    french = french_message(message) if isinstance(message, str) else None
    if french is None or not isinstance(error, dict):
        return None
    error["message"] = french
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _events(chunk: bytes) -> bytes:
    """An SSE chunk with each error event's message in French."""
    if len(chunk) > EVENT_BYTES or b'"error"' not in chunk:
        return chunk
    lines = chunk.split(b"\n")
    for index, line in enumerate(lines):
        if line.startswith(b"data: "):
            rewritten = _rewritten(line[6:])
            if rewritten is not None:
                lines[index] = b"data: " + rewritten
    return b"\n".join(lines)


class FrenchMcpErrors:
    """Rewrites the SDK's English errors on the MCP endpoints (other paths untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not MCP_PATH.match(str(scope.get("path", ""))):
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _Rewriter(send).send)


class _Rewriter:
    def __init__(self, send: Send) -> None:
        self._send = send
        self._start: Message | None = None  # held while a JSON body is read
        self._body: list[bytes] = []
        self._held = 0
        self._stream = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = dict(message.get("headers", []))
            kind = bytes(headers.get(b"content-type", b""))
            if kind.startswith(b"application/json"):
                self._start = message
                return
            self._stream = kind.startswith(b"text/event-stream")
            await self._send(message)
            return
        if message["type"] != "http.response.body":
            await self._send(message)
            return
        body = bytes(message.get("body", b""))
        if self._stream:
            await self._send({**message, "body": _events(body)})
        elif self._start is None:
            await self._send(message)
        else:
            await self._json(body, bool(message.get("more_body", False)))

    async def _json(self, body: bytes, more: bool) -> None:
        start = self._start
        assert start is not None
        self._body.append(body)
        self._held += len(body)
        if more and self._held <= HELD_BYTES:
            return
        whole = b"".join(self._body)
        rewritten = None if more else _rewritten(whole)
        self._start, self._body = None, []
        if rewritten is not None:
            headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
            headers.append((b"content-length", str(len(rewritten)).encode()))
            start = {**start, "headers": headers}
            whole = rewritten
        await self._send(start)
        await self._send({"type": "http.response.body", "body": whole, "more_body": more})


async def translate_outgoing(
    source: MemoryObjectReceiveStream[SessionMessage],
    sink: MemoryObjectSendStream[SessionMessage],
) -> None:
    """stdio: what the server writes, errors in French, then on to stdout."""
    async with source, sink:
        async for item in source:
            message = item.message
            if isinstance(message, types.JSONRPCError):
                french = french_message(message.error.message)
                if french is not None:
                    error = message.error.model_copy(update={"message": french})
                    item = SessionMessage(message.model_copy(update={"error": error}))
            try:
                await sink.send(item)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                return  # stdout is gone: nothing more can be said
