"""``GET /api/export/csv`` and ``/api/export/json``: streamed, filtered exports.

Query: ``session`` (id), ``key`` (a virtual key's id), ``model``, ``status``, ``from`` /
``to`` (ISO 8601 date or date-time, UTC when no offset is given; a bare ``to`` date
includes that whole day),
and for CSV ``sep`` (``,`` by default, ``;`` or ``tab``).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from hub.api.state import hub_of
from hub.core.errors import HubError
from hub.core.records import STATUSES
from hub.services.exports import ExportFilter
from hub.services.sessions import parse_session_id

MAX_TEXT = 200
SEPARATOR_NAMES = {",": ",", ";": ";", "tab": "\t", "\t": "\t"}


def _bad(name: str, expected: str) -> HubError:
    return HubError(f"Paramètre « {name} » invalide : {expected}.", param=name)


def _instant(request: Request, name: str, *, end: bool) -> float | None:
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise _bad(name, "date ISO 8601 attendue (AAAA-MM-JJ ou AAAA-MM-JJTHH:MM:SS)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if end and len(raw) == len("AAAA-MM-JJ"):
        moment += timedelta(days=1)  # "to=2026-11-26" means up to the end of that day
    return moment.timestamp()


def _text(request: Request, name: str) -> str | None:
    raw = request.query_params.get(name, "").strip()
    if len(raw) > MAX_TEXT:
        raise _bad(name, f"{MAX_TEXT} caractères au plus")
    return raw or None


async def key_filter(request: Request) -> str | None:
    """``?key=ID``: a virtual key's id (404 when unknown)."""
    key_id = request.query_params.get("key")
    if not key_id:
        return None
    return (await hub_of(request).keys.get(key_id)).id


async def export_filter(request: Request) -> ExportFilter:
    """The export's filters; an unknown session or key is a 404."""
    raw = request.query_params.get("session")
    session_id = parse_session_id(raw) if raw else None
    if session_id is not None:
        await hub_of(request).sessions.get(session_id)
    status = _text(request, "status")
    if status is not None and status not in STATUSES:
        raise _bad("status", "une de ces valeurs : " + ", ".join(STATUSES))
    where = ExportFilter(
        session_id=session_id,
        model=_text(request, "model"),
        status=status,
        since=_instant(request, "from", end=False),
        until=_instant(request, "to", end=True),
        key_id=await key_filter(request),
    )
    if where.since is not None and where.until is not None and where.until <= where.since:
        raise _bad("to", "la fin doit suivre le début")
    return where


def _filename(extension: str) -> dict[str, str]:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return {"content-disposition": f'attachment; filename="kimi-proxy-{stamp}.{extension}"'}


async def export_csv(request: Request) -> StreamingResponse:
    separator = SEPARATOR_NAMES.get(request.query_params.get("sep", ","))
    if separator is None:
        raise _bad("sep", "« , », « ; » ou « tab »")
    rows = hub_of(request).stats.exports.csv(await export_filter(request), separator)
    return StreamingResponse(rows, media_type="text/csv; charset=utf-8", headers=_filename("csv"))


async def export_json(request: Request) -> StreamingResponse:
    body = hub_of(request).stats.exports.json(await export_filter(request))
    return StreamingResponse(body, media_type="application/json", headers=_filename("json"))


routes = [
    Route("/api/export/csv", export_csv, methods=["GET"]),
    Route("/api/export/json", export_json, methods=["GET"]),
]
