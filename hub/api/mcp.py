"""The hub as an MCP server: the tools of ``tools/``, sessions as resources.

One ``Server`` serves both transports: Streamable HTTP at ``/mcp`` (inside the
Starlette app, behind the API key middleware and the SDK's Host/Origin checks)
and stdio (``kimi-proxy mcp``). A tool that fails answers ``isError`` with a
French message; a malformed request (unknown tool, bad resource URI) is a
JSON-RPC error. Neither ends the MCP session.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import mcp_types as types
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler
from mcp.shared.exceptions import MCPError
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from hub import __version__
from hub.api.mcp_common import (
    ListChangedServer,
    Sessions,
    announce,
    progress_relay,
    remember,
    security_settings,
    tool_allowed,
)
from hub.api.state import HubState
from hub.core.errors import HubError
from hub.core.jsontypes import JSONObject
from hub.features.mcp_hub import UpstreamHub
from hub.features.workspace import WorkspaceError, WorkspaceGuard
from tools.base import ToolCall, ToolDeps, ToolSpec, check_known
from tools.catalog import ALL_TOOLS

logger = logging.getLogger("hub.mcp")
Ctx = ServerRequestContext[JSONObject, object]
UPSTREAM_SEPARATOR = "__"  # upstream tools are NAME__tool; the hub's own never contain it
SESSIONS_URI = "kimi://sessions"
INSTRUCTIONS = (
    "Hub Kimi Proxy : sessions, comptage de tokens (cl100k_base), état du contexte, "
    "statistiques, compaction et fichiers de l'espace de travail."
)


def tool_deps(hub: HubState) -> ToolDeps:
    try:
        workspace: WorkspaceGuard | None = WorkspaceGuard(Path(hub.config.mcp.workspace))
    except WorkspaceError as exc:
        logger.warning("Outils fichiers désactivés : %s", exc.message)
        workspace = None
    return ToolDeps(hub.sessions, hub.stats, hub.counter, hub.savings, workspace)


def _mcp_tool(spec: ToolSpec) -> types.Tool:
    return types.Tool(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        input_schema=spec.input_schema(),
        annotations=types.ToolAnnotations(
            title=spec.title,
            read_only_hint=spec.read_only,
            destructive_hint=spec.destructive,
            idempotent_hint=spec.idempotent,
            open_world_hint=False,
        ),
    )


def _text(data: JSONObject) -> list[types.ContentBlock]:
    return [types.TextContent(text=json.dumps(data, ensure_ascii=False))]


def _session_id(uri: str) -> int | None:
    if uri == SESSIONS_URI:
        return None
    prefix = SESSIONS_URI + "/"
    tail = uri[len(prefix) :] if uri.startswith(prefix) else ""
    if not (tail.isascii() and tail.isdigit() and 0 < len(tail) < 19 and int(tail) > 0):
        raise MCPError(types.INVALID_PARAMS, f"Ressource inconnue : {uri[:200]}")
    return int(tail)


def build_server(
    deps: ToolDeps, upstreams: UpstreamHub, sessions: Sessions, listen: ListenHandler
) -> Server[JSONObject]:
    """The hub's own tools and resources, merged with every upstream's (``NAME__tool``)."""
    specs = {spec.name: spec for spec in ALL_TOOLS}
    tools = [_mcp_tool(spec) for spec in ALL_TOOLS]

    async def list_tools(
        ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        remember(sessions, ctx)
        every = [*tools, *upstreams.list_tools()]
        return types.ListToolsResult(tools=[t for t in every if tool_allowed(ctx, t.name)])

    async def call_tool(ctx: Ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
        if not tool_allowed(ctx, params.name):
            raise MCPError(
                types.INVALID_PARAMS, f"Outil non autorisé pour cette clé : {params.name[:100]}"
            )
        spec = specs.get(params.name)
        if spec is None:
            if UPSTREAM_SEPARATOR in params.name:
                relay = progress_relay(ctx)
                return await upstreams.call_tool(params.name, params.arguments, relay)
            raise MCPError(types.INVALID_PARAMS, f"Outil inconnu : {params.name[:100]}")
        arguments: JSONObject = dict(params.arguments or {})

        try:
            check_known(spec, arguments)
            # report_progress is a no-op when the client asked for no progress
            result = await spec.handler(ToolCall(deps, arguments, ctx.session.report_progress))
        except HubError as exc:
            failure: JSONObject = {"erreur": exc.message}
            return types.CallToolResult(content=_text(failure), is_error=True)
        except Exception:
            logger.exception("outil %s en échec", spec.name)
            message: JSONObject = {"erreur": f"Erreur interne de l'outil {spec.name}."}
            return types.CallToolResult(content=_text(message), is_error=True)
        return types.CallToolResult(content=_text(result), structured_content=result)

    async def list_resources(
        ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        remember(sessions, ctx)
        records = await deps.sessions.list()
        listing = types.Resource(name="sessions", uri=SESSIONS_URI, title="Sessions",
                                 mime_type="application/json")  # fmt: skip
        return types.ListResourcesResult(
            resources=[listing] + [
                types.Resource(name=f"session-{s.id}", uri=f"{SESSIONS_URI}/{s.id}",
                               title=s.name, mime_type="application/json")
                for s in records
            ] + upstreams.list_resources()
        )  # fmt: skip

    async def list_templates(
        ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        template = types.ResourceTemplate(
            name="session", uri_template=SESSIONS_URI + "/{id}", title="Une session",
            mime_type="application/json",
        )  # fmt: skip
        return types.ListResourceTemplatesResult(resource_templates=[template])

    async def read_resource(
        ctx: Ctx, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        if not params.uri.startswith(SESSIONS_URI):
            return await upstreams.read_resource(params.uri)
        session_id = _session_id(params.uri)
        if session_id is None:
            data: JSONObject = {"sessions": [s.to_json() for s in await deps.sessions.list()]}
        else:
            try:
                data = await deps.stats.session_stats(session_id, last=20)
            except HubError as exc:
                raise MCPError(types.INVALID_PARAMS, exc.message) from None
        text = json.dumps(data, ensure_ascii=False)
        contents = types.TextResourceContents(uri=params.uri, mime_type="application/json",
                                              text=text)  # fmt: skip
        return types.ReadResourceResult(contents=[contents])

    async def list_prompts(
        ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        remember(sessions, ctx)
        return types.ListPromptsResult(prompts=upstreams.list_prompts())

    async def get_prompt(ctx: Ctx, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        return await upstreams.get_prompt(params.name, params.arguments)

    # Prompts only exist upstream: offer the capability only when upstreams are configured.
    offer_prompts = bool(upstreams.connections)
    return ListChangedServer(
        "kimi-proxy-hub",
        version=__version__,
        title="Kimi Proxy Hub",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
        on_list_prompts=list_prompts if offer_prompts else None,
        on_get_prompt=get_prompt if offer_prompts else None,
        on_subscriptions_listen=listen,
    )


@asynccontextmanager
async def announcing(hub: HubState) -> AsyncIterator[Server[JSONObject]]:
    """A server for ``hub`` whose clients hear when an upstream's lists change."""
    sessions: Sessions = {}
    bus = InMemorySubscriptionBus()  # 2026-07-28 clients hear changes via subscriptions/listen
    server = build_server(tool_deps(hub), hub.upstreams, sessions, ListenHandler(bus))
    kinds = ("tools", "resources", "prompts") if hub.upstreams.connections else ("tools",)
    async with anyio.create_task_group() as group:

        def changed() -> None:
            group.start_soon(announce, sessions, kinds, bus)

        remove = hub.upstreams.on_change(changed)
        try:
            yield server
        finally:
            remove()
            group.cancel_scope.cancel()


@asynccontextmanager
async def serve_http(app: Starlette, hub: HubState) -> AsyncIterator[None]:
    """Run the MCP session manager for the app's lifetime (inside its lifespan)."""
    async with announcing(hub) as server:
        manager = StreamableHTTPSessionManager(
            app=server,
            security_settings=security_settings(hub.config.server),
            max_request_body_size=hub.config.server.max_body_bytes,
        )
        async with manager.run():
            app.state.mcp = manager
            yield


class McpEndpoint:
    """An ASGI app (a class, so Starlette does not wrap it as a request handler)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        manager = scope["app"].state.mcp
        assert isinstance(manager, StreamableHTTPSessionManager)
        await manager.handle_request(scope, receive, send)


routes = [Route("/mcp", McpEndpoint())]


async def serve_stdio(hub: HubState) -> None:
    """``kimi-proxy mcp``: the same server on stdin/stdout (logs go to stderr)."""
    async with announcing(hub) as server, stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())
