"""The hub as an MCP server for one tool profile: own tools, upstream tools, sessions.

``ProfileServer`` makes one lowlevel ``Server`` per profile (``hub.api.mcp.profiles``
mounts them at ``/mcp`` and ``/profiles/NAME/mcp``, and serves one over stdio for
``kimi-proxy mcp``). A tool that fails answers ``isError`` with a
French message; a malformed request (unknown tool, bad resource URI) is a
JSON-RPC error. Neither ends the MCP session.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import mcp_types as types
from mcp.server import Server
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError

from hub import __version__
from hub.api.mcp.aggregate import UpstreamExtras
from hub.api.mcp.common import (
    Ctx,
    ListChangedServer,
    ResultLimiter,
    Sessions,
    invalid_text,
    mcp_caller,
    progress_relay,
    refusing_invalid_text,
    remember,
)
from hub.api.mcp.definitions import WholeDefinitions
from hub.api.mcp.routing import DownstreamRequester
from hub.api.mcp.tasks import TaskEndpoint, serve_tasks
from hub.api.mcp.updates import ResourceSubscribers
from hub.api.state import HubState
from hub.core.errors import HubError
from hub.core.ids import ascii_int
from hub.core.jsontypes import JSONObject
from hub.features.mcp_hub.forwarding import ResourceAnswer, ToolAnswer
from hub.features.mcp_hub.modern_tasks import ModernTasks
from hub.features.mcp_hub.profiles import Entry, Profile
from hub.features.workspace import WorkspaceError, WorkspaceGuard
from hub.services.access.caller import Caller
from hub.services.access.tool_gate import Door, Runner, ToolGate
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
        workspace: WorkspaceGuard | None = WorkspaceGuard(
            Path(hub.config.mcp.workspace), hub.config.mcp.limits.max_file_bytes
        )
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


class ProfileServer:
    """The handlers of one profile's lowlevel ``Server``: tools, resources, prompts.

    Every tool call, own or upstream, direct or through ``tool_call``, goes through the
    tool gate (``hub.services.access.tool_gate``) with the caller of the request.
    """

    def __init__(
        self,
        deps: ToolDeps,
        door: Door,
        gate: ToolGate,
        sessions: Sessions,
        limiter: ResultLimiter,
        tasks: ModernTasks,
        first_list_wait: float = 0.0,
    ) -> None:
        assert door.profile is not None
        self._deps = deps
        self._door = door
        self._profile: Profile = door.profile
        self._gate = gate
        self._sessions = sessions
        self._limiter = limiter
        self._tasks = tasks
        self._first_list_wait = first_list_wait
        self._specs = {spec.name: spec for spec in ALL_TOOLS}
        self._waited = anyio.Event()
        self._extras = UpstreamExtras(door.profile)

    def build(self, subscribers: ResourceSubscribers) -> Server[JSONObject]:
        # Prompts, completions, logging and subscriptions only exist upstream: offered
        # only when the profile has upstreams.
        extras = self._extras if self._profile.servers() else None
        with warnings.catch_warnings():  # logging/setLevel: deprecated in 2026-07-28, still used
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            server = ListChangedServer(
                "kimi-proxy-hub",
                version=__version__,
                title="Kimi Proxy Hub",
                instructions=INSTRUCTIONS,
                on_list_tools=self.list_tools,
                on_call_tool=self.call_tool,
                on_list_resources=self.list_resources,
                on_list_resource_templates=self.list_templates,
                on_read_resource=refusing_invalid_text(self.read_resource),
                on_list_prompts=self.list_prompts if extras else None,
                on_get_prompt=refusing_invalid_text(extras.get_prompt) if extras else None,
                on_completion=refusing_invalid_text(extras.complete) if extras else None,
                on_set_logging_level=extras.set_level if extras else None,
                on_subscribe_resource=(
                    refusing_invalid_text(subscribers.subscribe) if extras else None
                ),
                on_unsubscribe_resource=(
                    refusing_invalid_text(subscribers.unsubscribe) if extras else None
                ),
                on_subscriptions_listen=subscribers.listen,
            )
        server.middleware.append(WholeDefinitions(self._profile.definitions))
        if extras:
            endpoint = TaskEndpoint(self._tasks, self._profile.servers, self._task_support)
            serve_tasks(server, endpoint, self.call_or_task)
        return server

    def _task_support(self, name: str) -> str | None:
        entry = self._profile.catalogue().by_name.get(name)
        if entry is None or entry.server is None:
            return None
        return self._tasks.router.task_support(entry.server, entry.tool)

    async def list_tools(
        self, ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        remember(self._sessions, ctx)
        profile = self._profile
        if not self._waited.is_set():  # stdio one-shot clients: give upstreams a moment
            await profile.upstreams.wait_started(self._first_list_wait)
            self._waited.set()
        visible = self._gate.visible(mcp_caller(ctx), self._door).tools()
        if profile.search_mode:
            pinned = {tool.name for tool in profile.pinned()}
            visible = [*(tool for tool in visible if tool.name in pinned), *META_TOOLS]
        # sorted: the same list, byte for byte, whatever the upstreams' start order
        ttl = profile.upstreams.ttl_ms("tools", profile.servers())
        return types.ListToolsResult(tools=sorted(visible, key=lambda t: t.name), ttl_ms=ttl)

    async def call_tool(
        self, ctx: Ctx, params: types.CallToolRequestParams
    ) -> types.CallToolResult | types.InputRequiredResult:
        result = await self.call_or_task(ctx, params.model_copy(update={"task": None}))
        assert not isinstance(result, types.CreateTaskResult)  # asked for no task
        return result

    async def call_or_task(self, ctx: Ctx, params: types.CallToolRequestParams) -> ToolAnswer:
        refused = invalid_text(params)
        if refused is not None:  # before any tool or upstream runs
            return _failure(refused)
        arguments: JSONObject = dict(params.arguments or {})
        caller = mcp_caller(ctx)
        if not (self._profile.search_mode and params.name in META_NAMES):
            runner = self._runner(ctx, caller, arguments, params)
            return await self._gate.call(caller, self._door, params.name, runner)
        if params.name == discovery.CALL:
            try:
                target, inner = discovery.call_target(arguments)
            except HubError as exc:
                return _failure(exc.message)
            if target in META_NAMES:
                return _failure(f"« {target} » est un méta-outil : l'appeler directement.")
            runner = self._runner(ctx, caller, inner)
            return await self._gate.call(caller, self._door, target, runner, via=discovery.CALL)
        catalogue = self._gate.visible(caller, self._door)
        handler = discovery.search if params.name == discovery.SEARCH else discovery.describe

        async def meta() -> JSONObject:
            return handler(catalogue, arguments)

        async def run() -> types.CallToolResult:
            return await _guarded(params.name, meta)

        return await self._gate.call_meta(caller, self._door, params.name, run)

    def _runner(
        self,
        ctx: Ctx,
        caller: Caller,
        arguments: JSONObject,
        params: types.CallToolRequestParams | None = None,
    ) -> Runner:
        """What runs a tool once the gate let it through: own tool or upstream;
        ``params``: the client's request, for a 2026-07-28 retry after ``input_required``."""

        async def run(entry: Entry) -> ToolAnswer:
            if entry.server is None:
                spec = self._specs[entry.upstream_name]

                async def work() -> JSONObject:
                    check_known(spec, arguments)
                    # report_progress is a no-op when the client asked for no progress
                    call = ToolCall(self._deps, arguments, ctx.session.report_progress, caller)
                    return await spec.handler(call)

                return await _guarded(spec.name, work)
            profile = self._profile
            relay = progress_relay(ctx)
            requester = DownstreamRequester(ctx)
            result = await profile.upstreams.call_on(
                entry.server, entry.upstream_name, arguments, relay, requester, params
            )
            if isinstance(result, types.CreateTaskResult):
                await self._tasks.router.created(result.task, entry.server, caller.key_id)
            if not isinstance(result, types.CallToolResult):
                return result
            detail: JSONObject = {
                "server": entry.server,
                "tool": entry.upstream_name,
                "profile": profile.name,
            }
            limit = profile.result_limit(entry.server)
            return await self._limiter.apply(result, limit, entry.tool, detail)

        return run

    async def list_resources(
        self, ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        remember(self._sessions, ctx)
        listing = types.Resource(
            name="sessions", uri=SESSIONS_URI, title="Sessions", mime_type="application/json"
        )
        sessions = [
            types.Resource(
                name=f"session-{s.id}",
                uri=f"{SESSIONS_URI}/{s.id}",
                title=s.name,
                mime_type="application/json",
            )
            for s in await self._deps.sessions.list(mcp_caller(ctx))
        ]
        upstream = self._profile.upstreams.list_resources(self._profile.servers())
        return types.ListResourcesResult(resources=[listing, *sessions, *upstream])

    async def list_templates(
        self, ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        template = types.ResourceTemplate(
            name="session",
            uri_template=SESSIONS_URI + "/{id}",
            title="Une session",
            mime_type="application/json",
        )
        servers = self._profile.servers()
        upstream = self._profile.upstreams.list_templates(servers)
        ttl = self._profile.upstreams.ttl_ms("templates", servers)
        return types.ListResourceTemplatesResult(
            resource_templates=[template, *upstream], ttl_ms=ttl
        )

    async def read_resource(
        self, ctx: Ctx, params: types.ReadResourceRequestParams
    ) -> ResourceAnswer:
        if not params.uri.startswith(SESSIONS_URI):
            servers = self._profile.servers()
            return await self._profile.upstreams.read_resource(
                params, servers, DownstreamRequester(ctx)
            )
        session_id, caller = _session_id(params.uri), mcp_caller(ctx)
        if session_id is None:
            sessions = await self._deps.sessions.list(caller)
            data: JSONObject = {"sessions": [s.to_json() for s in sessions]}
        else:
            try:
                await self._deps.sessions.owned(session_id, caller)
                data = await self._deps.stats.session_stats(session_id, last=20)
            except HubError as exc:
                raise MCPError(types.INVALID_PARAMS, exc.message) from None
        text = json.dumps(data, ensure_ascii=False)
        contents = types.TextResourceContents(
            uri=params.uri, mime_type="application/json", text=text
        )
        return types.ReadResourceResult(contents=[contents])

    async def list_prompts(
        self, ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        remember(self._sessions, ctx)
        return await self._extras.list_prompts(ctx, params)
