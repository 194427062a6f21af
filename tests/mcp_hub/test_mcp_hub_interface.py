"""The interface documented for the hub's own /mcp server, used from a lowlevel Server
exactly as docs/ARCHITECTURE.md shows: own tools merged with ``NAME__tool`` ones."""

from __future__ import annotations

import mcp_types as types
import pytest
from mcp.client import Client
from mcp.server import Server, ServerRequestContext
from mcp.shared.exceptions import MCPError

from hub.features.mcp_hub import SupervisorSettings, UpstreamHub
from tests.support.mcp_results import completed
from tests.support.mcp_upstreams import (
    dynamic,
    everything_stdio,
    needs_node,
    progress_steps,
    running_in_task,
)
from tests.support.polling import until

OWN = types.Tool(name="own_tool", input_schema={"type": "object"})


def merged_server(hub: UpstreamHub) -> Server[object]:
    async def on_list_tools(
        ctx: ServerRequestContext[object, object], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[OWN, *hub.list_tools()])

    async def on_call_tool(
        ctx: ServerRequestContext[object, object], params: types.CallToolRequestParams
    ) -> types.CallToolResult | types.InputRequiredResult:
        if "__" in params.name:

            async def relay(progress: float, total: float | None, message: str | None) -> None:
                await ctx.session.report_progress(progress, total, message)

            return completed(await hub.call_tool(params.name, params.arguments, relay))
        return types.CallToolResult(content=[types.TextContent(type="text", text="propre")])

    return Server("hub", on_list_tools=on_list_tools, on_call_tool=on_call_tool)


@needs_node
async def test_merged_listing_calls_progress_and_change_hook() -> None:
    servers = {"dyn": dynamic(), "everything": everything_stdio()}
    hub = UpstreamHub(servers, SupervisorSettings(ping_interval=1))
    changes: list[int] = []
    hub.on_change(lambda: changes.append(1))
    async with running_in_task(hub):
        for connection in hub.connections.values():
            assert await connection.wait_ready(30)
        async with Client(merged_server(hub), mode="legacy") as client:
            names = [t.name for t in (await client.list_tools()).tools]
            assert names[0] == "own_tool" and "everything__echo" in names and "dyn__grow" in names
            own = await client.call_tool("own_tool", {})
            assert own.content[0].text == "propre"  # type: ignore[union-attr]
            echo = await client.call_tool("everything__echo", {"message": "fusion"})
            assert echo.content[0].text == "Echo: fusion"  # type: ignore[union-attr]
            long_operation = "everything__trigger-long-running-operation"
            assert await progress_steps(client, long_operation) == [1, 2]
            with pytest.raises(MCPError) as info:  # a JSON-RPC error, French message
                await client.call_tool("nope__x", {})
            assert "inconnu" in info.value.error.message
            before = len(changes)
            await client.call_tool("dyn__grow", {})
            await until(lambda: len(changes) > before)
            names = [t.name for t in (await client.list_tools()).tools]
            assert "dyn__extra" in names
