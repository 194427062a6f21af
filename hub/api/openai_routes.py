"""``GET /models`` and ``POST /chat/completions``: the OpenAI wire format, nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from hub.api.errors import read_object
from hub.api.state import hub_of
from hub.core.errors import HubError
from hub.core.jsontypes import JSON, JSONObject, as_object
from hub.services.chat import JsonReply, StreamReply

SESSION_HEADER = "x-kimi-session"
COMPACTION_HEADER = "x-kimi-compaction"


async def list_models(request: Request) -> JSONResponse:
    hub = hub_of(request)
    created = int(hub.started_at)
    data: list[JSON] = [
        {
            "id": key,
            "object": "model",
            "created": created,
            "owned_by": model.provider,
            "context_length": model.max_context,
            "max_context": model.max_context,
        }
        for key, model in hub.router.models.items()
    ]
    return JSONResponse({"object": "list", "data": data})


def validate_chat(payload: JSONObject) -> None:
    """Reject what no provider would accept, before any upstream call."""
    model = payload.get("model")
    if not isinstance(model, str) or not model.strip():
        raise HubError("Champ « model » manquant ou vide.", param="model", code="missing_model")
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise HubError(
            "Champ « messages » manquant : une liste non vide est attendue.",
            param="messages",
            code="missing_messages",
        )
    for index, message in enumerate(messages):
        obj = as_object(message)
        if obj is None or not isinstance(obj.get("role"), str):
            raise HubError(
                f"messages[{index}] doit être un objet avec un champ « role » texte.",
                param=f"messages[{index}]",
                code="invalid_message",
            )
    for name, kind, label in (("stream", bool, "booléen"), ("tools", list, "liste")):
        if name in payload and payload[name] is not None and not isinstance(payload[name], kind):
            raise HubError(f"Le champ « {name} » doit être un {label}.", param=name)
    if "stream_options" in payload and as_object(payload["stream_options"]) is None:
        if payload["stream_options"] is not None:
            raise HubError("« stream_options » doit être un objet.", param="stream_options")


async def chat_completions(request: Request) -> Response:
    hub = hub_of(request)
    payload = await read_object(request, hub.config.server.max_body_bytes)
    validate_chat(payload)
    header = request.headers.get(SESSION_HEADER)
    compaction = request.headers.get(COMPACTION_HEADER)
    reply = await _until_disconnect(request, hub.chat.handle(payload, header, compaction))
    if isinstance(reply, StreamReply):
        headers = {"cache-control": "no-cache", "x-accel-buffering": "no", **reply.headers}
        return StreamingResponse(reply.chunks, headers=headers, media_type="text/event-stream")
    return Response(reply.body, status_code=reply.status, headers=reply.headers)


async def _until_disconnect(
    request: Request, work: Coroutine[None, None, JsonReply | StreamReply]
) -> JsonReply | StreamReply:
    """Run the upstream call, cancelling it if the client goes away meanwhile.

    The body is already read, so the next ``receive`` only returns on disconnect.
    """

    async def disconnected() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            continue

    worker = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(disconnected())
    try:
        await asyncio.wait({worker, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not worker.done():
            worker.cancel()
            await asyncio.wait({worker})
    if worker.cancelled():
        raise HubError("Client déconnecté.", status=499, code="client_disconnected")
    return worker.result()


routes = [
    Route("/models", list_models, methods=["GET"]),
    Route("/chat/completions", chat_completions, methods=["POST"]),
]
