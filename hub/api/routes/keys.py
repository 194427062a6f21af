"""``/api/keys``: create (the secret is shown once), list, update, revoke virtual keys.

Admin key only (hub/api/middleware/auth.py refuses virtual keys on /api). DELETE revokes: the
row stays so that past requests remain attributed.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hub.api.errors import read_object
from hub.api.state import HubState, hub_of
from hub.core.errors import HubError
from hub.core.jsontypes import JSON, JSONObject
from hub.core.storage.keys import PERIODS, TOOLS_DEFAULTS, KeyLimits, KeyRecord

SMALL_BODY = 64 * 1024
MAX_NUMBER = 10**15  # budgets, rates and dates are floats: a larger integer has no meaning
Choice = TypeVar("Choice", bound=str)
MAX_PATTERNS = 100
FIELDS = {"name", "budget", "period", "rpm", "tpm", "models", "tools", "expires_at"}
FIELDS |= {"tools_default"}


def _number(name: str, value: JSON, *, integer: bool = False) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise HubError(f"« {name} » doit être un nombre positif ou null.", param=name)
    if not (isinstance(value, int) or math.isfinite(value)) or abs(value) > MAX_NUMBER:
        raise HubError(f"« {name} » : nombre hors limites (au plus {MAX_NUMBER:.0e}).", param=name)
    if value < 0 or (integer and (not isinstance(value, int) or value == 0)):
        expected = "un entier strictement positif" if integer else "un nombre positif"
        raise HubError(f"« {name} » doit être {expected} ou null.", param=name)
    return float(value)


def _integer(name: str, value: JSON) -> int | None:
    number = _number(name, value, integer=True)
    return None if number is None else int(number)


def _patterns(name: str, value: JSON) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_PATTERNS:
        raise HubError(
            f"« {name} » doit être une liste de motifs (au plus {MAX_PATTERNS}).", param=name
        )
    if not all(isinstance(p, str) and 0 < len(p) <= 200 for p in value):
        raise HubError(f"« {name} » : chaque motif est une chaîne non vide.", param=name)
    return tuple(str(p) for p in value)


def _expiry(value: JSON) -> float | None:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            raise HubError(
                "« expires_at » : date ISO 8601 ou horodatage Unix attendu.", param="expires_at"
            ) from None
    return _number("expires_at", value)


def _choice(name: str, value: JSON, choices: tuple[Choice, ...], expected: str) -> Choice:
    for choice in choices:
        if value == choice:
            return choice
    raise HubError(f"« {name} » doit valoir {expected}.", param=name)


def parse_limits(body: JSONObject, base: KeyLimits) -> KeyLimits:
    """``base`` with the fields the body gives; ``null`` removes a limit."""
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise HubError(f"Champ inconnu : « {unknown[0][:40]} ».", param=unknown[0][:40])
    limits = base
    if "budget" in body:
        limits = replace(limits, budget=_number("budget", body["budget"]))
    if "period" in body:
        period = _choice("period", body["period"], PERIODS, "day, month ou total")
        limits = replace(limits, period=period)
    if "rpm" in body:
        limits = replace(limits, rpm=_integer("rpm", body["rpm"]))
    if "tpm" in body:
        limits = replace(limits, tpm=_integer("tpm", body["tpm"]))
    if "models" in body:
        limits = replace(limits, models=_patterns("models", body["models"]))
    if "tools" in body:
        limits = replace(limits, tools=_patterns("tools", body["tools"]))
    if "tools_default" in body:
        expected = "allow (sans motif : tous les outils) ou deny (sans motif : aucun)"
        default = _choice("tools_default", body["tools_default"], TOOLS_DEFAULTS, expected)
        limits = replace(limits, tools_default=default)
    if "expires_at" in body:
        limits = replace(limits, expires_at=_expiry(body["expires_at"]))
    return limits


def _name(body: JSONObject, default: str | None) -> str:
    name = body.get("name", default)
    if not isinstance(name, str):
        raise HubError("« name » : une chaîne est attendue.", param="name")
    return name


def key_json(hub: HubState, key: KeyRecord) -> JSONObject:
    return {**key.to_json(), "budget_remaining": hub.limits.remaining(key)}


async def list_keys(request: Request) -> JSONResponse:
    hub = hub_of(request)
    return JSONResponse({"keys": [key_json(hub, k) for k in await hub.keys.all()]})


async def create_key(request: Request) -> JSONResponse:
    hub = hub_of(request)
    body = await read_object(request, SMALL_BODY)
    limits = parse_limits(body, KeyLimits())
    issued = await hub.keys.create(_name(body, None), limits)
    data: JSONObject = {**key_json(hub, issued.key), "secret": issued.secret}
    return JSONResponse(data, status_code=201)


async def get_key(request: Request) -> JSONResponse:
    hub = hub_of(request)
    return JSONResponse(key_json(hub, await hub.keys.get(str(request.path_params["key_id"]))))


async def update_key(request: Request) -> JSONResponse:
    hub = hub_of(request)
    key = await hub.keys.get(str(request.path_params["key_id"]))
    body = await read_object(request, SMALL_BODY)
    updated = await hub.keys.update(key.id, _name(body, key.name), parse_limits(body, key.limits))
    return JSONResponse(key_json(hub, updated))


async def revoke_key(request: Request) -> JSONResponse:
    hub = hub_of(request)
    return JSONResponse(key_json(hub, await hub.keys.revoke(str(request.path_params["key_id"]))))


routes = [
    Route("/api/keys", list_keys, methods=["GET"]),
    Route("/api/keys", create_key, methods=["POST"]),
    Route("/api/keys/{key_id}", get_key, methods=["GET"]),
    Route("/api/keys/{key_id}", update_key, methods=["PATCH"]),
    Route("/api/keys/{key_id}", revoke_key, methods=["DELETE"]),
]
