"""The hub's own ``/mcp`` merged with real upstream servers (``NAME__tool``), end to end."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError

from hub.api.app import create_app
from hub.config import HubConfig, load_config
from tests.support.hub_configs import UPSTREAM_SECRET, write_config
from tests.support.hub_mcp import EXPECTED_TOOLS, wait_ready
from tests.support.mcp_upstreams import (
    DYN_TOML,
    EVERYTHING_TOML,
    PYTHON,
    ROOT,
    needs_node,
    progress_steps,
)
from tests.support.processes import cmdline, descendants
from tests.support.servers import serve

pytestmark = [
    needs_node,
    pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
]
UPSTREAMS = EVERYTHING_TOML + DYN_TOML


@pytest.fixture
def hub_config(tmp_path: Path, upstream_url: str) -> HubConfig:
    path = write_config(tmp_path, upstream_url, UPSTREAMS)
    return load_config(path, {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET})


@pytest.fixture
async def ready_url(hub_config: HubConfig) -> AsyncIterator[str]:
    async with serve(create_app(hub_config)) as url:
        async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
            await wait_ready(http, "everything", "dyn")
        yield url


def text_of(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def names(client: Client) -> set[str]:
    return {tool.name for tool in (await client.list_tools(cache_mode="refresh")).tools}


async def test_tools_resources_prompts_are_merged(ready_url: str) -> None:
    async with Client(f"{ready_url}/servers/everything/mcp", mode="legacy") as direct:
        upstream = {tool.name: tool for tool in (await direct.list_tools()).tools}
        upstream_resources = (await direct.list_resources()).resources
    async with Client(f"{ready_url}/mcp", mode="legacy") as legacy:  # same protocol as direct
        listed = {tool.name: tool for tool in (await legacy.list_tools()).tools}
    assert EXPECTED_TOOLS <= set(listed)
    assert {"dyn__grow", "dyn__sleep", "dyn__env"} <= set(listed)
    assert "dyn__bad_schema" not in listed  # rejected by the hub's checks
    merged = {n.removeprefix("everything__"): t for n, t in listed.items() if "__" in n}
    for name, tool in upstream.items():  # schema, annotations, description, title kept
        assert merged[name].model_dump(exclude={"name"}) == tool.model_dump(exclude={"name"})
    assert any(tool.annotations for tool in upstream.values())
    async with Client(f"{ready_url}/mcp") as client:  # 2026-07-28
        assert "everything__echo" in await names(client)

        echoed = await client.call_tool("everything__echo", {"message": "par /mcp"})
        assert text_of(echoed) == "Echo: par /mcp"
        assert await progress_steps(client, "everything__trigger-long-running-operation") == [1, 2]

        for bad in ("nope__x", "everything__nope", "__x", "a" * 5000 + "__x", "évé__x", "nope"):
            with pytest.raises(MCPError) as caught:
                await client.call_tool(bad, {})
            assert caught.value.error.code == types.INVALID_PARAMS
            assert "inconnu" in caught.value.error.message.lower()
        hostile = await client.call_tool("everything__echo", {"message": 12})
        assert hostile.is_error  # the upstream's own validation, relayed as a tool error

        resources = (await client.list_resources()).resources
        uris = {str(r.uri) for r in resources}
        assert "kimi://sessions" in uris
        assert {str(r.uri) for r in upstream_resources} <= uris
        read = await client.read_resource(str(upstream_resources[0].uri))
        assert read.contents
        with pytest.raises(MCPError):
            await client.read_resource("demo://resource/static/document/absente.md")

        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        assert prompts and all(name.startswith("everything__") for name in prompts)
        simple = next(p for p in prompts.values() if not p.arguments)
        got = await client.get_prompt(simple.name)
        assert got.messages
        with pytest.raises(MCPError):
            await client.get_prompt("nope__x")


async def test_list_change_restart_and_crash_reach_mcp_clients(ready_url: str) -> None:
    changes: list[str] = []

    async def on_message(message: object) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            changes.append("tools")

    async with Client(f"{ready_url}/mcp", mode="legacy", message_handler=on_message) as client:
        assert client.server_capabilities.tools is not None
        assert client.server_capabilities.tools.list_changed
        assert "dyn__extra" not in await names(client)
        grown = await client.call_tool("dyn__grow", {})
        assert not grown.is_error
        with anyio.fail_after(10):
            while "dyn__extra" not in await names(client) or not changes:
                await anyio.sleep(0.05)

        # the upstream child dies: its tools go, the supervisor restarts it, they come back
        child = next(p for p in descendants() if "mcp_dynamic_server.py" in cmdline(p))
        os.kill(child, signal.SIGKILL)  # our own test's grandchild, by pid
        seen = len(changes)
        failed = await client.call_tool("dyn__env", {"name": "HOME"})
        # usually the call is what finds the child dead; the supervisor may have seen it first
        assert failed.is_error
        assert "arrêté" in text_of(failed) or "indisponible" in text_of(failed)
        with anyio.fail_after(20):
            while "dyn__env" not in await names(client) or len(changes) == seen:
                await anyio.sleep(0.05)
        assert "dyn__extra" not in await names(client)  # a fresh child, not grown
        assert "everything__echo" in await names(client)  # the other server was not touched
    async with httpx2.AsyncClient(base_url=ready_url, timeout=10) as http:
        status = {s["name"]: s for s in (await http.get("/api/mcp/servers")).json()["servers"]}
    assert status["dyn"]["restarts"] == 1 and status["everything"]["restarts"] == 0


async def test_list_change_reaches_a_modern_listener(ready_url: str) -> None:
    async with Client(f"{ready_url}/mcp") as client:
        assert client.protocol_version == "2026-07-28"
        async with client.listen(tools_list_changed=True) as subscription:
            await client.call_tool("dyn__grow", {})
            with anyio.fail_after(10):
                async for _event in subscription:
                    break
        assert "dyn__extra" in await names(client)


async def test_stdio_lists_and_calls_upstream_tools(hub_config: HubConfig) -> None:
    params = StdioServerParameters(
        command=PYTHON,
        args=["-m", "hub", "mcp", "--config", str(hub_config.source)],
        cwd=str(ROOT),
        env={**os.environ, "FAKE_UPSTREAM_KEY": UPSTREAM_SECRET},
    )
    async with Client(params) as client:
        with anyio.fail_after(30):  # the upstreams start with the stdio hub
            while "dyn__env" not in await names(client):
                await anyio.sleep(0.05)
        assert "sessions_list" in await names(client)
        result = await client.call_tool("dyn__env", {"name": "PATH"})
        assert not result.is_error and text_of(result)
