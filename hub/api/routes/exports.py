"""``GET /api/export/csv`` and ``/api/export/json``: streamed, filtered exports.

Query: the journal filters of ``hub.api.query.request_filter`` (``session``, ``key``,
``model``, ``provider``, ``status``, ``q``, ``from`` / ``to``: a date, an ISO 8601
date-time or epoch seconds, UTC unless ``tz`` says otherwise; a bare ``to`` date includes
that whole day), and for CSV ``sep`` (``,`` by default, ``;`` or ``tab``).
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from hub.api.query import bad, request_filter
from hub.api.state import hub_of
from hub.core.storage.queries import RequestFilter

SEPARATOR_NAMES = {",": ",", ";": ";", "tab": "\t", "\t": "\t"}


async def key_filter(request: Request) -> str | None:
    """``?key=ID``: a virtual key's id (404 when unknown)."""
    key_id = request.query_params.get("key")
    if not key_id:
        return None
    return (await hub_of(request).keys.get(key_id)).id


async def export_filter(request: Request) -> RequestFilter:
    """The export's filters (``hub.api.query.request_filter``); an unknown session or key
    is a 404."""
    hub = hub_of(request)
    where, _ = request_filter(request.query_params)
    if where.session_id is not None:
        await hub.sessions.get(where.session_id)
    if where.key_id is not None:
        await hub.keys.get(where.key_id)
    return where


def download_headers(kind: str | None, extension: str) -> dict[str, str]:
    """``kimi-proxy[-kind]-<time>.<extension>`` as an attachment."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"kimi-proxy-{kind}-{stamp}" if kind else f"kimi-proxy-{stamp}"
    return {"content-disposition": f'attachment; filename="{name}.{extension}"'}


async def export_csv(request: Request) -> StreamingResponse:
    separator = SEPARATOR_NAMES.get(request.query_params.get("sep", ","))
    if separator is None:
        raise bad("sep", "« , », « ; » ou « tab »")
    rows = hub_of(request).stats.exports.csv(await export_filter(request), separator)
    return StreamingResponse(
        rows, media_type="text/csv; charset=utf-8", headers=download_headers(None, "csv")
    )


async def export_json(request: Request) -> StreamingResponse:
    body = hub_of(request).stats.exports.json(await export_filter(request))
    return StreamingResponse(
        body, media_type="application/json", headers=download_headers(None, "json")
    )


routes = [
    Route("/api/export/csv", export_csv, methods=["GET"]),
    Route("/api/export/json", export_json, methods=["GET"]),
]
