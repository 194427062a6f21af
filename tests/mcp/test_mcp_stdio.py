"""``kimi-proxy mcp``: the same tools over stdio, on the same database as the HTTP hub."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import httpx2
import mcp_types as types
from mcp import Client

from hub.config import HubConfig, load_config
from tests.support.hub_configs import write_config
from tests.support.hub_mcp import stdio_params
from tests.support.mcp_upstreams import AGENT_PROFILE_TOML, EVERYTHING_TOML, needs_node

ROOT = Path(__file__).resolve().parents[2]


def structured(result: types.CallToolResult) -> dict[str, object]:
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def test_stdio_shares_the_database(
    hub_config: HubConfig, asgi_http: httpx2.AsyncClient
) -> None:
    async with Client(stdio_params(hub_config)) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"sessions_list", "tokens_count", "fs_read"} <= names
        created = structured(await client.call_tool("session_create", {"name": "Par stdio"}))
        assert structured(await client.call_tool("tokens_count", {"text": "bonjour"}))["tokens"]
        failed = await client.call_tool("session_get", {"session_id": 999999})
        assert failed.is_error
        listed = structured(await client.call_tool("sessions_list", {}))
    rest = (await asgi_http.get("/api/sessions")).json()
    assert created in rest["sessions"]
    assert listed == rest


async def test_stdio_legacy_handshake(hub_config: HubConfig) -> None:
    async with Client(stdio_params(hub_config), mode="legacy") as client:
        assert client.protocol_version == "2025-11-25"
        resources = await client.list_resources()
        assert any(str(r.uri) == "kimi://sessions" for r in resources.resources)
        read = await client.read_resource("kimi://sessions")
        text = read.contents[0]
        assert isinstance(text, types.TextResourceContents)
        assert "sessions" in json.loads(text.text)


@needs_node
async def test_first_tools_list_waits_for_upstreams(tmp_path: Path, upstream_url: str) -> None:
    """One-shot clients: the first tools/list already has the upstream's tools."""
    extra = "\n[mcp]\nstdio_wait = 20\n" + EVERYTHING_TOML + AGENT_PROFILE_TOML
    config = load_config(write_config(tmp_path, upstream_url, extra), {"FAKE_UPSTREAM_KEY": "k"})
    async with Client(stdio_params(config)) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "everything__echo" in names and "everything__get-sum" in names
    params = stdio_params(config)
    params.args.extend(["--profile", "agent"])
    async with Client(params) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert names == {"everything__echo", "tool_search", "tool_describe", "tool_call"}
        arguments = {"name": "everything__echo", "arguments": {"message": "stdio"}}
        result = await client.call_tool("tool_call", arguments)
        assert result.content[0].text == "Echo: stdio"  # type: ignore[union-attr]
    params = stdio_params(config)
    params.args.extend(["--profile", "nope"])
    process = await anyio.run_process([params.command, *params.args], cwd=params.cwd,
                                      env=params.env, check=False)  # fmt: skip
    assert process.returncode == 2 and "profil MCP « nope » inconnu" in process.stderr.decode()
