"""A legacy HTTP+SSE upstream (``transport = "sse"``): server-everything in its sse mode."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import mcp_types as types

from hub.config import McpServerConfig
from hub.features.mcp_hub import SupervisorSettings, UpstreamHub
from hub.features.mcp_hub.servers_json import load_servers_json
from tests.support.mcp_upstreams import EVERYTHING_JS, needs_node, running_in_task
from tests.support.ports import free_port
from tests.support.reference_server import answering


@needs_node
async def test_a_legacy_sse_server_is_served_like_any_other() -> None:
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        "node", str(EVERYTHING_JS), "sse", env={**os.environ, "PORT": str(port)},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/sse"
    try:
        await answering(f"http://127.0.0.1:{port}/")
        config = McpServerConfig(name="old", url=url, transport="sse")
        async with running_in_task(UpstreamHub({"old": config}, SupervisorSettings())) as hub:
            assert await hub.connections["old"].wait_ready(30)
            result = await hub.call_tool("old__echo", {"message": "ancien transport"})
    finally:
        server.terminate()
        await server.wait()
    assert isinstance(result, types.CallToolResult)
    assert result.content[0] == types.TextContent(text="Echo: ancien transport")


def test_an_sse_entry_of_a_servers_json_keeps_its_transport(tmp_path: Path) -> None:
    source = tmp_path / "servers.json"
    entries = {"old": {"url": "http://h/sse"}, "typed": {"type": "sse", "url": "http://h/events"}}
    source.write_text(json.dumps({"mcpServers": {**entries, "new": {"url": "http://h/mcp"}}}))
    servers = load_servers_json(source, {})
    assert servers["old"].transport == servers["typed"].transport == "sse"
    assert servers["new"].transport == "streamable-http"
