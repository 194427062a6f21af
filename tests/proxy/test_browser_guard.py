"""Issue #10 findings 2-5: DNS rebinding, cross-site POSTs, cross-site WebSockets, key in URL.

Real hub on loopback, real clients (httpx, openai SDK, websockets, and Debian's
chromium for the attack a browser page would actually make).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx2
import pytest
import websockets
from openai import APIStatusError, AsyncOpenAI
from playwright.async_api import Browser
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

import hub.api.routes.ws
from hub.api.app import create_app
from hub.config import HubConfig
from tests.support.fake_upstream import FakeUpstream
from tests.support.servers import serve

EVIL = "attacker.example"
HUB_KEY = "cle-du-hub-secrete-42"

ROUTES = [
    ("GET", "/health", None),
    ("GET", "/", None),
    ("GET", "/models", None),
    ("GET", "/api/export/json", None),
    ("GET", "/api/export/csv", None),
    ("GET", "/api/sessions", None),
    ("POST", "/api/sessions", {"name": "pwn"}),
    ("PATCH", "/api/sessions/1", {"name": "pwn"}),
    ("DELETE", "/api/sessions/1", None),
    ("POST", "/api/sessions/1/activate", None),
    ("POST", "/chat/completions", {"model": "fake/echo", "messages": [{"role": "user"}]}),
    ("POST", "/api/mcp/servers/x/restart", None),
    ("GET", "/api/mcp/servers", None),
    ("POST", "/mcp", {"jsonrpc": "2.0", "id": 1, "method": "ping"}),
]


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/ws"


@pytest.fixture
async def keyed_hub(hub_config: HubConfig) -> AsyncIterator[str]:
    config = replace(hub_config, server=replace(hub_config.server, api_key=HUB_KEY))
    async with serve(create_app(config)) as url:
        yield url


async def test_foreign_host_is_refused_on_every_route(
    http: httpx2.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    for method, path, body in ROUTES:
        for host in (EVIL, f"{EVIL}:8000", "127.0.0.1.attacker.example", "localhost.", ""):
            response = await http.request(method, path, json=body, headers={"host": host})
            assert response.status_code == 421, (method, path, host)
            error = response.json()["error"]
            assert "Hôte" in error["message"] and "allowed_hosts" in error["message"]
    assert fake_upstream.received == []
    assert (await http.get("/api/sessions")).json()["sessions"] == []


@pytest.mark.parametrize("host", ["localhost:9", "127.0.0.1", "[::1]:8000", "LOCALHOST"])
async def test_loopback_names_pass(http: httpx2.AsyncClient, host: str) -> None:
    assert (await http.get("/api/sessions", headers={"host": host})).status_code == 200


async def test_chat_with_rebound_host_never_spends_the_key(
    hub_url: str, fake_upstream: FakeUpstream
) -> None:
    headers = {"Host": f"{EVIL}:1"}
    async with AsyncOpenAI(
        base_url=hub_url, api_key="k", max_retries=0, default_headers=headers
    ) as client:
        with pytest.raises(APIStatusError) as caught:
            await client.chat.completions.create(
                model="fake/echo", messages=[{"role": "user", "content": "x"}]
            )
    assert caught.value.status_code == 421
    assert fake_upstream.received == []


SIMPLE_TYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; b=x"]


STATE_CHANGING = [
    "/chat/completions",
    "/api/sessions",
    "/api/sessions/1/activate",
    "/api/mcp/servers/x/restart",
    "/api/sessions/1/compaction/apply",
]


async def test_simple_request_content_types_are_refused(
    http: httpx2.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    body = json.dumps({"model": "fake/echo", "messages": [{"role": "user", "content": "x"}]})
    for path in STATE_CHANGING:
        for content_type in SIMPLE_TYPES:
            headers = {"content-type": content_type}
            response = await http.post(path, content=body, headers=headers)
            assert response.status_code == 415, (path, content_type)
            error = response.json()["error"]
            assert error["code"] == "unsupported_media_type"
            assert "application/json" in error["message"]
    assert fake_upstream.received == []
    assert (await http.get("/api/sessions")).json()["sessions"] == []


async def test_body_without_content_type_is_refused(http: httpx2.AsyncClient) -> None:
    request = http.build_request("POST", "/api/sessions", content=b'{"name": "x"}')
    assert "content-type" not in request.headers
    assert (await http.send(request)).status_code == 415


async def test_json_with_charset_and_bodyless_posts_pass(http: httpx2.AsyncClient) -> None:
    headers = {"content-type": "application/json; charset=utf-8"}
    created = await http.post("/api/sessions", content=b'{"name": "a"}', headers=headers)
    assert created.status_code == 201
    activated = await http.post(f"/api/sessions/{created.json()['id']}/activate")
    assert activated.status_code == 200


async def test_foreign_origin_is_refused_but_own_origin_passes(
    http: httpx2.AsyncClient, hub_url: str
) -> None:
    for origin in ("http://attacker.example", "null", "http://localhost:1", "https://evil"):
        response = await http.post("/api/sessions", json={}, headers={"origin": origin})
        assert response.status_code == 403
        assert "allowed_origins" in response.json()["error"]["message"]
    own = await http.post("/api/sessions", json={}, headers={"origin": hub_url})
    assert own.status_code == 201


async def test_ws_checks_origin_and_host(hub_url: str) -> None:
    for headers in ({"Origin": "http://attacker.example"}, {"Origin": "null"}):
        with pytest.raises(InvalidStatus) as caught:
            async with websockets.connect(ws_url(hub_url), additional_headers=headers):
                pass
        assert caught.value.response.status_code == 403
    with pytest.raises(InvalidStatus):  # a second Host header is as foreign as a wrong one
        async with websockets.connect(ws_url(hub_url), additional_headers={"Host": EVIL}):
            pass
    upgrade = {"connection": "Upgrade", "upgrade": "websocket", "sec-websocket-version": "13",
               "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "host": EVIL}  # fmt: skip
    async with httpx2.AsyncClient(base_url=hub_url) as http:
        assert (await http.get("/ws", headers=upgrade)).status_code == 403
    async with websockets.connect(
        ws_url(hub_url), origin=Origin(hub_url)
    ) as socket:  # the dashboard
        assert json.loads(await socket.recv())["type"] == "hello"


async def test_ws_key_is_a_first_message_never_a_query(
    keyed_hub: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = ws_url(keyed_hub)
    with monkeypatch.context() as patch:  # this client sends nothing: no need to wait 10 s
        patch.setattr(hub.api.routes.ws, "AUTH_TIMEOUT", 0.5)
        async with websockets.connect(f"{url}?token={HUB_KEY}") as socket:
            with pytest.raises(ConnectionClosed) as closed:
                await socket.recv()  # the query is ignored: no auth message came
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
            assert closed.value.rcvd.reason == "authentification attendue"
    for first in ("pas du json", json.dumps({"type": "auth", "token": "faux"}), "[]"):
        async with websockets.connect(url) as socket:
            await socket.send(first)
            with pytest.raises(ConnectionClosed) as closed:
                await socket.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    async with websockets.connect(url) as socket:
        await socket.send(json.dumps({"type": "auth", "token": HUB_KEY}))
        assert json.loads(await socket.recv())["type"] == "hello"
    bearer = {"Authorization": f"Bearer {HUB_KEY}"}
    async with websockets.connect(url, additional_headers=bearer) as socket:
        assert json.loads(await socket.recv())["type"] == "hello"


ATTACK_PAGE = """<!doctype html><script>
window.attack = async (hub) => {
  const result = {};
  await fetch(hub + '/api/sessions', {method: 'POST', mode: 'no-cors',
    headers: {'Content-Type': 'text/plain'}, body: '{"name": "pwn"}'}).catch(() => null);
  result.ws = await new Promise((done) => {
    const socket = new WebSocket(hub.replace('http', 'ws') + '/ws');
    socket.onmessage = (m) => done('message: ' + m.data);
    socket.onclose = () => done('closed');
  });
  return result;
};
</script>"""


async def test_a_foreign_page_in_chromium_gets_nothing(browser: Browser, hub_url: str) -> None:
    """The attack as a browser makes it: a page on another local port."""
    page_app = Starlette(routes=[Route("/", lambda _: HTMLResponse(ATTACK_PAGE))])
    async with serve(page_app) as attacker, httpx2.AsyncClient(base_url=hub_url) as http:
        page = await browser.new_page()
        await page.goto(attacker + "/")
        result = await page.evaluate("hub => window.attack(hub)", hub_url)
        assert result == {"ws": "closed"}
        assert (await http.get("/api/sessions")).json()["sessions"] == []
        await page.close()
