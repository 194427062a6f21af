"""``GET /.well-known/oauth-protected-resource[/…]``: the RFC 9728 document of the hub.

Served at the root and under any path (``/mcp``, ``/profiles/NAME/mcp``…): clients build
the URL from the endpoint they reach, and every endpoint is the same resource (the
configured audience). 404 while ``[auth.oauth]`` is off.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hub.api.state import hub_of
from hub.core.errors import NotFoundError
from hub.services.access.oauth_resource import WELL_KNOWN


async def protected_resource(request: Request) -> JSONResponse:
    oauth = hub_of(request).oauth
    if oauth is None:
        raise NotFoundError(
            "OAuth n'est pas configuré sur ce hub (section [auth.oauth]).",
            code="oauth_not_configured",
        )
    return JSONResponse(oauth.document(), headers={"cache-control": "max-age=300"})


routes = [
    Route(WELL_KNOWN, protected_resource, methods=["GET"]),
    Route(WELL_KNOWN + "/{rest:path}", protected_resource, methods=["GET"]),
]
