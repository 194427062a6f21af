"""``GET /api/audit``: the MCP tool calls, newest first, and their CSV / JSON exports.

Admin only (``/api`` refuses virtual keys). Filters, all optional: ``caller`` (admin,
key, stdio, local), ``key`` (a virtual key's id), ``server`` (an upstream's name),
``tool`` (as its owner names it), ``decision`` (allowed, denied, unknown, unavailable,
or ``refused`` for anything but allowed), ``flagged`` (true: rows flagged as instruction
injection), ``from`` / ``to`` / ``tz`` (as the request journal: ``hub.api.query``).
Pages: ``limit`` (50, at most 200) and ``before`` (the ``next_before`` of the previous
page). Exports: ``/api/export/audit/csv`` (``sep`` as the request export) and
``/api/export/audit/json``, oldest first, same filters.
"""

from __future__ import annotations

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from hub.api.query import bad, int_param, text_param, time_range
from hub.api.routes.exports import SEPARATOR_NAMES, download_headers
from hub.api.state import hub_of
from hub.core.jsontypes import JSON
from hub.core.storage.audit import DECISIONS, AuditFilter
from hub.services.access.caller import CALLER_KINDS
from hub.services.reporting.audit_exports import audit_csv, audit_json

MAX_PAGE = 200


def audit_filter(params: QueryParams) -> AuditFilter:
    since, until, _ = time_range(params)
    caller = text_param(params, "caller")
    if caller is not None and caller not in CALLER_KINDS:
        raise bad("caller", f"une de ces valeurs : {', '.join(CALLER_KINDS)}")
    decision = text_param(params, "decision")
    if decision is not None and decision not in (*DECISIONS, "refused"):
        raise bad("decision", f"une de ces valeurs : {', '.join((*DECISIONS, 'refused'))}")
    flagged = text_param(params, "flagged")
    if flagged is not None and flagged not in ("true", "false"):
        raise bad("flagged", "true ou false")
    return AuditFilter(
        since=since,
        until=until,
        caller=caller,
        key_id=text_param(params, "key"),
        server=text_param(params, "server"),
        tool=text_param(params, "tool"),
        decision=decision,
        flagged=None if flagged is None else flagged == "true",
    )


async def list_audit(request: Request) -> JSONResponse:
    where = audit_filter(request.query_params)
    limit = int_param(request.query_params, "limit", 50, MAX_PAGE) or 50
    before = int_param(request.query_params, "before", None, 2**62)
    rows = await hub_of(request).audit.search(where, limit + 1, before)
    page = rows[:limit]
    next_before = page[-1].id if len(rows) > limit and page else None
    entries: list[JSON] = [row.to_json() for row in page]
    return JSONResponse({"entries": entries, "next_before": next_before})


async def export_csv(request: Request) -> StreamingResponse:
    separator = SEPARATOR_NAMES.get(request.query_params.get("sep", ","))
    if separator is None:
        raise bad("sep", "« , », « ; » ou « tab »")
    rows = audit_csv(hub_of(request).audit, audit_filter(request.query_params), separator)
    headers = download_headers("audit", "csv")
    return StreamingResponse(rows, media_type="text/csv; charset=utf-8", headers=headers)


async def export_json(request: Request) -> StreamingResponse:
    body = audit_json(hub_of(request).audit, audit_filter(request.query_params))
    headers = download_headers("audit", "json")
    return StreamingResponse(body, media_type="application/json", headers=headers)


routes = [
    Route("/api/audit", list_audit, methods=["GET"]),
    Route("/api/export/audit/csv", export_csv, methods=["GET"]),
    Route("/api/export/audit/json", export_json, methods=["GET"]),
]
