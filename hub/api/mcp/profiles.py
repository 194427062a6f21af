"""The hub's MCP endpoints: ``/mcp`` (profile ``default``) and ``/profiles/NAME/mcp``.

Every path ends in ``/mcp`` (the MCP Inspector and other clients assume it). Each
profile has its own lowlevel server and session manager; when an upstream's lists
change, a profile announces ``notifications/*/list_changed`` only if what *it* shows
changed, once per change. ``kimi-proxy mcp`` serves one profile over stdio.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

import anyio
from anyio.abc import TaskGroup
from mcp.server import Server
from mcp.server.stdio import stdio_server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.subscriptions import InMemorySubscriptionBus
from mcp.shared.message import SessionMessage
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from hub.api.mcp.common import ResultLimiter, Sessions, announce, dispatch, security_settings
from hub.api.mcp.french_errors import translate_outgoing
from hub.api.mcp.replay import RETRY_MS, ReplayStore
from hub.api.mcp.server import ProfileServer, own_tools, tool_deps
from hub.api.mcp.stdin import reparse_lone_surrogates
from hub.api.mcp.updates import ResourceSubscribers
from hub.api.state import HubState
from hub.config import McpProfileConfig
from hub.core.errors import HubError
from hub.core.jsontypes import JSON, JSONObject
from hub.features.mcp_hub.aggregate import uri_owner
from hub.features.mcp_hub.connection import UpstreamConnection
from hub.features.mcp_hub.profiles import DEFAULT_PROFILE, Profile
from hub.services.access.tool_gate import Door
from tools.discovery import META_TOOLS

Signature = tuple[str, str, str]  # tools, prompts, resources as this profile shows them


def profile_configs(hub: HubState) -> dict[str, McpProfileConfig]:
    configs = dict(hub.config.mcp.profiles)
    configs.setdefault(DEFAULT_PROFILE, McpProfileConfig(DEFAULT_PROFILE))
    return configs


def endpoint_path(profile: str) -> str:
    return "/mcp" if profile == DEFAULT_PROFILE else f"/profiles/{profile}/mcp"


class ProfileEndpoint:
    def __init__(
        self, hub: HubState, config: McpProfileConfig, wait: float = 0.0, path: str | None = None
    ) -> None:
        """``path``: where calls come from, for the audit (default: the HTTP endpoint)."""
        self.profile = Profile(config, hub.upstreams, own_tools())
        self.sessions: Sessions = {}
        self.bus = InMemorySubscriptionBus()  # 2026-07-28 clients: subscriptions/listen
        limiter = ResultLimiter(hub.counter, hub.savings)
        door = Door(path or endpoint_path(config.name), profile=self.profile)
        handlers = ProfileServer(
            tool_deps(hub), door, hub.gate, self.sessions, limiter, hub.tasks, wait
        )
        connections = hub.upstreams.connections

        def owner(uri: str) -> UpstreamConnection | None:
            return uri_owner(connections, self.profile.servers(), uri)

        self.subscribers = ResourceSubscribers(self.sessions, self.bus, owner)
        self.server: Server[JSONObject] = handlers.build(self.subscribers)
        self._seen = self.signature()

    def signature(self) -> Signature:
        upstreams, servers = self.profile.upstreams, self.profile.servers()
        tools = "\n".join(t.model_dump_json() for t in self.profile.catalogue().tools())
        prompts = "\n".join(p.name for p in upstreams.list_prompts(servers))
        resources = "\n".join(str(r.uri) for r in upstreams.list_resources(servers))
        return tools, prompts, resources

    def changed_kinds(self) -> list[str]:
        """What changed since the last announcement (each change is announced once)."""
        current = self.signature()
        kinds = [
            kind
            for kind, before, after in zip(
                ("tools", "prompts", "resources"), self._seen, current, strict=True
            )
            if before != after
        ]
        self._seen = current
        return kinds


@asynccontextmanager
async def announcing(endpoints: Sequence[ProfileEndpoint], hub: HubState) -> AsyncIterator[None]:
    async with anyio.create_task_group() as group:

        def changed() -> None:
            for endpoint in endpoints:
                kinds = endpoint.changed_kinds()
                if kinds:
                    group.start_soon(announce, endpoint.sessions, kinds, endpoint.bus)

        def updated(server: str, uri: str) -> None:
            for endpoint in endpoints:
                if server in endpoint.profile.servers():
                    group.start_soon(endpoint.subscribers.deliver, uri)

        removers = (hub.upstreams.on_change(changed), hub.upstreams.on_resource_updated(updated))
        try:
            yield
        finally:
            for remove in removers:
                remove()
            group.cancel_scope.cancel()


class McpProfiles:
    """The session managers behind ``/mcp`` and ``/profiles/NAME/mcp``."""

    def __init__(self, hub: HubState) -> None:
        self.hub = hub
        self.endpoints = {name: ProfileEndpoint(hub, c) for name, c in profile_configs(hub).items()}
        security = security_settings(hub.config.server)
        self._managers = {
            name: StreamableHTTPSessionManager(
                app=endpoint.server,
                security_settings=security,
                event_store=ReplayStore(),
                retry_interval=RETRY_MS,
                max_request_body_size=hub.config.server.max_body_bytes,
            )
            for name, endpoint in self.endpoints.items()
        }
        self._group: TaskGroup | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[McpProfiles]:
        async with AsyncExitStack() as stack:
            for manager in self._managers.values():
                await stack.enter_async_context(manager.run())
            await stack.enter_async_context(announcing(list(self.endpoints.values()), self.hub))
            yield self

    def describe(self) -> list[JSONObject]:
        """Each profile's endpoint and what it shows (``GET /api/mcp/servers``)."""
        described: list[JSONObject] = []
        for name, endpoint in self.endpoints.items():
            profile = endpoint.profile
            path = endpoint_path(name)
            listed = len(profile.pinned()) + len(META_TOOLS) if profile.search_mode else None
            described.append(
                {
                    "name": name,
                    "endpoint": path,
                    "discovery": profile.config.discovery,
                    "prefix": profile.config.prefix,
                    "servers": list[JSON](profile.servers()),
                    "tools": len(profile.catalogue().entries),
                    "listed": listed,
                    "max_result_tokens": profile.config.max_result_tokens,
                }
            )
        return described

    async def handle(self, name: str, scope: Scope, receive: Receive, send: Send) -> None:
        missing = HubError(
            f"Profil MCP « {name[:100]} » inconnu.", status=404, code="mcp_profile_not_found"
        )
        await dispatch(self._managers, name, missing, scope, receive, send)


@asynccontextmanager
async def serve_http(app: Starlette, hub: HubState) -> AsyncIterator[None]:
    """Run every profile's session manager for the app's lifetime (inside its lifespan)."""
    async with McpProfiles(hub).running() as profiles:
        app.state.mcp = profiles
        yield


class _ProfileApp:
    """An ASGI app (a class, so Starlette does not wrap it as a request handler)."""

    def __init__(self, fixed: str | None = None) -> None:
        self._fixed = fixed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        profiles = scope["app"].state.mcp
        assert isinstance(profiles, McpProfiles)
        name = self._fixed or str(scope["path_params"]["name"])
        await profiles.handle(name, scope, receive, send)


METHODS = ["GET", "POST", "DELETE"]
routes = [
    Route("/mcp", _ProfileApp(DEFAULT_PROFILE)),
    Route("/profiles/{name}/mcp", _ProfileApp(), methods=METHODS),
]


async def serve_stdio(hub: HubState, profile: str = DEFAULT_PROFILE) -> None:
    """``kimi-proxy mcp``: one profile on stdin/stdout (logs go to stderr). The first
    ``tools/list`` waits up to ``[mcp].stdio_wait`` s for upstreams to start."""
    configs = profile_configs(hub)
    if profile not in configs:
        raise HubError(f"Profil MCP « {profile[:100]} » inconnu.", code="mcp_profile_not_found")
    endpoint = ProfileEndpoint(hub, configs[profile], hub.config.mcp.stdio_wait, "stdio")
    sink, lines = anyio.create_memory_object_stream[SessionMessage | Exception]()
    answers, outgoing = anyio.create_memory_object_stream[SessionMessage]()
    async with (
        announcing([endpoint], hub),
        stdio_server() as (read_stream, write_stream),
        anyio.create_task_group() as group,
        lines,
    ):
        group.start_soon(reparse_lone_surrogates, read_stream, sink)
        group.start_soon(translate_outgoing, outgoing, write_stream)  # SDK errors in French
        server = endpoint.server
        async with answers:
            await server.run(lines, answers, server.create_initialization_options())
        group.cancel_scope.cancel()  # stdin is closed by now; never wait on it
