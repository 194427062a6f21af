"""A small real MCP server (stdio) for the cases the reference servers do not cover.

- ``grow`` adds a tool ``extra`` and announces it: notifications/tools/list_changed in
  the 2025 era, an event on ``subscriptions/listen`` streams in 2026-07-28;
- ``bad_schema`` and ``bad name!`` are listed but must be rejected by the hub;
- ``sleep`` sleeps ``seconds`` (timeouts); ``env`` returns an environment variable;
  ``traceparent`` returns the ``_meta.traceparent`` its request carried ("" if none);
- it lists one resource, ``dyn://note``, and answers templates with "method not found";
  ``touch`` says it changed (``notifications/resources/updated`` to a 2025-era session
  that subscribed, an event on 2026-07-28 listen streams that name it) and returns the
  URIs its open listen streams name (sorted, one per line).
"""

import os

import anyio
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.stdio import stdio_server
from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    ListenHandler,
    ResourceUpdated,
    ToolsListChanged,
)

state = {"grown": False}
bus = InMemorySubscriptionBus()
subscribed: set[str] = set()  # 2025-era resources/subscribe
listened: list[list[str]] = []  # the URIs of each open listen stream
NOTE = "dyn://note"


class CountingListen(ListenHandler):
    async def __call__(
        self,
        ctx: ServerRequestContext[object, object],
        params: types.SubscriptionsListenRequestParams,
    ) -> types.SubscriptionsListenResult:
        uris = list(params.notifications.resource_subscriptions or [])
        listened.append(uris)
        try:
            return await super().__call__(ctx, params)
        finally:
            listened.remove(uris)


OBJ = {"type": "object", "properties": {}}


def _tools() -> list[types.Tool]:
    tools = [
        types.Tool(name="grow", input_schema=OBJ),
        types.Tool(
            name="sleep",
            input_schema={"type": "object", "properties": {"seconds": {"type": "number"}}},
        ),
        types.Tool(
            name="env",
            input_schema={"type": "object", "properties": {"name": {"type": "string"}}},
        ),
        types.Tool(name="traceparent", input_schema=OBJ),
        types.Tool(name="touch", input_schema=OBJ),
        types.Tool(
            name="bad_schema",
            input_schema={"type": "object", "properties": {"x": {"type": "nonsense"}}},
        ),
        types.Tool(name="bad name!", input_schema=OBJ),
    ]
    if state["grown"]:
        tools.append(types.Tool(name="extra", description="ajouté", input_schema=OBJ))
    return tools


async def list_tools(
    ctx: ServerRequestContext[object, object], params: types.PaginatedRequestParams | None
) -> types.ListToolsResult:
    return types.ListToolsResult(tools=_tools())


async def call_tool(
    ctx: ServerRequestContext[object, object], params: types.CallToolRequestParams
) -> types.CallToolResult:
    args = params.arguments or {}
    text = "ok"
    if params.name == "grow":
        state["grown"] = True
        await ctx.session.send_tool_list_changed()
        await bus.publish(ToolsListChanged())
    elif params.name == "sleep":
        await anyio.sleep(float(args.get("seconds", 0)))
    elif params.name == "env":
        text = os.environ.get(str(args.get("name")), "")
    elif params.name == "touch":
        if NOTE in subscribed:
            await ctx.session.send_resource_updated(NOTE)
        await bus.publish(ResourceUpdated(uri=NOTE))
        text = "\n".join(sorted(uri for uris in listened for uri in uris))
    elif params.name == "traceparent":
        meta = params.meta or {}
        text = str(meta.get("traceparent", ""))
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)])


async def list_resources(
    ctx: ServerRequestContext[object, object], params: types.PaginatedRequestParams | None
) -> types.ListResourcesResult:
    return types.ListResourcesResult(resources=[types.Resource(name="note", uri=NOTE)])


async def subscribe(
    ctx: ServerRequestContext[object, object], params: types.SubscribeRequestParams
) -> types.EmptyResult:
    subscribed.add(params.uri)
    return types.EmptyResult()


async def unsubscribe(
    ctx: ServerRequestContext[object, object], params: types.UnsubscribeRequestParams
) -> types.EmptyResult:
    subscribed.discard(params.uri)
    return types.EmptyResult()


async def main() -> None:
    server = Server(
        "dynamic",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_subscribe_resource=subscribe,
        on_unsubscribe_resource=unsubscribe,
        on_subscriptions_listen=CountingListen(bus),
    )
    options = server.create_initialization_options(NotificationOptions(tools_changed=True))
    async with stdio_server() as (read, write):
        await server.run(read, write, options)


if __name__ == "__main__":
    anyio.run(main)
