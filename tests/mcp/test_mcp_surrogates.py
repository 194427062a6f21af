"""A lone UTF-16 half (``"\\ud800"``) in MCP params: refused in French, before anything runs.

The SDK's client encodes strictly and cannot send one: ``LoneSurrogates`` (an httpx2
transport) turns a marker in the request body into that escape, as a hostile or buggy
client sends it. The rest is real: the SDK's client, the hub on loopback, real upstreams.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from hub.api.app import create_app
from hub.config import load_config
from tests.support.hub_configs import write_config
from tests.support.hub_mcp import servers, wait_ready
from tests.support.json_values import JsonObject
from tests.support.mcp_upstreams import AGENT_PROFILE_TOML, EVERYTHING_TOML, ROOT, needs_node
from tests.support.servers import serve

MARK = "@@demi-paire@@"
REFUSED = "demi-paire UTF-16 isolée"


class LoneSurrogates(httpx2.AsyncBaseTransport):
    """Each ``MARK`` in a request body becomes the JSON escape ``\\ud800``."""

    def __init__(self) -> None:
        self._inner = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        if MARK.encode() in body:
            headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"content-length"]
            request = httpx2.Request(
                request.method, request.url, headers=headers,
                content=body.replace(MARK.encode(), rb"\ud800"), extensions=request.extensions,
            )  # fmt: skip
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@asynccontextmanager
async def hostile(url: str, mode: str = "auto") -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(transport=LoneSurrogates(), timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as client,
    ):
        yield client


def refusal(result: types.CallToolResult) -> str:
    assert result.is_error, result
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


def listing(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir())


def config_text(workspace: Path, upstreams: str = "") -> str:
    return f'\n[mcp]\nworkspace = "{workspace}"\n{upstreams}'


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "garde.txt").write_text("intact\n")
    return root


@pytest.fixture
async def hub_url(tmp_path: Path, upstream_url: str, workspace: Path) -> AsyncIterator[str]:
    path = write_config(tmp_path, upstream_url, config_text(workspace))
    async with serve(create_app(load_config(path, {"FAKE_UPSTREAM_KEY": "k"}))) as url:
        yield url


async def test_hub_tools_refuse_before_running(hub_url: str, workspace: Path) -> None:
    before = listing(workspace)
    async with httpx2.AsyncClient(base_url=hub_url) as http, hostile(f"{hub_url}/mcp") as client:
        sessions = (await http.get("/api/sessions")).json()
        calls: list[tuple[str, JsonObject]] = [
            ("fs_write", {"path": "neuf.txt", "content": f"a{MARK}b"}),
            ("fs_write", {"path": f"{MARK}.txt", "content": "x"}),
            ("fs_write", {"path": "garde.txt", "content": "remplacé", MARK: 1}),  # a key
            ("session_create", {"name": f"Session {MARK}"}),
            ("tokens_count", {"messages": [{"role": "user", "content": [{"text": MARK}]}]}),
            ("outil_inexistant", {"x": MARK}),  # refused before the name is even looked up
        ]
        for name, arguments in calls:
            assert REFUSED in refusal(await client.call_tool(name, arguments)), name
        assert listing(workspace) == before
        assert (workspace / "garde.txt").read_text() == "intact\n"
        assert (await http.get("/api/sessions")).json() == sessions
        # the session goes on, and a clean call runs
        written = await client.call_tool("fs_write", {"path": "neuf.txt", "content": "é"})
        assert not written.is_error
        assert (workspace / "neuf.txt").read_text() == "é"


async def test_legacy_http_is_refused_by_the_sdk_parser(hub_url: str, workspace: Path) -> None:
    """2025 clients: the SDK's strict parser answers a JSON-RPC parse error; nothing runs."""
    async with hostile(f"{hub_url}/mcp", mode="legacy") as client:
        with pytest.raises(MCPError):
            await client.call_tool("fs_write", {"path": "neuf.txt", "content": MARK})
    assert not (workspace / "neuf.txt").exists()


async def test_stdio_answers_instead_of_dropping_the_line(
    tmp_path: Path, upstream_url: str, workspace: Path
) -> None:
    path = write_config(tmp_path, upstream_url, config_text(workspace))
    init = {"protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"}}  # fmt: skip
    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "fs_write", "arguments": {"path": "neuf.txt", "content": "\ud800"}}},
        {"jsonrpc": "2.0", "id": 3, "method": "resources/read",
         "params": {"uri": "kimi://sessions/\udc00"}},
        {"jsonrpc": "2.0", "id": 4, "method": "tools/call",
         "params": {"name": "tokens_count", "arguments": {"text": "a"}}},
    ]  # fmt: skip
    lines = "".join(json.dumps(r) + "\n" for r in requests).encode()  # ensure_ascii: "\ud800"
    env = {**os.environ, "FAKE_UPSTREAM_KEY": "k"}
    command = [sys.executable, "-m", "hub", "mcp", "--config", str(path)]
    answers: dict[int, dict[str, object]] = {}
    async with await anyio.open_process(command, cwd=ROOT, env=env) as process:
        assert process.stdin is not None and process.stdout is not None
        await process.stdin.send(lines)
        buffer = b""
        with anyio.fail_after(30):
            while len(answers) < 4:
                buffer += await process.stdout.receive()
                *complete, buffer = buffer.split(b"\n")
                for line in complete:
                    message = json.loads(line)
                    answers[message["id"]] = message
        await process.stdin.aclose()
        with anyio.fail_after(20):
            assert await process.wait() == 0
    tool = answers[2]["result"]
    assert isinstance(tool, dict) and tool["isError"] is True
    assert REFUSED in tool["content"][0]["text"]
    error = answers[3]["error"]
    assert isinstance(error, dict) and error["code"] == types.INVALID_PARAMS
    assert REFUSED in error["message"]
    counted = answers[4]["result"]
    assert isinstance(counted, dict) and not counted.get("isError")
    assert not (workspace / "neuf.txt").exists()


@pytest.fixture
async def upstream_hub(tmp_path: Path, upstream_url: str, workspace: Path) -> AsyncIterator[str]:
    text = config_text(workspace, EVERYTHING_TOML + AGENT_PROFILE_TOML)
    path = write_config(tmp_path, upstream_url, text)
    async with serve(create_app(load_config(path, {"FAKE_UPSTREAM_KEY": "k"}))) as url:
        async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
            await wait_ready(http, "everything")
        yield url


async def calls(url: str) -> object:
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        return (await servers(http))["everything"]["calls"]


@needs_node
@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
async def test_upstream_calls_prompts_and_completions_refuse(
    upstream_hub: str, workspace: Path
) -> None:
    url = upstream_hub
    before = await calls(url)
    async with hostile(f"{url}/mcp") as merged, hostile(f"{url}/servers/everything/mcp") as alone:
        echo = {"message": f"écho {MARK}"}
        assert REFUSED in refusal(await merged.call_tool("everything__echo", echo))
        assert REFUSED in refusal(await alone.call_tool("echo", echo))
        assert await calls(url) == before  # the upstream never saw them
        for client, prompt in ((merged, "everything__args-prompt"), (alone, "args-prompt")):
            with pytest.raises(MCPError) as caught:
                await client.get_prompt(prompt, {"city": MARK})
            assert caught.value.error.code == types.INVALID_PARAMS
            assert REFUSED in caught.value.error.message
        ref = types.PromptReference(name="completable-prompt")
        with pytest.raises(MCPError) as caught:
            await alone.complete(ref, {"name": "department", "value": MARK})
        assert REFUSED in caught.value.error.message
        clean = await alone.call_tool("echo", {"message": "é"})
        assert not clean.is_error
    async with hostile(f"{url}/profiles/agent/mcp") as agent:  # nested in tool_call
        inner = {"name": "fs_write", "arguments": {"path": "neuf.txt", "content": MARK}}
        assert REFUSED in refusal(await agent.call_tool("tool_call", inner))
    assert not (workspace / "neuf.txt").exists()
