"""``GET /health``: is the hub up, and is its database answering."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hub import __version__
from hub.api.state import hub_of
from hub.core.database import DatabaseUnavailable
from hub.proxy.routing import missing_key_warning


async def health(request: Request) -> JSONResponse:
    hub = hub_of(request)
    try:
        version = await hub.store.schema_version()
        database = {"status": "opérationnelle", "schema_version": version}
    except DatabaseUnavailable as exc:
        database = {"status": "indisponible", "erreur": str(exc)}
    healthy = database["status"] == "opérationnelle"
    missing = hub.router.missing_keys()
    return JSONResponse(
        {
            "status": "opérationnel" if healthy else "dégradé",
            "message": "Kimi Proxy Hub est en ligne",
            "version": __version__,
            "uptime_s": round(time.time() - hub.started_at, 1),
            "database": database,
            "models": len(hub.router.models),
            "providers": dict(hub.router.provider_states()),
            "warnings": [missing_key_warning(name, var) for name, var in missing.items()],
        },
        status_code=200 if healthy else 503,
    )


routes = [Route("/health", health, methods=["GET"])]
