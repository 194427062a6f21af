"""OpenAI-shaped error responses, and reading a JSON body within a size limit."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from hub.core.errors import HubError, UpstreamError, invalid_unicode
from hub.core.ids import ascii_int
from hub.core.json_errors import json_error_text
from hub.core.jsoncodec import loads, too_deep
from hub.core.jsontypes import JSON, JSONObject, has_lone_surrogate
from hub.services.access.budgets import LimitExceeded

NO_RETRY = {"x-should-retry": "false"}
UTF8_BOM = b"\xef\xbb\xbf"


def error_response(error: HubError, headers: dict[str, str] | None = None) -> JSONResponse:
    body: JSONObject = {
        "error": {
            "message": error.message,
            "type": error.error_type,
            "param": error.param,
            "code": error.code,
        }
    }
    return JSONResponse(body, status_code=error.status, headers=headers)


async def hub_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HubError)
    if isinstance(exc, LimitExceeded):
        if exc.retry_after is not None:
            return error_response(exc, {"retry-after": str(exc.retry_after)})
        return error_response(exc, NO_RETRY)  # a spent budget does not come back in seconds
    # The hub already retried: an SDK retrying too would multiply the upstream calls.
    return error_response(exc, NO_RETRY if isinstance(exc, UpstreamError) else None)


async def read_json(request: Request, limit: int, *, optional: bool = False) -> JSON:
    """The body parsed as JSON; 413 past ``limit`` bytes, 400 if it is not JSON.

    ``optional``: an empty body is an empty object (routes whose body has defaults).
    """
    declared = ascii_int(request.headers.get("content-length", ""))
    if declared is not None and declared > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    raw = b"".join(chunks).removeprefix(UTF8_BOM)  # RFC 8259 §8.1 lets a parser ignore it
    if optional and not raw.strip():
        return {}
    if not raw.strip():
        raise HubError("Corps de requête vide : un objet JSON est attendu.", code="invalid_json")
    try:
        parsed = loads(raw)  # strict UTF-8: UTF-8-encoded surrogates are refused too
    except UnicodeDecodeError:
        raise HubError("Corps de requête : UTF-8 invalide.", code="invalid_json") from None
    except (ValueError, RecursionError) as exc:
        raise HubError(json_error_text(exc), code="invalid_json") from None
    if too_deep(parsed):
        raise HubError(json_error_text(RecursionError()), code="invalid_json")
    # only escapes can make a lone surrogate
    if (b"\\ud" in raw or b"\\uD" in raw) and has_lone_surrogate(parsed):
        raise invalid_unicode()
    return parsed


def _too_large(limit: int) -> HubError:
    return HubError(
        f"Corps de requête trop volumineux (limite : {limit} octets).",
        status=413,
        code="request_too_large",
    )


async def read_object(request: Request, limit: int, *, optional: bool = False) -> JSONObject:
    parsed = await read_json(request, limit, optional=optional)
    if not isinstance(parsed, dict):
        raise HubError("Le corps doit être un objet JSON.", code="invalid_json")
    return parsed
