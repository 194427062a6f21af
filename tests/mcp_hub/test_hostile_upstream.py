"""A hostile upstream stays contained: the hostile test server (tests/support) against the
hub, through real MCP clients and the hub's own HTTP routes."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx2
import mcp_types as types
import pytest
import websockets
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from hub.api.app import create_app
from hub.config import McpLimits, McpServerConfig, load_config
from hub.features.mcp_hub import UpstreamHub
from tests.support.hub_configs import UPSTREAM_SECRET, write_config
from tests.support.hub_mcp import servers, wait_ready
from tests.support.mcp_results import completed
from tests.support.mcp_upstreams import PYTHON, TESTS, running_in_task
from tests.support.polling import until
from tests.support.processes import alive
from tests.support.servers import serve

HOSTILE = str(TESTS / "mcp_hostile_server.py")


def hostile_toml(name: str, **env: str) -> str:
    table = ", ".join(f"{k} = {json.dumps(v)}" for k, v in env.items())
    return (
        f"\n[mcp.servers.{name}]\ncommand = {json.dumps(PYTHON)}\n"
        f"args = [{json.dumps(HOSTILE)}]\nenv = {{ {table} }}\n"
    )


UPSTREAMS = (
    hostile_toml("hostile")
    + hostile_toml("ts", HOSTILE_ID_LAST="1")
    + hostile_toml("many", HOSTILE_LIST="many")
    + hostile_toml("odd", HOSTILE_LIST="bad-names,huge-description,huge-schema,poisoned")
)


@pytest.fixture
async def hub_url(tmp_path: Path, upstream_url: str) -> AsyncIterator[str]:
    path = write_config(tmp_path, upstream_url, UPSTREAMS)
    config = load_config(path, {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET})
    async with serve(create_app(config)) as url:
        async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
            await wait_ready(http, "hostile", "ts", "many", "odd")
        yield url


def text(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def test_a_result_over_the_cap_is_a_french_tool_error(hub_url: str) -> None:
    """50 MB on one stdout line, the response's id first (Python SDK) or last (TypeScript
    SDK): a French isError for that call, the server stays up, /health keeps answering."""
    async with (
        httpx2.AsyncClient(base_url=hub_url, timeout=30) as http,
        Client(streamable_http_client(f"{hub_url}/mcp", http_client=http)) as client,
    ):
        before = await servers(http)
        for server in ("hostile", "ts"):
            call = asyncio.create_task(client.call_tool(f"{server}__big", {"mb": 50}))
            health = [(await http.get("/health")).status_code for _ in range(5)]
            result = await call
            assert health == [200] * 5
            assert result.is_error and "trop grande" in text(result), text(result)[:300]
            assert "[mcp].max_message_bytes" in text(result)
            echoed = await client.call_tool(f"{server}__echo", {"text": "toujours là"})
            assert text(echoed) == "toujours là"
            small = await client.call_tool(f"{server}__big", {"mb": 2})
            assert not small.is_error and len(text(small)) == 2_000_000
        after = await servers(http)
    for server in ("hostile", "ts"):
        assert after[server]["restarts"] == before[server]["restarts"]
        assert after[server]["state"] == "ready"


async def test_a_stderr_flood_without_newline_is_cut(hub_url: str) -> None:
    async with (
        httpx2.AsyncClient(base_url=hub_url, timeout=30) as http,
        Client(streamable_http_client(f"{hub_url}/mcp", http_client=http)) as client,
    ):
        result = await client.call_tool("hostile__stderr-flood", {"mb": 150})
        assert text(result) == "stderr rempli"
        assert (await http.get("/health")).status_code == 200
        assert text(await client.call_tool("hostile__echo", {"text": "ok"})) == "ok"


async def test_what_an_upstream_lists_is_capped_and_checked(hub_url: str) -> None:
    async with httpx2.AsyncClient(base_url=hub_url, timeout=30) as http:
        status = await servers(http)
        many, odd = status["many"], status["odd"]
        assert many["tools"] == 1000 and many["state"] == "degraded"
        assert any("10006 outils annoncés" in w for w in many["warnings"])
        warnings = "\n".join(str(w) for w in odd["warnings"])
        for name in ("../etc", "a/b"):
            assert f"outil « {name} » ignoré : nom d'outil invalide" in warnings
        assert "« wide » ignoré : schémas trop grands" in warnings
        assert "« verbose » : description de 10000000 caractères coupée à 8192" in warnings
        assert "« poisoned » : description suspecte" in warnings
        async with Client(streamable_http_client(f"{hub_url}/mcp", http_client=http)) as client:
            listed = {t.name: t for t in (await client.list_tools()).tools}
    assert "odd__../etc" not in listed and "odd__a/b" not in listed and "odd__wide" not in listed
    assert len(listed["odd__verbose"].description or "") == 8192
    assert "Ignore all previous" in (listed["odd__poisoned"].description or "")  # never rewritten
    assert len([n for n in listed if n.startswith("many__")]) == 1000


async def test_injections_are_flagged_never_rewritten(hub_url: str) -> None:
    async with (
        websockets.connect(hub_url.replace("http://", "ws://") + "/ws") as ws,
        httpx2.AsyncClient(base_url=hub_url, timeout=30) as http,
        Client(streamable_http_client(f"{hub_url}/mcp", http_client=http)) as client,
    ):
        assert json.loads(await ws.recv())["type"] == "hello"
        result = await client.call_tool("hostile__inject", {})
        assert "IGNORE ALL PREVIOUS INSTRUCTIONS" in text(result)
        await client.call_tool("odd__poisoned", {})
        await client.call_tool("hostile__echo", {"text": "rien à signaler"})
        events: list[dict[str, str]] = []
        with anyio.fail_after(10):
            while len(events) < 1:
                event = json.loads(await ws.recv())
                if event["type"] == "injection":
                    events.append(event)
        flagged = (await http.get("/api/audit", params={"flagged": "true"})).json()["entries"]
        clean = (await http.get("/api/audit", params={"flagged": "false"})).json()["entries"]
    assert events[0]["source"] == "result" and events[0]["tool"] == "inject"
    assert "IGNORE ALL PREVIOUS INSTRUCTIONS" in events[0]["excerpt"]
    flags = {row["tool"]: row["flags"] for row in flagged}
    assert flags == {"inject": ["injection_result"], "poisoned": ["injection_description"]}
    assert "echo" in {row["tool"] for row in clean}


async def test_progress_floods_are_coalesced(hub_url: str) -> None:
    count = 20_000
    seen: list[float] = []

    async def progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async with (
        httpx2.AsyncClient(base_url=hub_url, timeout=60) as http,
        Client(streamable_http_client(f"{hub_url}/mcp", http_client=http)) as client,
    ):
        result = await client.call_tool(
            "hostile__flood", {"count": count}, progress_callback=progress
        )
    assert text(result) == "fini"
    assert seen and seen == sorted(set(seen)) and seen[-1] == count  # the last one arrives
    assert len(seen) * 50 < count, len(seen)  # 10 a second at most while it floods


async def test_a_grandchild_that_calls_setsid_is_ended_on_stop() -> None:
    hub = UpstreamHub({"hostile": McpServerConfig("hostile", command=PYTHON, args=(HOSTILE,))})
    async with running_in_task(hub):
        connection = hub.connections["hostile"]
        assert await connection.wait_ready(20)
        child = connection.output.pid
        result = completed(await hub.call_tool("hostile__grandchild", {}))
        grandchild = int(text(result))
        await until(lambda: os.getsid(grandchild) == grandchild)  # it called setsid()
        assert os.getsid(grandchild) != os.getsid(child or 0)
        assert os.getpgid(grandchild) != child  # out of the child's process group too
    with anyio.fail_after(10):  # a hang guard: SIGKILL is sent before the block returns
        while alive(grandchild):
            await anyio.sleep(0.05)


async def test_a_grandchild_that_calls_setsid_is_ended_on_restart() -> None:
    hub = UpstreamHub({"hostile": McpServerConfig("hostile", command=PYTHON, args=(HOSTILE,))})
    async with running_in_task(hub):
        connection = hub.connections["hostile"]
        assert await connection.wait_ready(20)
        grandchild = int(text(completed(await hub.call_tool("hostile__grandchild", {}))))
        await until(lambda: os.getsid(grandchild) == grandchild)  # it called setsid()
        first = connection.output.pid
        connection.restart()
        with anyio.fail_after(20):
            while connection.output.pid == first or not await connection.wait_ready(1):
                await anyio.sleep(0.05)
        assert not alive(grandchild)


def test_limits_are_read_from_the_mcp_section(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[mcp]\nmax_message_bytes = 65536\nmax_tools = 5\nprogress_interval = 0\n")
    limits = load_config(path, {}).mcp.limits
    assert limits == McpLimits(max_message_bytes=65536, max_tools=5, progress_interval=0.0)
    path.write_text("[mcp]\nmax_tools = 0\n")
    with pytest.raises(Exception, match="max_tools"):
        load_config(path, {})
