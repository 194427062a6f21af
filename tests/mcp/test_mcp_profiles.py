"""Tool profiles on real upstreams (server-everything, server-filesystem): filtering,
prefix strategies, search mode, result-size limits with mask_get."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import mcp_types as types
import pytest
from mcp.client import Client
from mcp.shared.exceptions import MCPError

from hub.api.app import create_app
from hub.config import load_config
from tests.support.hub_configs import write_config
from tests.support.hub_mcp import wait_ready
from tests.support.mcp_upstreams import EVERYTHING_TOML, FILESYSTEM_JS, needs_node
from tests.support.servers import serve

pytestmark = needs_node
BIG_FILE = "journal.txt"
FILE_TEXT = "".join(f"ligne {i} : état « ok » du module {i % 7}\n" for i in range(400))


def profiles_toml(workspace: Path) -> str:
    return f"""
[mcp]
workspace = "{workspace}"
{EVERYTHING_TOML}max_result_tokens = 1000

[mcp.servers.files]
command = "node"
args = [{json.dumps(str(FILESYSTEM_JS))}, {json.dumps(str(workspace))}]

[mcp.profiles.files-only]
servers = ["fil*"]
tools.allow = ["files__*"]
tools.deny = ["files__write_*", "files__edit_file", "files__move_file"]
prefix = "on_collision"

[mcp.profiles.mixed]
servers = ["everything", "files"]
tools.allow = ["everything__echo", "everything__get-sum", "files__read_text_file", "session*"]
prefix = "on_collision"

[mcp.profiles.agent]
discovery = "search"
pinned = ["sessions_list", "everything__echo"]
max_result_tokens = 300
"""


@dataclass
class Hub:
    url: str
    workspace: Path


@pytest.fixture
async def hub(tmp_path: Path, upstream_url: str) -> AsyncIterator[Hub]:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / BIG_FILE).write_text(FILE_TEXT, encoding="utf-8")
    path = write_config(tmp_path, upstream_url, profiles_toml(workspace))
    async with serve(create_app(load_config(path, {"FAKE_UPSTREAM_KEY": "k"}))) as url:
        async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
            await wait_ready(http, "everything", "files")
        yield Hub(url, workspace)


async def names(url: str) -> set[str]:
    async with Client(url, mode="legacy") as client:
        return {t.name for t in (await client.list_tools()).tools}


async def test_profiles_filter_exactly(hub: Hub) -> None:
    direct = await names(f"{hub.url}/servers/files/mcp")
    denied = {"write_file", "edit_file", "move_file"}
    assert await names(f"{hub.url}/profiles/files-only/mcp") == direct - denied
    mixed = await names(f"{hub.url}/profiles/mixed/mcp")
    own_sessions = {"sessions_list", "session_get", "session_create", "session_activate",
                    "session_rename", "session_delete", "session_stats"}  # fmt: skip
    assert mixed == {"echo", "get-sum", "read_text_file"} | own_sessions
    default = await names(f"{hub.url}/mcp")
    assert {"everything__echo", "files__read_text_file", "mask_get"} <= default
    assert default == await names(f"{hub.url}/profiles/default/mcp")
    async with Client(f"{hub.url}/profiles/mixed/mcp", mode="legacy") as client:
        result = await client.call_tool("get-sum", {"a": 2, "b": 3})
        assert "5" in result.content[0].text  # type: ignore[union-attr]
        for hidden in ("everything__echo", "mask_get", "files__write_file", "write_file"):
            with pytest.raises(MCPError, match="inconnu"):
                await client.call_tool(hidden, {})


async def test_unknown_and_hostile_profile_paths(hub: Hub) -> None:
    headers = {"Accept": "application/json, text/event-stream"}
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    async with httpx2.AsyncClient(base_url=hub.url, timeout=10) as http:
        for path in (
            "/profiles/nope/mcp",
            "/profiles/..%2f/mcp",
            "/profiles/" + "x" * 300 + "/mcp",
        ):
            response = await http.post(path, json=body, headers=headers)
            assert response.status_code == 404, path
            assert "inconnu" in response.text or response.status_code == 404
        assert (await http.post("/mcp/everything", json=body, headers=headers)).status_code == 404
        response = await http.post("/profiles/agent/mcp", content=b"{pas du json", headers={
            **headers, "Content-Type": "application/json"})  # fmt: skip
        assert response.status_code == 400
        evil = {**headers, "Host": "evil.example"}
        assert (await http.post("/profiles/agent/mcp", json=body, headers=evil)).status_code == 421


def text_of(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def test_search_mode_finds_describes_and_calls(hub: Hub) -> None:
    async with Client(f"{hub.url}/profiles/agent/mcp", mode="legacy") as client:
        listed = {t.name for t in (await client.list_tools()).tools}
        assert listed == {"sessions_list", "everything__echo", "tool_search", "tool_describe",
                          "tool_call"}  # fmt: skip
        found = await client.call_tool("tool_search", {"query": "recursive tree view", "limit": 3})
        results = found.structured_content["results"]
        assert results[0]["name"] == "files__directory_tree"
        found = await client.call_tool("tool_search", {"query": "sum of two numbers"})
        assert found.structured_content["results"][0]["name"] == "everything__get-sum"
        described = await client.call_tool("tool_describe", {"name": "everything__get-sum"})
        schema = described.structured_content["inputSchema"]
        assert set(schema["properties"]) == {"a", "b"}
        via_meta = await client.call_tool(
            "tool_call", {"name": "everything__get-sum", "arguments": {"a": 40, "b": 2}}
        )
        direct = await client.call_tool("everything__get-sum", {"a": 40, "b": 2})
        assert via_meta.model_dump() == direct.model_dump()
        own = await client.call_tool("tool_call", {"name": "global_stats"})
        assert own.model_dump() == (await client.call_tool("global_stats", {})).model_dump()
        for bad in ({"query": 3}, {}, {"query": "x", "limit": 0}, {"query": "x" * 501}):
            assert (await client.call_tool("tool_search", bad)).is_error
        assert (await client.call_tool("tool_describe", {"name": "nope"})).is_error
        assert (await client.call_tool("tool_call", {"name": "tool_call"})).is_error
        assert (await client.call_tool("tool_call", {"name": "x", "arguments": []})).is_error
        with pytest.raises(MCPError, match="inconnu"):
            await client.call_tool("tool_call", {"name": "files__nope"})


async def test_result_limit_masks_and_mask_get_gives_original(hub: Hub) -> None:
    path = str(hub.workspace / BIG_FILE)
    async with Client(f"{hub.url}/servers/files/mcp", mode="legacy") as client:
        direct = await client.call_tool("read_text_file", {"path": path})
    original = text_of(direct)
    assert original == FILE_TEXT
    async with Client(f"{hub.url}/profiles/agent/mcp", mode="legacy") as client:
        limited = await client.call_tool("tool_call", {
            "name": "files__read_text_file", "arguments": {"path": path}})  # fmt: skip
        placeholder = text_of(limited)
        assert "mask:" in placeholder and len(placeholder) < len(original) / 4
        assert limited.structured_content is not None  # still valid for the outputSchema
        reference = placeholder.split("mask:")[1].split()[0].strip(")")
        back = await client.call_tool("tool_call", {"name": "mask_get", "arguments": {
            "hash": f"mask:{reference}"}})  # fmt: skip
        assert back.structured_content["content"] == original
        small = await client.call_tool("everything__echo", {"message": "court"})
        assert text_of(small) == "Echo: court"
    async with httpx2.AsyncClient(base_url=hub.url, timeout=10) as http:
        masking = (await http.get("/api/savings")).json()["masking"]
        assert masking["events"] >= 1 and masking["tokens_saved"] > 0


async def test_server_limit_applies_on_its_own_endpoint(hub: Hub) -> None:
    message = " ".join(f"mot{i}" for i in range(3000))
    async with Client(f"{hub.url}/servers/everything/mcp", mode="legacy") as client:
        masked = text_of(await client.call_tool("echo", {"message": message}))
        assert masked.startswith("[Content masked") and "mask:" in masked
        assert text_of(await client.call_tool("echo", {"message": "court"})) == "Echo: court"
    reference = masked.split("mask:")[1].split()[0]
    async with Client(f"{hub.url}/mcp", mode="legacy") as client:
        back = await client.call_tool("mask_get", {"hash": reference})
    assert back.structured_content == {"hash": reference, "content": f"Echo: {message}"}
