"""REST for context savings: masked originals, compaction preview/apply, totals."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.api.errors import read_object
from hub.api.state import hub_of
from hub.core.errors import HubError
from hub.services.sessions.service import parse_session_id

SMALL_BODY = 64 * 1024
MAX_KEEP = 1000
MAX_EVENTS = 500
# rounds kept whole by a forced compaction; the second name is the older one
KEEP_KEYS = ("keep_recent_rounds", "keep_recent_exchanges")


def _count(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise HubError(f"« {name} » doit être un entier positif ou nul.", param=name)
    return int(raw)


async def get_mask(request: Request) -> Response:
    """The masked original, byte for byte, as UTF-8 text; or one page of it
    (``?lines=120-180``, or ``?offset=N&length=N`` in characters)."""
    savings = hub_of(request).savings
    digest = str(request.path_params["digest"])
    lines = request.query_params.get("lines")
    offset, length = _count(request, "offset"), _count(request, "length")
    if lines is None and offset is None and length is None:
        text = await savings.mask(digest)
        return Response(text.encode("utf-8"), media_type="text/plain; charset=utf-8")
    page = await savings.mask_page(digest, lines=lines, offset=offset, length=length)
    headers = {
        "X-Kimi-Mask-Lines": str(page.total_lines),
        "X-Kimi-Mask-Chars": str(page.total_chars),
    }
    return Response(
        page.text.encode("utf-8"), media_type="text/plain; charset=utf-8", headers=headers
    )


async def _keep(request: Request) -> int | None:
    body = await read_object(request, SMALL_BODY, optional=True)
    unknown = set(body) - set(KEEP_KEYS)
    if unknown:
        raise HubError(f"Champ(s) inconnu(s) : {', '.join(sorted(unknown))}.")
    name = next((key for key in KEEP_KEYS if key in body), KEEP_KEYS[0])
    keep = body.get(name)
    if keep is None:
        return None
    if isinstance(keep, bool) or not isinstance(keep, int) or not 1 <= keep <= MAX_KEEP:
        raise HubError(
            f"« {name} » doit être un entier entre 1 et {MAX_KEEP}.",
            param=name,
        )
    return keep


async def _session(request: Request) -> int:
    session_id = parse_session_id(str(request.path_params["session_id"]))
    await hub_of(request).sessions.get(session_id)
    return session_id


async def compaction_preview(request: Request) -> JSONResponse:
    session_id = await _session(request)
    keep = await _keep(request)
    return JSONResponse(await hub_of(request).savings.preview(session_id, keep))


async def compaction_apply(request: Request) -> JSONResponse:
    session_id = await _session(request)
    keep = await _keep(request)
    return JSONResponse(await hub_of(request).savings.apply(session_id, keep))


async def savings_overview(request: Request) -> JSONResponse:
    """Totals per kind and the latest events (``?session=<id>`` filters)."""
    hub = hub_of(request)
    raw = request.query_params.get("session")
    session_id = parse_session_id(raw) if raw else None
    if session_id is not None:
        await hub.sessions.get(session_id)
    await hub.recorder.flush()
    totals = await hub.store.totals(session_id)
    return JSONResponse(
        {
            "tokens_saved": totals.tokens_saved,
            **await hub.savings.totals(session_id),
            "events": await hub.savings.events(session_id, MAX_EVENTS),
        }
    )


routes = [
    Route("/api/mask/{digest}", get_mask, methods=["GET"]),
    Route("/api/sessions/{session_id}/compaction/preview", compaction_preview, methods=["POST"]),
    Route("/api/sessions/{session_id}/compaction/apply", compaction_apply, methods=["POST"]),
    Route("/api/savings", savings_overview, methods=["GET"]),
]
