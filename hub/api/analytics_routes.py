"""REST for the analytics panel, the journal search and the request inspector.

``GET /api/analytics``, ``GET /api/requests`` and ``GET /api/requests/{id}``. Filters
(query string, all optional): ``from`` / ``to`` (``YYYY-MM-DD`` in the browser's time zone,
``to`` included, or epoch seconds), ``tz`` (minutes east of UTC), ``model``, ``provider``,
``session``, ``key`` (virtual key id), ``status`` (ok, error, partial, cancelled,
interrupted, failed) and ``q`` (text in the error).
"""

from __future__ import annotations

import calendar
import re
from datetime import date

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hub.api.state import hub_of
from hub.core.errors import HubError
from hub.core.request_queries import STATUSES, RequestFilter
from hub.services.sessions import parse_session_id

MAX_PAGE = 200
MAX_TEXT = 200
DAY = 86_400
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _bad(name: str, expected: str) -> HubError:
    return HubError(f"Paramètre « {name} » invalide : {expected}.", param=name)


def _offset_s(request: Request) -> int:
    raw = request.query_params.get("tz", "0") or "0"
    try:
        minutes = int(raw)
    except ValueError:
        raise _bad("tz", "minutes à l'est de UTC, entre -840 et 840") from None
    if not -840 <= minutes <= 840:
        raise _bad("tz", "minutes à l'est de UTC, entre -840 et 840")
    return minutes * 60


def _instant(request: Request, name: str, offset_s: int, *, end: bool) -> float | None:
    """A day (local midnight; ``to`` means the end of that day) or epoch seconds."""
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    if ISO_DAY.match(raw):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise _bad(name, "date AAAA-MM-JJ valide attendue") from None
        midnight = calendar.timegm(day.timetuple()) - offset_s
        return float(midnight + (DAY if end else 0))
    try:
        value = float(raw)
    except ValueError:
        raise _bad(name, "date AAAA-MM-JJ ou secondes depuis 1970 attendues") from None
    if not 0 <= value < 2**33:
        raise _bad(name, "date hors limites")
    return value


def _text(request: Request, name: str) -> str | None:
    raw = request.query_params.get(name, "").strip()
    if len(raw) > MAX_TEXT:
        raise _bad(name, f"{MAX_TEXT} caractères au plus")
    return raw or None


def request_filter(request: Request) -> tuple[RequestFilter, int]:
    offset = _offset_s(request)
    status = _text(request, "status")
    if status is not None and status not in STATUSES:
        raise _bad("status", f"une de ces valeurs : {', '.join(STATUSES)}")
    session = _text(request, "session")
    where = RequestFilter(
        since=_instant(request, "from", offset, end=False),
        until=_instant(request, "to", offset, end=True),
        model=_text(request, "model"),
        provider=_text(request, "provider"),
        session_id=parse_session_id(session) if session else None,
        key_id=_text(request, "key"),
        status=status,
        text=_text(request, "q"),
    )
    if where.since is not None and where.until is not None and where.until <= where.since:
        raise _bad("to", "la fin doit suivre le début")
    return where, offset


def _positive(request: Request, name: str, default: int | None, maximum: int) -> int | None:
    raw = request.query_params.get(name, "")
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise _bad(name, "entier positif attendu")
    return min(int(raw), maximum)


async def analytics(request: Request) -> JSONResponse:
    where, offset = request_filter(request)
    data = await hub_of(request).analytics.analytics(where, offset)
    data["range"] = {"from": where.since, "to": where.until}
    return JSONResponse(data)


async def search(request: Request) -> JSONResponse:
    where, _ = request_filter(request)
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
