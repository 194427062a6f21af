"""/mcp: DNS-rebinding checks (Host/Origin), API key, oversized and malformed bodies."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from hub.api.app import create_app
from hub.config import load_config
from tests.support.hub_configs import UPSTREAM_SECRET, write_config
from tests.support.servers import serve

ACCEPT = {"accept": "application/json, text/event-stream"}
INIT = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {},
               "clientInfo": {"name": "t", "version": "1"}},
}  # fmt: skip


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"host": "evil.example"}, 421),
        ({"host": "evil.example:80"}, 421),
        ({"host": "127.0.0.1.evil.example"}, 421),
        ({"origin": "http://evil.example"}, 403),
        ({"origin": "http://localhost.evil.example:8000"}, 403),
        ({"origin": "null"}, 403),
        ({"origin": "http://localhost:1234"}, 403),  # another local page is still foreign
        ({"host": "localhost:9"}, 200),
        ({}, 200),
    ],
)
async def test_host_and_origin(
    http: httpx2.AsyncClient, headers: dict[str, str], status: int
) -> None:
    response = await http.post("/mcp", json=INIT, headers={**ACCEPT, **headers})
    assert response.status_code == status


async def test_configured_host_and_origin_are_allowed(tmp_path: Path, upstream_url: str) -> None:
    path = write_config(tmp_path, upstream_url)
    text = path.read_text().replace(
        "[server]\n",
        '[server]\nallowed_hosts = ["hub.lan:8000"]\nallowed_origins = ["https://ui.lan"]\n',
    )
    path.write_text(text)
    config = load_config(path, {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET})
    async with serve(create_app(config)) as url, httpx2.AsyncClient(base_url=url) as http:
        good = {"host": "hub.lan:8000", "origin": "https://ui.lan"}
        assert (await http.post("/mcp", json=INIT, headers={**ACCEPT, **good})).status_code == 200
        bad = {"host": "hub.lan:8001"}
        assert (await http.post("/mcp", json=INIT, headers={**ACCEPT, **bad})).status_code == 421


async def test_api_key_protects_mcp(tmp_path: Path, upstream_url: str) -> None:
    path = write_config(tmp_path, upstream_url)
    path.write_text(path.read_text().replace("[server]\n", '[server]\napi_key = "s3cret"\n'))
    config = load_config(path, {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET})
    async with serve(create_app(config)) as url:
        async with httpx2.AsyncClient(base_url=url) as http:
            for auth in ({}, {"authorization": "Bearer faux"}, {"authorization": "s3cret"}):
                response = await http.post("/mcp", json=INIT, headers={**ACCEPT, **auth})
                assert response.status_code == 401
                assert "Clé API" in response.json()["error"]["message"]
            assert (await http.get("/mcp", headers=ACCEPT)).status_code == 401
        headers = {"authorization": "Bearer s3cret"}
        async with (
            httpx2.AsyncClient(headers=headers) as authed,
            Client(streamable_http_client(f"{url}/mcp", http_client=authed)) as client,
        ):
            assert (await client.call_tool("tokens_count", {"text": "a"})).is_error is False


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{pas du json", "application/json", 400),
        (b"[]", "application/json", 400),
        (b'{"jsonrpc": "2.0"}', "application/json", 400),
        (b"{}", "text/plain", 415),  # BrowserGuard: application/json only
        (b"x" * 70_000, "application/json", 413),
    ],
)
async def test_malformed_and_oversized(
    asgi_http: httpx2.AsyncClient, body: bytes, content_type: str, status: int
) -> None:
    headers = {**ACCEPT, "content-type": content_type}
    response = await asgi_http.post("/mcp", content=body, headers=headers)
    assert response.status_code == status


async def test_unknown_session_id_is_rejected(asgi_http: httpx2.AsyncClient) -> None:
    headers = {**ACCEPT, "mcp-session-id": "inconnue", "mcp-protocol-version": "2025-11-25"}
    body = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    response = await asgi_http.post("/mcp", json=body, headers=headers)
    assert response.status_code in (400, 404)
