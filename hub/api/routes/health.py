"""``GET /health``: is the hub up, and is its database answering."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hub import __version__
from hub.api.state import hub_of
from hub.core.jsontypes import JSONObject
from hub.core.storage.database import DatabaseUnavailable
from hub.proxy.routing import missing_key_warning


async def health(request: Request) -> JSONResponse:
    hub = hub_of(request)
    database: JSONObject
    try:
        version = await hub.store.schema_version()
        database = {"status": "opérationnelle", "schema_version": version}
    except DatabaseUnavailable as exc:
        database = {"status": "indisponible", "erreur": exc.detail}
    storage = hub.recorder.health()
    # reads may work while writes fail (full disk, read-only file)
    if not storage.ok and database["status"] == "opérationnelle":
        database = {**database, "status": "dégradée", "erreur": storage.reason}
    database["lignes_en_attente"] = storage.queued
    database["journal_en_attente"] = storage.journal_pending
    if storage.since is not None:
        database["depuis"] = round(storage.since, 3)
    # Without its database a replica cannot serve (503: a balancer skips it); without
    # Redis it still serves, only live sharing between replicas is degraded.
    serving = database["status"] == "opérationnelle"
    healthy = serving and (hub.cluster is None or hub.cluster.healthy)
    missing = hub.router.missing_keys()
    body: JSONObject = {
        "status": "opérationnel" if healthy else "dégradé",
        "message": "Kimi Proxy Hub est en ligne",
        "version": __version__,
        "replica": hub.bus.replica,
        "uptime_s": round(time.time() - hub.started_at, 1),
        "database": database,
        "models": len(hub.router.models),
        "providers": dict(hub.router.provider_states()),
        "warnings": [missing_key_warning(name, var) for name, var in missing.items()],
    }
    if hub.cluster is not None:
        body["cluster"] = hub.cluster.status()
    return JSONResponse(body, status_code=200 if serving else 503)


routes = [Route("/health", health, methods=["GET"])]
