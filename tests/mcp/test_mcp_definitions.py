"""Definitions pass through whole: what an upstream lists (tools, prompts, resources,
resource templates) reaches the client as the upstream wrote it, fields and key order,
with only the name changed where a prefix applies. Compared as raw JSON, direct and
through the hub, with the conformance suite's reference server (HTTP, both eras) and
Sequential Thinking (npm; stdio, 2025-11-25 only, tools carrying ``execution``)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx2
import pytest
import pytest_asyncio
from mcp.client import Client
from mcp.client._transport import TransportStreams
from mcp.client.stdio import StdioServerParameters, stdio_client

from hub.api.app import create_app
from hub.config import load_config
from tests.support.hub_configs import write_config
from tests.support.hub_mcp import wait_ready
from tests.support.json_values import JsonObject
from tests.support.mcp_upstreams import needs_node
from tests.support.node import node22
from tests.support.reference_server import needs_reference, reference_http
from tests.support.servers import serve
from tests.support.wire_answers import recorded, recorded_http

ROOT = Path(__file__).resolve().parents[2]
THINKING = ROOT / "node_modules" / "@modelcontextprotocol" / "server-sequential-thinking"
THINKING_JS = THINKING / "dist" / "index.js"

pytestmark = [
    needs_node,
    needs_reference,
    pytest.mark.skipif(not THINKING_JS.exists(), reason="server-sequential-thinking absent"),
    pytest.mark.xdist_group("reference_server"),
    pytest.mark.asyncio(loop_scope="module"),
]
KINDS = {"tools": "name", "prompts": "name", "resources": "uri", "resourceTemplates": "uriTemplate"}
Listed = dict[str, dict[str, str]]  # kind -> key -> the definition's raw JSON, key order kept


def _thinking() -> StdioServerParameters:
    node = node22()
    assert node is not None
    return StdioServerParameters(command=node, args=[str(THINKING_JS)])


async def _listed(
    transport: AbstractAsyncContextManager[TransportStreams], mode: str, answers: list[JsonObject]
) -> Listed:
    async with Client(transport, mode=mode) as client:
        capabilities = client.server_capabilities
        await client.list_tools()
        if capabilities.prompts:
            await client.list_prompts()
        if capabilities.resources:
            await client.list_resources()
            await client.list_resource_templates()
    listed: Listed = {}
    for answer in answers:
        for kind, key in KINDS.items():
            items = answer.get(kind)
            if isinstance(items, list):
                shown = listed.setdefault(kind, {})
                for item in items:
                    assert isinstance(item, dict)
                    name = item[key]
                    assert isinstance(name, str)
                    shown[name] = json.dumps(item)
    return listed


async def direct_http(url: str, mode: str) -> Listed:
    answers: list[JsonObject] = []
    return await _listed(recorded_http(url, answers), mode, answers)


async def direct_thinking(mode: str) -> Listed:
    answers: list[JsonObject] = []
    return await _listed(recorded(stdio_client(_thinking()), answers), mode, answers)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[str, str]]:
    tmp_path: Path = tmp_path_factory.mktemp("definitions")
    params = _thinking()
    async with reference_http() as reference:
        extra = f"""
[mcp.servers.refhttp]
url = "{reference.url}"

[mcp.servers.think]
command = {json.dumps(params.command)}
args = {json.dumps(params.args)}

[mcp.profiles.flat]
servers = ["refhttp", "think"]
prefix = "on_collision"
"""
        config = load_config(write_config(tmp_path, "http://127.0.0.1:9", extra), {})
        async with serve(create_app(config)) as url, httpx2.AsyncClient(base_url=url) as http:
            await wait_ready(http, "refhttp", "think")
            yield url, reference.url


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_an_upstreams_definitions_arrive_as_it_wrote_them(
    hub: tuple[str, str], mode: str
) -> None:
    """Both eras; a 2025 client is also shown the upstream's 2026-only tools, whose
    rounds the hub translates (tests/mcp/test_mcp_relay.py): those are the 2026 ones."""
    url, reference = hub
    direct = await direct_http(reference, mode)
    answers: list[JsonObject] = []
    through = await _listed(recorded_http(f"{url}/servers/refhttp/mcp", answers), mode, answers)
    assert set(direct) == set(KINDS) and all(direct.values())
    modern = await direct_http(reference, "auto") if mode == "legacy" else direct
    for kind in KINDS:
        assert {k: through[kind][k] for k in direct[kind]} == direct[kind], kind
        assert {k: through[kind][k] for k in through[kind]} == {
            k: modern[kind][k] for k in through[kind]
        }, kind


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_fields_of_the_older_era_reach_a_2026_client(hub: tuple[str, str], mode: str) -> None:
    """Sequential Thinking speaks 2025-11-25 only; its tool's ``execution`` is not in the
    2026-07-28 schema, which the SDK applied to the hub's answers: a 2026 client directly
    negotiates 2025 and sees it, so through the hub it must see it too."""
    url, _ = hub
    direct = await direct_thinking("auto")
    answers: list[JsonObject] = []
    through = await _listed(recorded_http(f"{url}/servers/think/mcp", answers), mode, answers)
    tool = json.loads(direct["tools"]["sequentialthinking"])
    assert list(tool) == [
        "name", "title", "description", "inputSchema", "annotations", "execution", "outputSchema"
    ]  # fmt: skip
    assert through["tools"] == direct["tools"]


async def test_aggregate_endpoints_change_only_the_name(hub: tuple[str, str]) -> None:
    url, reference = hub
    direct = await direct_http(reference, "auto")
    thinking = await direct_thinking("auto")
    answers: list[JsonObject] = []
    flat = await _listed(recorded_http(f"{url}/profiles/flat/mcp", answers), "auto", answers)
    for kind in KINDS:  # the hub's own resources (sessions) are listed beside them
        assert {k: flat[kind][k] for k in direct[kind]} == direct[kind], kind
    assert flat["tools"]["sequentialthinking"] == thinking["tools"]["sequentialthinking"]
    answers = []
    prefixed = await _listed(recorded_http(f"{url}/mcp", answers), "auto", answers)
    for name, wire in direct["tools"].items():
        shown = json.loads(prefixed["tools"][f"refhttp__{name}"])
        assert list(shown.items()) == [
            (k, f"refhttp__{name}" if k == "name" else v) for k, v in json.loads(wire).items()
        ]
