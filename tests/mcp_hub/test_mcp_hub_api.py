"""The hub app with upstream MCP servers: /api/mcp/servers, /mcp/NAME, mcp_status events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx2
import mcp_types as types
import pytest
import websockets
from mcp.client import Client
from mcp.shared.exceptions import MCPError

from hub.api.app import create_app
from hub.config import load_config
from tests.support.hub_configs import write_config
from tests.support.hub_mcp import servers, wait_ready
from tests.support.mcp_upstreams import (
    DYN_TOML,
    EVERYTHING_TOML,
    PYTHON,
    TESTS,
    needs_node,
    progress_steps,
)
from tests.support.servers import serve

SECRET = "secret-amont-9876"
HEADER_SECRET = "Bearer entete-secrete-5555"


def mcp_toml(json_path: Path) -> str:
    return f"""
[mcp]
servers_json = "{json_path}"
{EVERYTHING_TOML}{DYN_TOML}env = {{ HUB_TEST_SECRET = "${{HUB_TEST_SECRET}}" }}

[mcp.servers.remote]
url = "http://127.0.0.1:9/mcp"
headers = {{ Authorization = "${{REMOTE_TOKEN}}" }}

[mcp.servers.off]
enabled = false
command = "nowhere"
"""


@pytest.fixture
async def mcp_hub_url(tmp_path: Path, upstream_url: str) -> AsyncIterator[str]:
    json_path = tmp_path / "claude.json"
    json_path.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "fromjson": {"command": PYTHON, "args": [str(TESTS / "mcp_dynamic_server.py")]}
                }
            }
        )
    )
    path = write_config(tmp_path, upstream_url, mcp_toml(json_path))
    env = {"FAKE_UPSTREAM_KEY": "k", "HUB_TEST_SECRET": SECRET, "REMOTE_TOKEN": HEADER_SECRET}
    async with serve(create_app(load_config(path, env))) as url:
        yield url


@needs_node
@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
async def test_status_and_proxy_endpoint(mcp_hub_url: str) -> None:
    async with httpx2.AsyncClient(base_url=mcp_hub_url, timeout=10) as http:
        status = await wait_ready(http, "everything", "dyn", "fromjson")
        assert status["off"]["state"] == "disabled"
        assert status["everything"]["tools"] == 17  # its 2026-07-28 list (auto mode)
        assert status["dyn"]["warnings"]
        text = (await http.get("/api/mcp/servers")).text
        assert SECRET not in text and HEADER_SECRET not in text and "entete" not in text
    async with Client(f"{mcp_hub_url}/servers/everything/mcp", mode="legacy") as client:
        names = [t.name for t in (await client.list_tools()).tools]
        assert "echo" in names and not any("__" in n for n in names)
        result = await client.call_tool("echo", {"message": "via le hub"})
        assert result.content[0].text == "Echo: via le hub"  # type: ignore[union-attr]
        assert await progress_steps(client, "trigger-long-running-operation") == [1, 2]
        assert (await client.list_prompts()).prompts
        resources = (await client.list_resources()).resources
        assert (await client.read_resource(str(resources[0].uri))).contents
        await client.session.subscribe_resource(str(resources[0].uri))
        await client.session.unsubscribe_resource(str(resources[0].uri))
        await client.session.set_logging_level("error")
        templates = (await client.list_resource_templates()).resource_templates
        assert templates
        prompt = next(p for p in (await client.list_prompts()).prompts if p.arguments)
        ref = types.PromptReference(type="ref/prompt", name=prompt.name)
        arg = prompt.arguments[0].name  # type: ignore[index]
        assert (await client.complete(ref, {"name": arg, "value": ""})).completion is not None
    async with Client(f"{mcp_hub_url}/servers/dyn/mcp") as modern:  # default mode: discovery probe
        result = await modern.call_tool("env", {"name": "HUB_TEST_SECRET"})
        assert result.content[0].text == SECRET  # type: ignore[union-attr]


async def test_unknown_names_and_hostile_input(mcp_hub_url: str) -> None:
    async with httpx2.AsyncClient(base_url=mcp_hub_url, timeout=10) as http:
        for name in ["nope", "a" * 5000, "..%2F..%2Fetc", "%00", "évé"]:
            response = await http.post(
                f"/servers/{name}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"}
            )
            assert response.status_code == 404
            assert response.json()["error"]["message"]  # JSON error, French
            response = await http.post(f"/api/mcp/servers/{name}/restart")
            assert response.status_code == 404
            assert response.json()["error"]["code"] in ("mcp_server_not_found", "http_error")
        assert (await http.get("/api/mcp/servers/dyn/restart")).status_code == 405
        assert (await http.post("/api/mcp/servers/off/restart")).status_code == 409
        headers = {
            "accept": "application/json, text/event-stream",
            "content-type": "application/json",
        }
        response = await http.post("/servers/dyn/mcp", content=b"{not json", headers=headers)
        assert response.status_code == 400
        response = await http.post(
            "/servers/dyn/mcp", content=b"x" * (5 * 1024 * 1024), headers=headers
        )
        assert response.status_code == 413
        evil = {**headers, "host": "evil.example"}
        body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        response = await http.post("/servers/dyn/mcp", json=body, headers=evil)
        assert response.status_code in (403, 421)


async def test_restart_publishes_mcp_status_events(mcp_hub_url: str) -> None:
    async with httpx2.AsyncClient(base_url=mcp_hub_url, timeout=10) as http:
        await wait_ready(http, "dyn")
        ws_url = mcp_hub_url.replace("http://", "ws://") + "/ws"
        async with websockets.connect(ws_url) as ws:
            assert json.loads(await ws.recv())["type"] == "hello"
            response = await http.post("/api/mcp/servers/dyn/restart")
            assert response.status_code == 202
            assert "Redémarrage" in response.json()["message"]
            states: list[str] = []
            while "ready" not in states and "degraded" not in states[1:]:
                event = json.loads(await ws.recv())
                if event["type"] == "mcp_status" and event["name"] == "dyn":
                    states.append(event["state"])
                    assert SECRET not in json.dumps(event)
            assert states[0] == "restarting"  # « redémarrage » from the request on
        status = await servers(http)
        assert status["dyn"]["restarts"] == 1


async def test_upstream_list_change_is_announced_on_the_proxy_endpoint(mcp_hub_url: str) -> None:
    async with httpx2.AsyncClient(base_url=mcp_hub_url, timeout=10) as http:
        await wait_ready(http, "dyn")
    changed = anyio.Event()

    async def on_message(message: object) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            changed.set()

    async with Client(
        f"{mcp_hub_url}/servers/dyn/mcp", mode="legacy", message_handler=on_message
    ) as client:
        assert client.server_capabilities.tools is not None
        assert client.server_capabilities.tools.list_changed
        assert "extra" not in [t.name for t in (await client.list_tools()).tools]
        await client.call_tool("grow", {})
        with anyio.fail_after(10):
            await changed.wait()
        assert "extra" in [t.name for t in (await client.list_tools(cache_mode="refresh")).tools]


async def test_proxy_endpoint_of_a_down_upstream_answers_with_errors(mcp_hub_url: str) -> None:
    async with Client(f"{mcp_hub_url}/servers/remote/mcp", mode="legacy") as client:
        assert (await client.list_tools()).tools == []
        result = await client.call_tool("anything", {})
        assert result.is_error
        assert "indisponible" in result.content[0].text  # type: ignore[union-attr]
        with pytest.raises(MCPError):
            await client.get_prompt("p")
        with pytest.raises(MCPError):
            await client.read_resource("file:///etc/passwd")
    async with httpx2.AsyncClient(base_url=mcp_hub_url, timeout=10) as http:
        with anyio.fail_after(20):
            while True:
                remote = (await servers(http))["remote"]
                if remote["last_error"]:
                    break
                await anyio.sleep(0.05)
        assert remote["state"] in ("down", "starting")
        assert remote["transport"] == "http"
        assert remote["last_error"] and HEADER_SECRET not in json.dumps(remote)
        # httpx's "All connection attempts failed", as a person reads it on the dashboard
        assert remote["last_error"].startswith("connexion impossible"), remote["last_error"]


@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
async def test_the_proxy_endpoint_presents_its_upstream_in_both_eras(mcp_hub_url: str) -> None:
    """serverInfo and capabilities are the upstream's (a 2026-07-28 Python server here),
    the same through initialize and server/discover; a 2025 client's logging/setLevel is
    answered though the upstream's era has no such request."""
    async with httpx2.AsyncClient(base_url=mcp_hub_url, timeout=10) as http:
        await wait_ready(http, "dyn")
    seen: dict[str, types.ServerCapabilities] = {}
    for mode in ("legacy", "auto"):
        async with Client(f"{mcp_hub_url}/servers/dyn/mcp", mode=mode) as client:
            assert client.server_info is not None and client.server_info.name == "dynamic"
            seen[mode] = client.server_capabilities
            if mode == "legacy":
                await client.set_logging_level("info")
    for capabilities in seen.values():
        assert capabilities.prompts is None and capabilities.completions is None  # not upstream
        assert capabilities.tools is not None and capabilities.tools.list_changed
