"""The hub as an MCP server for one tool profile: own tools, upstream tools, sessions.

``build_server`` makes one lowlevel ``Server`` per profile (``hub.api.mcp.profiles``
mounts them at ``/mcp`` and ``/profiles/NAME/mcp``, and serves one over stdio for
``kimi-proxy mcp``). A tool that fails answers ``isError`` with a
French message; a malformed request (unknown tool, bad resource URI) is a
JSON-RPC error. Neither ends the MCP session.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import mcp_types as types
from mcp.server import Server
from mcp.server.subscriptions import ListenHandler
from mcp.shared.exceptions import MCPError

from hub import __version__
from hub.api.mcp.common import (
    Ctx,
    ListChangedServer,
    ResultLimiter,
    Sessions,
    invalid_text,
    progress_relay,
    refusing_invalid_text,
    remember,
    tool_allowed,
)
from hub.api.state import HubState
from hub.core.errors import HubError
from hub.core.ids import ascii_int
from hub.core.jsontypes import JSONObject
from hub.features.mcp_hub.profiles import Profile
from hub.features.workspace import WorkspaceError, WorkspaceGuard
from tools import discovery
from tools.base import ToolCall, ToolDeps, ToolSpec, check_known
from tools.catalog import ALL_TOOLS
from tools.discovery import META_NAMES, META_TOOLS

logger = logging.getLogger("hub.mcp")
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
    session_id = ascii_int(tail) if tail == tail.strip() else None
    if not session_id:
        raise MCPError(types.INVALID_PARAMS, f"Ressource inconnue : {uri[:200]}")
    return session_id


def own_tools() -> list[types.Tool]:
    return [_mcp_tool(spec) for spec in ALL_TOOLS]


def _failure(message: str) -> types.CallToolResult:
    data: JSONObject = {"erreur": message}
    return types.CallToolResult(content=_text(data), is_error=True)


async def _guarded(name: str, work: Callable[[], Awaitable[JSONObject]]) -> types.CallToolResult:
    """A hub tool's answer: its JSON, or ``isError`` with a French message."""
    try:
        result = await work()
    except HubError as exc:
        return _failure(exc.message)
    except Exception:
        logger.exception("outil %s en échec", name)
        return _failure(f"Erreur interne de l'outil {name}.")
    return types.CallToolResult(content=_text(result), structured_content=result)


def _refused(name: str) -> MCPError:
    return MCPError(types.INVALID_PARAMS, f"Outil non autorisé pour cette clé : {name[:100]}")


def build_server(
    deps: ToolDeps,
    profile: Profile,
    sessions: Sessions,
    listen: ListenHandler,
    limiter: ResultLimiter,
    first_list_wait: float = 0.0,
) -> Server[JSONObject]:
    """One profile's tools (the hub's own and upstream ones) and resources."""
    specs = {spec.name: spec for spec in ALL_TOOLS}
    upstreams = profile.upstreams
    waited = anyio.Event()

    async def list_tools(
        ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        remember(sessions, ctx)
        if not waited.is_set():  # stdio one-shot clients: give upstreams a moment to start
            await upstreams.wait_started(first_list_wait)
            waited.set()
        listed = (
            [*profile.pinned(), *META_TOOLS] if profile.search_mode else profile.catalogue().tools()
        )
        return types.ListToolsResult(tools=[t for t in listed if tool_allowed(ctx, t.name)])

    async def run_tool(ctx: Ctx, name: str, arguments: JSONObject) -> types.CallToolResult:
        if not tool_allowed(ctx, name):  # a virtual key's MCP tool patterns
            raise MCPError(
                types.INVALID_PARAMS, f"Outil non autorisé pour cette clé : {name[:100]}"
            )
        entry = profile.catalogue().by_name.get(name)
        if entry is None:
            raise MCPError(types.INVALID_PARAMS, f"Outil inconnu : {name[:100]}")
        if entry.server is None:
            spec = specs[entry.upstream_name]

            async def work() -> JSONObject:
                check_known(spec, arguments)
                # report_progress is a no-op when the client asked for no progress
                return await spec.handler(ToolCall(deps, arguments, ctx.session.report_progress))

            return await _guarded(spec.name, work)
        relay = progress_relay(ctx)
        result = await upstreams.call_on(entry.server, entry.upstream_name, arguments, relay)
        detail: JSONObject = {"server": entry.server, "tool": entry.upstream_name,
                              "profile": profile.name}  # fmt: skip
        return await limiter.apply(result, profile.result_limit(entry.server), entry.tool, detail)

    async def call_tool(ctx: Ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
        refused = invalid_text(params)
        if refused is not None:  # before any tool or upstream runs
            return _failure(refused)
        arguments: JSONObject = dict(params.arguments or {})
        if not (profile.search_mode and params.name in META_NAMES):
            return await run_tool(ctx, params.name, arguments)
        if not tool_allowed(ctx, params.name):
            raise MCPError(
                types.INVALID_PARAMS, f"Outil non autorisé pour cette clé : {params.name}"
            )
        if params.name == discovery.CALL:
            try:
                target, inner = discovery.call_target(arguments)
            except HubError as exc:
                return _failure(exc.message)
            if target in META_NAMES:
                return _failure(f"« {target} » est un méta-outil : l'appeler directement.")
            return await run_tool(ctx, target, inner)
        catalogue = profile.catalogue().restricted(lambda name: tool_allowed(ctx, name))
        handler = discovery.search if params.name == discovery.SEARCH else discovery.describe

        async def meta() -> JSONObject:
            return handler(catalogue, arguments)

        return await _guarded(params.name, meta)

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
            ] + upstreams.list_resources(profile.servers())
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
            return await upstreams.read_resource(params.uri, profile.servers())
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
        return types.ListPromptsResult(prompts=upstreams.list_prompts(profile.servers()))

    async def get_prompt(ctx: Ctx, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        return await upstreams.get_prompt(params.name, params.arguments, profile.servers())

    # Prompts only exist upstream: offer the capability only when the profile has upstreams.
    offer_prompts = bool(profile.servers())
    return ListChangedServer(
        "kimi-proxy-hub",
        version=__version__,
        title="Kimi Proxy Hub",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=refusing_invalid_text(read_resource),
        on_list_prompts=list_prompts if offer_prompts else None,
        on_get_prompt=refusing_invalid_text(get_prompt) if offer_prompts else None,
        on_subscriptions_listen=listen,
    )
