"""``isolation = "per-client"``: each MCP client gets its own child of a stateful server.

Sequential Thinking (npm ``@modelcontextprotocol/server-sequential-thinking``) keeps the
thoughts of its process: run directly, each client starts at ``thoughtHistoryLength`` 1.
Through the hub with a shared child the second client would carry on the first one's
history; with per-client children it starts fresh, as direct."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx2
import mcp_types as types
import pytest
import pytest_asyncio
from mcp.client import Client

from hub.api.app import create_app
from hub.config import load_config
from tests.support.hub_configs import write_config
from tests.support.hub_mcp import servers, wait_ready
from tests.support.mcp_upstreams import needs_node
from tests.support.node import node22
from tests.support.servers import serve

ROOT = Path(__file__).resolve().parents[2]
THINKING = ROOT / "node_modules" / "@modelcontextprotocol" / "server-sequential-thinking"
needs_thinking = pytest.mark.skipif(
    not (THINKING / "dist" / "index.js").exists(),
    reason="server-sequential-thinking absent : lancer scripts/test-setup.sh (npm ci)",
)
pytestmark = [needs_node, needs_thinking, pytest.mark.asyncio(loop_scope="module")]


def _thinking_toml(name: str, isolation: str, extra: str = "") -> str:
    node = node22()
    assert node is not None
    args = [str(THINKING / "dist" / "index.js")]
    return f"""
[mcp.servers.{name}]
command = {json.dumps(str(node))}
args = {json.dumps(args)}
env = {{ DISABLE_THOUGHT_LOGGING = "true" }}
isolation = "{isolation}"
{extra}
"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    tmp_path: Path = tmp_path_factory.mktemp("isolation")
    extra = (
        _thinking_toml("think", "per-client", "max_clients = 2\nidle_timeout = 600")
        + _thinking_toml("shared", "shared")
        + _thinking_toml("brief", "per-client", "idle_timeout = 0.3")
    )
    config = load_config(write_config(tmp_path, "http://127.0.0.1:9", extra), {})
    async with serve(create_app(config)) as url, httpx2.AsyncClient(base_url=url) as http:
        await wait_ready(http, "think", "shared", "brief")
        yield url


async def _history(client: Client, tool: str = "sequentialthinking") -> int:
    """One thought; the length of the history the server answered with."""
    arguments = {
        "thought": "Une pensée.",
        "thoughtNumber": 1,
        "totalThoughts": 3,
        "nextThoughtNeeded": True,
    }
    result = await client.call_tool(tool, arguments)
    assert isinstance(result, types.CallToolResult) and not result.is_error, result
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return int(json.loads(block.text)["thoughtHistoryLength"])


async def _clients(http: httpx2.AsyncClient, name: str) -> int:
    count = (await servers(http))[name]["clients"]
    assert isinstance(count, int)
    return count


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_each_client_starts_fresh_as_direct(hub: str, mode: str) -> None:
    """Per-client: a new client's first thought is the first of its history; shared: the
    second client carries on the first one's (the leak issue #23 measured)."""
    url = hub + "/servers/{}/mcp"
    first = Client(url.format("think"), mode="legacy")
    async with first, Client(url.format("think"), mode=mode) as second:
        assert [await _history(first), await _history(first)] == [1, 2]
        assert await _history(second) == 1  # its own child, not the first client's
        assert await _history(first) == 3
    async with Client(url.format("shared"), mode="legacy") as a:
        seen = await _history(a)
    async with Client(url.format("shared"), mode="legacy") as b:
        assert await _history(b) == seen + 1  # one child for all: the history is shared


async def test_the_profile_endpoint_gives_each_session_its_child(hub: str) -> None:
    async with Client(hub + "/mcp", mode="legacy") as first:
        assert await _history(first, "think__sequentialthinking") == 1
        assert await _history(first, "think__sequentialthinking") == 2
        async with Client(hub + "/mcp", mode="legacy") as second:
            assert await _history(second, "think__sequentialthinking") == 1


async def test_the_cap_closes_the_least_recently_used_idle_child(hub: str) -> None:
    """max_clients = 2: a third client takes the place of the oldest idle one."""
    url = hub + "/servers/think/mcp"
    async with httpx2.AsyncClient(base_url=hub) as http:
        async with Client(url, mode="legacy") as a, Client(url, mode="legacy") as b:
            await _history(a)
            await _history(b)
            async with Client(url, mode="legacy") as c:
                assert await _history(c) == 1
                assert await _clients(http, "think") == 2
                assert await _history(b) == 2  # b was used after a: kept
                assert await _history(a) == 1  # a's child was closed: a starts afresh


async def test_an_idle_client_child_is_reaped(hub: str) -> None:
    async with httpx2.AsyncClient(base_url=hub) as http:
        async with Client(hub + "/servers/brief/mcp", mode="legacy") as client:
            assert await _history(client) == 1
            assert await _clients(http, "brief") == 1
            with anyio.fail_after(30):
                while await _clients(http, "brief"):
                    await anyio.sleep(0.1)
            assert await _history(client) == 1  # a fresh child after the idle one closed


async def test_a_restart_closes_every_clients_child(hub: str) -> None:
    async with httpx2.AsyncClient(base_url=hub) as http:
        async with Client(hub + "/servers/think/mcp", mode="legacy") as client:
            await _history(client)
            assert await _history(client) >= 2
            response = await http.post("/api/mcp/servers/think/restart")
            assert response.status_code == 202
            assert await _clients(http, "think") == 0
            await wait_ready(http, "think")
            assert await _history(client) == 1  # a fresh child, as after a restart direct
