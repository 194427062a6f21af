"""The French dashboard: ``/`` serves index.html, ``/static`` the ES modules and assets.

Caching: index.html and our own modules are ``no-cache`` (revalidated through ETag, so a
new version shows at the next load); files whose name carries a version (the vendored
Chart.js) are cacheable for a year. Every response carries a strict CSP: the page loads
nothing but the hub's own origin and runs no inline script.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parents[3] / "static"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# A version in the file name (chart-4.6.1.umd.min.js) means its content never changes.
VERSIONED_NAME = re.compile(r"-\d+\.\d+\.\d+[.-]")
LONG_CACHE = "public, max-age=31536000, immutable"


def security_headers(response: Response) -> Response:
    response.headers["content-security-policy"] = CONTENT_SECURITY_POLICY
    response.headers["x-content-type-options"] = "nosniff"
    response.headers["referrer-policy"] = "no-referrer"
    return response


class DashboardFiles(StaticFiles):
    """StaticFiles with the dashboard's cache and security headers."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        versioned = VERSIONED_NAME.search(Path(full_path).name) is not None
        response.headers["cache-control"] = LONG_CACHE if versioned else "no-cache"
        return security_headers(response)


async def index(request: Request) -> Response:
    response = FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")
    response.headers["cache-control"] = "no-cache"
    return security_headers(response)


async def favicon(request: Request) -> Response:
    response = FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")
    response.headers["cache-control"] = "public, max-age=86400"
    return security_headers(response)


def build_routes(static_dir: Path = STATIC_DIR) -> list[BaseRoute]:
    return [
        Route("/", index, methods=["GET", "HEAD"]),
        Route("/favicon.ico", favicon, methods=["GET", "HEAD"]),
        Mount("/static", app=DashboardFiles(directory=static_dir), name="static"),
    ]


routes = build_routes()
