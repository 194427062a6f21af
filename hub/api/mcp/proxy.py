"""``/servers/NAME/mcp``: each upstream MCP server alone, unprefixed, over Streamable HTTP.

One lowlevel ``mcp.server.Server`` per upstream forwards tools, prompts and resources
to that upstream's live connection; one session manager per upstream runs for the
hub's lifetime. A server's ``max_result_tokens`` applies here too.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial

import anyio
import mcp_types as types
from anyio.abc import TaskGroup
from mcp.client import Client
from mcp.server import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.subscriptions import InMemorySubscriptionBus
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from hub.api.mcp.common import (
    Ctx,
    ResultLimiter,
    Sessions,
    announce,
    dispatch,
    invalid_text,
    mcp_caller,
    progress_relay,
    refusing_invalid_text,
    remember,
    security_settings,
)
from hub.api.mcp.definitions import WholeDefinitions
from hub.api.mcp.mirror import MirrorServer
from hub.api.mcp.replay import RETRY_MS, ReplayStore
from hub.api.mcp.routing import DownstreamRequester
from hub.api.mcp.tasks import TaskEndpoint, TaskSupport, serve_tasks
from hub.api.mcp.updates import ResourceSubscribers
from hub.api.state import HubState
from hub.core.errors import HubError
from hub.core.jsontypes import JSONObject
from hub.features.mcp_hub import UpstreamConnection, UpstreamHub
from hub.features.mcp_hub.connection import UpstreamUnavailable, error_result
from hub.features.mcp_hub.forwarding import PromptAnswer, ResourceAnswer, is_modern
from hub.features.mcp_hub.isolation import Serving
from hub.features.mcp_hub.modern_tasks import ModernTasks
from hub.features.mcp_hub.profiles import Entry
from hub.services.access.tool_gate import CallResult, Door, ToolGate

MAX_BODY = 4 * 1024 * 1024
KINDS = ("tools", "prompts", "resources")
logger = logging.getLogger(__name__)


def _unavailable(exc: UpstreamUnavailable) -> MCPError:
    return MCPError(types.INTERNAL_ERROR, str(exc))


def proxy_server(
    connection: UpstreamConnection,
    serving: Serving,
    sessions: Sessions,
    limiter: ResultLimiter,
    subscribers: ResourceSubscribers,
    gate: ToolGate,
    tasks: ModernTasks,
) -> Server[JSONObject]:
    """A server whose every answer comes from ``connection``'s upstream, its tools through
    the tool gate like any door; changes reach 2026-07-28 clients through
    ``subscribers.listen`` (``subscriptions/listen``)."""
    name = connection.config.name
    door = Door(f"/servers/{name}/mcp", server=name)

    async def list_tools(
        ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        remember(sessions, ctx)
        tools = gate.visible(mcp_caller(ctx), door).tools()
        return types.ListToolsResult(
            tools=sorted(tools, key=lambda t: t.name), ttl_ms=connection.ttl_ms.get("tools", 0)
        )

    async def call_or_task(ctx: Ctx, params: types.CallToolRequestParams) -> CallResult:
        refused = invalid_text(params)
        if refused is not None:  # the upstream never sees it
            return error_result(refused)
        requester = DownstreamRequester(ctx)
        caller = mcp_caller(ctx)

        async def run(entry: Entry) -> CallResult:
            try:
                async with serving(connection, requester) as own:
                    relay = progress_relay(ctx)
                    result = await own.call_tool(
                        entry.upstream_name, params.arguments, relay, requester, params
                    )
            except UpstreamUnavailable as exc:
                return error_result(f"Appel impossible : {exc}.")
            if isinstance(result, types.CreateTaskResult):
                await tasks.router.created(result.task, name, caller.key_id)
            limit = connection.config.max_result_tokens
            if limit is None or not isinstance(result, types.CallToolResult):
                return result
            detail: JSONObject = {"server": name, "tool": entry.upstream_name}
            return await limiter.apply(result, limit, entry.tool, detail)

        return await gate.call(caller, door, params.name, run)

    async def call_tool(
        ctx: Ctx, params: types.CallToolRequestParams
    ) -> types.CallToolResult | types.InputRequiredResult:
        result = await call_or_task(ctx, params.model_copy(update={"task": None}))
        assert not isinstance(result, types.CreateTaskResult)  # asked for no task
        return result

    async def list_prompts(
        ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        remember(sessions, ctx)
        return types.ListPromptsResult(
            prompts=connection.prompts, ttl_ms=connection.ttl_ms.get("prompts", 0)
        )

    async def get_prompt(ctx: Ctx, params: types.GetPromptRequestParams) -> PromptAnswer:
        caller = DownstreamRequester(ctx)
        try:
            async with serving(connection, caller) as own:
                return await own.get_prompt(params, caller)
        except UpstreamUnavailable as exc:
            raise _unavailable(exc) from None

    async def list_resources(
        ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        remember(sessions, ctx)
        return types.ListResourcesResult(
            resources=connection.resources, ttl_ms=connection.ttl_ms.get("resources", 0)
        )

    async def read_resource(ctx: Ctx, params: types.ReadResourceRequestParams) -> ResourceAnswer:
        caller = DownstreamRequester(ctx)
        try:
            async with serving(connection, caller) as own:
                return await own.read_resource(params, caller)
        except UpstreamUnavailable as exc:
            raise _unavailable(exc) from None

    async def list_templates(
        ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        cursor = params.cursor if params else None
        return await _upstream(connection, ctx).list_resource_templates(cursor=cursor)

    async def complete(ctx: Ctx, params: types.CompleteRequestParams) -> types.CompleteResult:
        argument = {"name": params.argument.name, "value": params.argument.value}
        context = params.context.arguments if params.context else None
        return await _upstream(connection, ctx).complete(params.ref, argument, context)

    async def set_level(ctx: Ctx, params: types.SetLevelRequestParams) -> types.EmptyResult:
        # One upstream session serves every downstream client: the last level set wins.
        client = _upstream(connection, ctx)
        if is_modern(client):  # no such request in 2026-07-28: levels go per request
            return types.EmptyResult()
        request = types.SetLevelRequest(params=types.SetLevelRequestParams(level=params.level))
        return await client.session.send_request(request, types.EmptyResult)

    with warnings.catch_warnings():  # logging/setLevel is deprecated in 2026-07-28, still used
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        server = MirrorServer(
            connection.config.name,
            on_list_tools=list_tools,
            on_call_tool=call_tool,
            on_list_prompts=list_prompts,
            on_get_prompt=refusing_invalid_text(get_prompt),
            on_list_resources=list_resources,
            on_read_resource=refusing_invalid_text(read_resource),
            on_list_resource_templates=refusing_invalid_text(list_templates),
            on_subscribe_resource=refusing_invalid_text(subscribers.subscribe),
            on_unsubscribe_resource=refusing_invalid_text(subscribers.unsubscribe),
            on_completion=refusing_invalid_text(complete),
            on_set_logging_level=set_level,
            on_subscriptions_listen=subscribers.listen,
        )
    server.mirrored = connection
    server.middleware.append(
        WholeDefinitions(lambda kind: partial(connection.definitions.get, kind))
    )
    serve_tasks(
        server, TaskEndpoint(tasks, lambda: (name,), _task_support(connection, tasks)), call_or_task
    )
    return server


def _task_support(connection: UpstreamConnection, tasks: ModernTasks) -> TaskSupport:
    def support(name: str) -> str | None:
        tool = next((t for t in connection.tools if t.name == name), None)
        return tasks.router.task_support(connection.config.name, tool) if tool else None

    return support


def _always(connection: UpstreamConnection) -> Callable[[str], UpstreamConnection]:
    """Every URI on ``/servers/NAME/mcp`` belongs to NAME."""
    return lambda uri: connection


def _upstream(connection: UpstreamConnection, ctx: Ctx) -> Client:
    """The upstream session of the caller's era (a 2025-era client's ``logging/setLevel``
    and subscriptions do not exist in 2026-07-28)."""
    try:
        return connection.clients().for_caller(DownstreamRequester(ctx))
    except UpstreamUnavailable as exc:
        raise _unavailable(exc) from None


class UpstreamEndpoints:
    """The session managers behind ``/servers/NAME/mcp``, one per configured upstream."""

    def __init__(
        self,
        upstreams: UpstreamHub,
        security: TransportSecuritySettings,
        limiter: ResultLimiter,
        gate: ToolGate,
        tasks: ModernTasks,
    ) -> None:
        self._upstreams = upstreams
        self._sessions: dict[str, Sessions] = {}
        self._buses: dict[str, InMemorySubscriptionBus] = {}
        self._subscribers: dict[str, ResourceSubscribers] = {}
        self._managers: dict[str, StreamableHTTPSessionManager] = {}
        for name, connection in upstreams.connections.items():
            sessions: Sessions = {}
            self._sessions[name] = sessions
            bus = self._buses[name] = InMemorySubscriptionBus()
            subscribers = ResourceSubscribers(sessions, bus, _always(connection))
            self._subscribers[name] = subscribers
            self._managers[name] = StreamableHTTPSessionManager(
                app=proxy_server(
                    connection, upstreams.serving, sessions, limiter, subscribers, gate, tasks
                ),
                security_settings=security,
                event_store=ReplayStore(),
                retry_interval=RETRY_MS,
                max_request_body_size=MAX_BODY,
            )
        self._seen = self._lists()
        self._group: TaskGroup | None = None

    def _lists(self) -> dict[str, tuple[str, str, str]]:
        """What each upstream shows, as text: a relist with the same content is no change."""

        def text(items: Sequence[BaseModel]) -> str:
            return "\n".join(item.model_dump_json() for item in items)

        return {
            name: (text(c.tools), text(c.prompts), text(c.resources))
            for name, c in self._upstreams.connections.items()
        }

    @asynccontextmanager
    async def running(self) -> AsyncIterator[UpstreamEndpoints]:
        async with AsyncExitStack() as stack:
            for manager in self._managers.values():
                await stack.enter_async_context(manager.run())
            self._group = await stack.enter_async_context(anyio.create_task_group())
            stack.callback(self._group.cancel_scope.cancel)
            stack.callback(self._upstreams.on_change(self._changed))
            stack.callback(self._upstreams.on_resource_updated(self._updated))
            yield self

    def _changed(self) -> None:
        lists = self._lists()
        for name, current in lists.items():
            before = self._seen.get(name)
            if before is not None and self._group is not None:
                kinds = [k for k, a, b in zip(KINDS, before, current, strict=True) if a != b]
                if kinds:
                    self._group.start_soon(self._announce, name, kinds)
        self._seen = lists

    def _updated(self, server: str, uri: str) -> None:
        if self._group is not None and server in self._subscribers:
            self._group.start_soon(self._subscribers[server].deliver, uri)

    async def _announce(self, name: str, kinds: list[str]) -> None:
        await announce(self._sessions[name], kinds, self._buses[name])

    async def handle(self, name: str, scope: Scope, receive: Receive, send: Send) -> None:
        missing = HubError(
            f"Serveur MCP « {name[:100]} » inconnu.", status=404, code="mcp_server_not_found"
        )
        await dispatch(self._managers, name, missing, scope, receive, send)


@asynccontextmanager
async def serve_http(app: Starlette, hub: HubState) -> AsyncIterator[None]:
    """Run the upstreams' session managers for the app's lifetime (inside its lifespan)."""
    limiter = ResultLimiter(hub.counter, hub.savings)
    security = security_settings(hub.config.server)
    endpoints = UpstreamEndpoints(hub.upstreams, security, limiter, hub.gate, hub.tasks)
    async with endpoints.running():
        app.state.mcp_servers = endpoints
        yield


class _ProxyApp:
    """An ASGI app (not a function) so Starlette's Route passes it scope/receive/send."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoints = scope["app"].state.mcp_servers
        assert isinstance(endpoints, UpstreamEndpoints)
        await endpoints.handle(str(scope["path_params"]["name"]), scope, receive, send)


routes = [Route("/servers/{name}/mcp", endpoint=_ProxyApp(), methods=["GET", "POST", "DELETE"])]
