"""REST for the analytics panel, the journal search and the request inspector.

``GET /api/analytics``, ``GET /api/requests`` and ``GET /api/requests/{id}``. Filters
(query string, all optional) are read by ``hub.api.query.request_filter``; the search
also takes ``limit`` and ``before`` (the keyset cursor).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hub.api.query import int_param, request_filter
from hub.api.state import hub_of
from hub.core.errors import HubError
from hub.core.ids import ascii_int

MAX_PAGE = 200


async def analytics(request: Request) -> JSONResponse:
    where, offset = request_filter(request.query_params)
    data = await hub_of(request).analytics.analytics(where, offset)
    data["range"] = {"from": where.since, "to": where.until}
    return JSONResponse(data)


async def search(request: Request) -> JSONResponse:
    where, _ = request_filter(request.query_params)
    limit = int_param(request.query_params, "limit", 50, MAX_PAGE) or 50
    before = int_param(request.query_params, "before", None, 2**62)
    return JSONResponse(await hub_of(request).analytics.search(where, limit, before))


async def inspect(request: Request) -> JSONResponse:
    request_id = ascii_int(str(request.path_params["request_id"]))
    if not request_id:
        raise HubError(
            "Numéro de requête invalide : entier positif attendu.",
            param="request_id",
            code="invalid_request_id",
        )
    return JSONResponse(await hub_of(request).analytics.inspect(request_id))


routes = [
    Route("/api/analytics", analytics, methods=["GET"]),
    Route("/api/requests", search, methods=["GET"]),
    Route("/api/requests/{request_id}", inspect, methods=["GET"]),
]
