"""REST under /api: sessions, metrics, stats; exports live in ``routes.exports``."""

from __future__ import annotations

from typing import TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.api.errors import read_object
from hub.api.middleware.auth import caller_of
from hub.api.query import int_param
from hub.api.routes import exports as export_routes
from hub.api.state import hub_of
from hub.core.errors import HubError
from hub.core.jsontypes import JSONObject
from hub.services.sessions.service import parse_session_id

SMALL_BODY = 64 * 1024
MAX_PAGE = 500
T = TypeVar("T", str, bool)


def _session_id(request: Request) -> int:
    return parse_session_id(str(request.path_params["session_id"]))


def _field(body: JSONObject, key: str, kind: type[T], default: T | None = None) -> T | None:
    """An optional body field of one type; a value of another type is a 400."""
    value = body.get(key, default)
    if value is None or isinstance(value, kind):
        return value
    expected = "un booléen" if kind is bool else "une chaîne"
    raise HubError(f"« {key} » doit être {expected}.", param=key)


async def list_sessions(request: Request) -> JSONResponse:
    hub = hub_of(request)
    sessions = await hub.sessions.list(caller_of(request))
    key_id = await export_routes.key_filter(request)
    chosen = [s.to_json() for s in sessions if key_id is None or s.key_id == key_id]
    return JSONResponse({"sessions": chosen})


async def create_session(request: Request) -> JSONResponse:
    hub = hub_of(request)
    body = await read_object(request, SMALL_BODY, optional=True)
    name = _field(body, "name", str)
    activate = _field(body, "activate", bool, True) is not False
    session = await hub.sessions.create_as(caller_of(request), name, activate=activate)
    return JSONResponse(session.to_json(), status_code=201)


async def get_session(request: Request) -> JSONResponse:
    hub = hub_of(request)
    return JSONResponse(
        (await hub.sessions.owned(_session_id(request), caller_of(request))).to_json()
    )


async def update_session(request: Request) -> JSONResponse:
    hub = hub_of(request)
    session_id = _session_id(request)
    body = await read_object(request, SMALL_BODY)
    unknown = set(body) - {"name", "compaction"}
    if unknown:
        raise HubError(f"Champ(s) non modifiable(s) : {', '.join(sorted(unknown))}.")
    session = await hub.sessions.owned(session_id, caller_of(request))
    name, compaction = _field(body, "name", str), _field(body, "compaction", bool)
    if name is not None:
        session = await hub.sessions.rename(session_id, name, caller_of(request))
    if compaction is not None:
        session = await hub.sessions.set_compaction(session_id, compaction)
    return JSONResponse(session.to_json())


async def delete_session(request: Request) -> Response:
    """Hides the session; its request rows stay in the journal."""
    hub = hub_of(request)
    await hub.sessions.delete(_session_id(request), caller_of(request))
    return Response(status_code=204)


async def activate_session(request: Request) -> JSONResponse:
    hub = hub_of(request)
    session = await hub.sessions.activate_as(caller_of(request), _session_id(request))
    return JSONResponse(session.to_json())


async def session_metrics(request: Request) -> JSONResponse:
    """Totals, gauge and a page of requests (newest first; ``before`` pages back)."""
    hub = hub_of(request)
    session_id = _session_id(request)
    limit = int_param(request.query_params, "limit", 100, MAX_PAGE) or 100
    before = int_param(request.query_params, "before", None, 2**62)
    await hub.sessions.owned(session_id, caller_of(request))
    stats = await hub.stats.session_stats(session_id, last=0)
    page = await hub.store.list_requests(session_id, limit=limit, before_id=before)
    stats["requests"] = [r.to_json() for r in page]
    return JSONResponse(stats)


async def global_stats(request: Request) -> JSONResponse:
    caller_of(request).require_admin("Statistiques globales")
    return JSONResponse(await hub_of(request).stats.global_stats())


routes = [
    Route("/api/sessions", list_sessions, methods=["GET"]),
    Route("/api/sessions", create_session, methods=["POST"]),
    Route("/api/sessions/{session_id}", get_session, methods=["GET"]),
    Route("/api/sessions/{session_id}", update_session, methods=["PATCH"]),
    Route("/api/sessions/{session_id}", delete_session, methods=["DELETE"]),
    Route("/api/sessions/{session_id}/activate", activate_session, methods=["POST"]),
    Route("/api/sessions/{session_id}/metrics", session_metrics, methods=["GET"]),
    Route("/api/stats", global_stats, methods=["GET"]),
    *export_routes.routes,
]
