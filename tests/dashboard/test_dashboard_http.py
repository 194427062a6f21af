"""The dashboard's HTTP side: index, static files, caching, CSP, hostile paths."""

from __future__ import annotations

import re
from pathlib import Path

import httpx2

from hub.api.routes.dashboard import CONTENT_SECURITY_POLICY, STATIC_DIR

MODULES = sorted(p.name for p in (STATIC_DIR / "js" / "modules").glob("*.js"))


async def test_index_is_french_no_cache_with_csp(asgi_http: httpx2.AsyncClient) -> None:
    response = await asgi_http.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert '<html lang="fr">' in response.text
    assert "<script>" not in response.text  # no inline script: the CSP would block it
    assert "http://" not in response.text and "https://" not in response.text


async def test_csp_allows_only_self() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


async def test_versioned_vendor_file_is_cacheable(asgi_http: httpx2.AsyncClient) -> None:
    response = await asgi_http.get("/static/vendor/chart-4.6.1.umd.min.js")
    assert response.status_code == 200
    assert "immutable" in response.headers["cache-control"]
    assert "Chart.js v4.6.1" in response.text[:200]


async def test_own_files_revalidate(asgi_http: httpx2.AsyncClient) -> None:
    paths = [f"/static/js/modules/{name}" for name in MODULES]
    for path in [*paths, "/static/js/main.js", "/static/css/dashboard.css"]:
        response = await asgi_http.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-cache"
        assert "content-security-policy" in response.headers
        again = await asgi_http.get(path, headers={"if-none-match": response.headers["etag"]})
        assert again.status_code == 304, path
    assert "javascript" in (await asgi_http.get(paths[0])).headers["content-type"]


HOSTILE_PATHS = [
    "/static/../pyproject.toml",
    "/static/%2e%2e/pyproject.toml",
    "/static/..%2fpyproject.toml",
    "/static/nope.js",
    "/static/" + "a" * 5000,
    "/static/js/modules/%00.js",
    "/static/",
]


async def test_hostile_or_missing_static_paths(asgi_http: httpx2.AsyncClient) -> None:
    for path in HOSTILE_PATHS:
        response = await asgi_http.get(path)
        assert response.status_code == 404, path
        assert "kimi-proxy-hub" not in response.text


async def test_wrong_method_on_index(asgi_http: httpx2.AsyncClient) -> None:
    headers = {"content-type": "application/json"}  # any other type is a 415 first
    response = await asgi_http.post("/", content=b"x" * 1000, headers=headers)
    assert response.status_code == 405
    assert "Méthode" in response.json()["error"]["message"]


async def test_favicon(asgi_http: httpx2.AsyncClient) -> None:
    response = await asgi_http.get("/favicon.ico")
    assert response.status_code == 200 and response.headers["content-type"] == "image/svg+xml"


def test_modules_use_named_exports_only() -> None:
    for path in [*(STATIC_DIR / "js" / "modules").glob("*.js"), STATIC_DIR / "js" / "main.js"]:
        source = path.read_text(encoding="utf-8")
        assert "export default" not in source, path.name
        assert not re.search(r"https?://", source), f"{path.name} charge une ressource externe"


def test_vendor_licence_and_version_note() -> None:
    vendor = Path(STATIC_DIR) / "vendor"
    assert (
        "MIT" in (vendor / "chart.js-LICENSE.md").read_text()
        or "Permission" in (vendor / "chart.js-LICENSE.md").read_text()
    )
    assert "4.6.1" in (vendor / "VERSION").read_text()
