"""REST for the analytics panel, the journal search and the request inspector.

``GET /api/analytics``, ``GET /api/requests`` and ``GET /api/requests/{id}``. Filters
(query string, all optional) are read by ``hub.api.query.request_filter``; the search
also takes ``limit`` and ``before`` (the keyset cursor).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hub.api.query import bad, request_filter
from hub.api.state import hub_of
from hub.core.errors import HubError

MAX_PAGE = 200


def _positive(request: Request, name: str, default: int | None, maximum: int) -> int | None:
    raw = request.query_params.get(name, "")
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise bad(name, "entier positif attendu")
    return min(int(raw), maximum)


async def analytics(request: Request) -> JSONResponse:
    where, offset = request_filter(request.query_params)
    data = await hub_of(request).analytics.analytics(where, offset)
    data["range"] = {"from": where.since, "to": where.until}
    return JSONResponse(data)


async def search(request: Request) -> JSONResponse:
    where, _ = request_filter(request.query_params)
    limit = _positive(request, "limit", 50, MAX_PAGE) or 50
    before = _positive(request, "before", None, 2**62)
    return JSONResponse(await hub_of(request).analytics.search(where, limit, before))


async def inspect(request: Request) -> JSONResponse:
    raw = str(request.path_params["request_id"])
    if not raw.isdigit() or not 0 < int(raw) < 2**62:
        raise HubError("Numéro de requête invalide : entier positif attendu.",
                       param="request_id", code="invalid_request_id")  # fmt: skip
    return JSONResponse(await hub_of(request).analytics.inspect(int(raw)))


routes = [
    Route("/api/analytics", analytics, methods=["GET"]),
    Route("/api/requests", search, methods=["GET"]),
    Route("/api/requests/{request_id}", inspect, methods=["GET"]),
]
