"""``GET /models`` and ``POST /chat/completions``: the OpenAI wire format, nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from hub.api.auth import request_key
from hub.api.chat_validation import validate_chat
from hub.api.errors import read_object
from hub.api.slow_clients import HOOKS
from hub.api.state import HubState, hub_of
from hub.config import ModelConfig
from hub.core.errors import HubError, NotFoundError
from hub.core.jsontypes import JSON, JSONObject
from hub.proxy.routing import MISSING_KEY
from hub.services.chat import JsonReply, StreamReply

SESSION_HEADER = "x-kimi-session"
COMPACTION_HEADER = "x-kimi-compaction"


def _model_json(hub: HubState, key: str, model: ModelConfig) -> JSONObject:
    data: JSONObject = {
        "id": key,
        "object": "model",
        "created": int(hub.started_at),
        "owned_by": model.provider,
        "context_length": model.max_context,
        "max_context": model.max_context,
    }
    variable = hub.router.missing_keys().get(model.provider)
    if variable:  # listed all the same: a new user sees what the hub would serve
        data["status"] = MISSING_KEY
        data["missing_variable"] = variable
    return data


async def list_models(request: Request) -> JSONResponse:
    hub = hub_of(request)
    data: list[JSON] = [_model_json(hub, k, m) for k, m in hub.router.models.items()]
    return JSONResponse({"object": "list", "data": data})


async def retrieve_model(request: Request) -> JSONResponse:
    """``GET /models/{id}`` (the SDK's ``models.retrieve``); ids may contain '/'."""
    hub = hub_of(request)
    key = str(request.path_params["model_id"])
    model = hub.router.models.get(key)
    if model is None:
        known = ", ".join(sorted(hub.router.models)) or "aucun"
        raise NotFoundError(
            f"Modèle « {key[:200]} » inconnu. Modèles configurés : {known}.",
            code="model_not_found",
        )
    return JSONResponse(_model_json(hub, key, model))


async def chat_completions(request: Request) -> Response:
    hub = hub_of(request)
    payload = await read_object(request, hub.config.server.max_body_bytes)
    validate_chat(payload)
    route = hub.router.usable(str(payload["model"]))  # 404 unknown, 401 provider key not set
    header = request.headers.get(SESSION_HEADER)
    compaction = request.headers.get(COMPACTION_HEADER)
    key = request_key(request)
    admission = await hub.limits.admit(key, payload) if key else None
    try:
        work = hub.chat.handle(route, payload, header, compaction, admission)
        reply = await _until_disconnect(request, work)
    except BaseException:
        if admission is not None:
            admission.release()  # no-op once the request is being recorded
        raise
    if isinstance(reply, StreamReply):
        headers = {"cache-control": "no-cache", "x-accel-buffering": "no", **reply.headers}
        return StreamingResponse(reply.chunks, headers=headers, media_type="text/event-stream")
    return Response(reply.body, status_code=reply.status, headers=reply.headers)


async def _until_disconnect(
    request: Request, work: Coroutine[None, None, JsonReply | StreamReply]
) -> JsonReply | StreamReply:
    """Run the upstream call in this task, cancelling it if the client goes away meanwhile.

    Under the hub's uvicorn protocol the connection's loss calls back (``on_disconnect``);
    under any other ASGI server a watcher task waits on ``receive`` (the body is already
    read, so it only returns on disconnect).
    """
    handler = asyncio.current_task()
    assert handler is not None
    gone = False

    def lost() -> None:
        nonlocal gone
        if not gone:
            gone = True
            handler.cancel()

    async def watch() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            continue
        lost()

    hooks = request.scope.get("extensions", {}).get(HOOKS)
    callbacks: list[Callable[[], None]] = hooks["on_disconnect"] if hooks else []
    watcher = None if hooks else asyncio.create_task(watch())
    callbacks.append(lost)
    try:
        return await work
    except asyncio.CancelledError:
        if not gone:
            raise
        handler.uncancel()
        raise HubError("Client déconnecté.", status=499, code="client_disconnected") from None
    finally:
        callbacks.remove(lost)
        if watcher is not None:
            watcher.cancel()


routes = [
    Route("/models", list_models, methods=["GET"]),
    Route("/models/{model_id:path}", retrieve_model, methods=["GET"]),
    Route("/chat/completions", chat_completions, methods=["POST"]),
]
