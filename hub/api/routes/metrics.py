"""``GET /metrics``: Prometheus text format (admin key or ``[server].metrics_key``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.api.state import hub_of
from hub.services.reporting.prometheus import CONTENT_TYPE


async def metrics(request: Request) -> Response:
    hub = hub_of(request)
    await hub.recorder.flush()  # rows of requests already answered are counted
    return Response(hub.metrics.render(), headers={"content-type": CONTENT_TYPE})


routes = [Route("/metrics", metrics, methods=["GET"])]
