"""REST for upstream MCP servers and profiles: ``GET /api/mcp/servers``, ``POST .../restart``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hub.api.mcp.profiles import McpProfiles
from hub.api.state import hub_of
from hub.core.errors import HubError


async def list_servers(request: Request) -> JSONResponse:
    """Each replica supervises its own stdio children: the answer says which one it is."""
    hub = hub_of(request)
    profiles = getattr(request.app.state, "mcp", None)
    described = profiles.describe() if isinstance(profiles, McpProfiles) else []
    servers = [{**status, "replica": hub.bus.replica} for status in hub.upstreams.statuses()]
    return JSONResponse({"replica": hub.bus.replica, "servers": servers, "profiles": described})


async def restart_server(request: Request) -> JSONResponse:
    name = str(request.path_params["name"])
    upstreams = hub_of(request).upstreams
    connection = upstreams.get(name)
    if connection is None:
        raise HubError(
            f"Serveur MCP « {name[:100]} » inconnu.", status=404, code="mcp_server_not_found"
        )
    if not connection.config.enabled:
        raise HubError(
            f"Le serveur MCP « {name} » est désactivé dans la configuration.",
            status=409,
            code="mcp_server_disabled",
        )
    connection.restart()
    if name in upstreams.isolated:  # per-client children too: each client starts afresh
        upstreams.isolated[name].close_all()
    return JSONResponse(
        {"message": f"Redémarrage du serveur MCP « {name} » demandé.", "server": name},
        status_code=202,
    )


routes = [
    Route("/api/mcp/servers", list_servers, methods=["GET"]),
    Route("/api/mcp/servers/{name}/restart", restart_server, methods=["POST"]),
]
