"""``GET /models`` and ``POST /chat/completions``: the OpenAI wire format, nothing else."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.api.chat_validation import validate_chat
from hub.api.errors import read_object
from hub.api.middleware.auth import request_key
from hub.api.middleware.disconnects import RelayedStream, until_disconnect
from hub.api.state import HubState, hub_of
from hub.config import ModelConfig
from hub.core.errors import HubError, NotFoundError
from hub.core.jsontypes import JSON, JSONObject
from hub.proxy.routing import MISSING_KEY
from hub.services.chat.service import JsonReply, StreamReply
from hub.services.telemetry import RequestTrace

SESSION_HEADER = "x-kimi-session"
COMPACTION_HEADER = "x-kimi-compaction"
CHAT_SPAN = {"gen_ai.operation.name": "chat", "http.request.method": "POST"}


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
    trace = hub.telemetry.begin("chat", "chat", CHAT_SPAN, request.headers)
    try:
        reply = await _chat(request, hub, trace)
    except BaseException as exc:
        status, why = _failure(exc)
        trace.end(why, {"http.response.status_code": status})
        raise
    if isinstance(reply, StreamReply):  # its relay ends the trace
        headers = {"cache-control": "no-cache", "x-accel-buffering": "no", **reply.headers}
        return RelayedStream(reply.chunks, headers)
    failed = f"HTTP {reply.status}" if reply.status >= 400 else None
    trace.end(failed, {"http.response.status_code": reply.status})
    return Response(reply.body, status_code=reply.status, headers=reply.headers)


async def _chat(request: Request, hub: HubState, trace: RequestTrace) -> JsonReply | StreamReply:
    payload = await read_object(request, hub.config.server.max_body_bytes)
    validate_chat(payload)
    asked = str(payload["model"])
    trace.rename(f"chat {asked[:100]}")
    route = hub.router.resolve(asked)  # 404 unknown
    key = request_key(request)
    if trace.recording:
        trace.set(
            {
                "gen_ai.request.model": route.model_key,
                "gen_ai.provider.name": route.provider.name,
                "kimi.key.id": key.id if key else "",
            }
        )
    if key is not None:  # 403 before anything about the provider
        hub.limits.check_model(key, route, asked)
    hub.router.check_provider_key(route)  # 401 when its key variable is not set
    header = request.headers.get(SESSION_HEADER)
    compaction = request.headers.get(COMPACTION_HEADER)
    admission = await hub.limits.admit(key, route, payload) if key else None
    try:
        work = hub.chat.handle(route, payload, trace, header, compaction, admission)
        return await until_disconnect(request, work)
    except BaseException:  # ClientGone included: a 499, which nobody will read
        if admission is not None:
            admission.release()  # no-op once the request is being recorded
        raise


def _failure(exc: BaseException) -> tuple[int, str]:
    """The status and reason a failed request's span carries."""
    if isinstance(exc, HubError):
        return exc.status, exc.message
    if isinstance(exc, asyncio.CancelledError):
        return 499, "client déconnecté"
    return 500, type(exc).__name__


routes = [
    Route("/models", list_models, methods=["GET"]),
    Route("/models/{model_id:path}", retrieve_model, methods=["GET"]),
    Route("/chat/completions", chat_completions, methods=["POST"]),
]
