"""``UpstreamHub``: every upstream server behind one set of tools, prompts and resources.

Upstream tools are listed as ``NAME__tool`` (schema, annotations and description kept);
a call on that name is forwarded to upstream NAME's ``tool``. ``on_change`` listeners
run (synchronously) whenever the aggregated lists change, so an MCP server can send
``notifications/tools/list_changed``; ``on_status`` gets each server's status JSON.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping
from contextlib import asynccontextmanager

import anyio
import mcp_types as types
from mcp.shared.dispatcher import ProgressFnT
from mcp.shared.exceptions import MCPError

from hub.config import McpLimits, McpServerConfig
from hub.core.jsontypes import JSONObject
from hub.features.mcp_hub.aggregate import uri_owner
from hub.features.mcp_hub.connection import (
    SupervisorSettings,
    UpstreamConnection,
    UpstreamUnavailable,
    error_result,
)
from hub.features.mcp_hub.forwarding import PromptAnswer, ResourceAnswer, ToolAnswer
from hub.features.mcp_hub.isolation import ClientChildren
from hub.features.mcp_hub.naming import prefixed, server_name_problem, split_prefixed
from hub.features.mcp_hub.requesters import Requester
from hub.features.mcp_hub.rounds import RoundBridge
from hub.features.mcp_hub.status import ServerState, ServerStatus
from hub.features.mcp_hub.token_vault import TokenVault

logger = logging.getLogger(__name__)

StatusListener = Callable[[JSONObject], None]


class UpstreamHub:
    def __init__(
        self,
        servers: Mapping[str, McpServerConfig],
        settings: SupervisorSettings | None = None,
        on_status: StatusListener | None = None,
        limits: McpLimits | None = None,
        vault: TokenVault | None = None,
    ) -> None:
        self.settings = settings or SupervisorSettings()
        self.limits = limits or McpLimits()
        self._on_status = on_status
        self._listeners: list[Callable[[], None]] = []
        self._updates: list[Callable[[str, str], None]] = []
        self.rounds = RoundBridge()  # 2026 clients' calls to 2025 upstreams that ask
        self.generation = 0  # bumped whenever a list changes: views cache on it
        self._published: dict[str, JSONObject] = {}  # last status sent per server
        self.connections: dict[str, UpstreamConnection] = {}
        self.isolated: dict[str, ClientChildren] = {}  # isolation "per-client", by server
        self.invalid: dict[str, tuple[str, str]] = {}  # name -> (transport, why never started)
        for name, config in servers.items():
            problem = server_name_problem(name)
            if problem:
                self.invalid[name] = ("http" if config.url else "stdio", problem)
                continue
            connection = UpstreamConnection(
                config, self.settings, self._changed, self.limits, vault, self._updated, self.rounds
            )
            self.connections[name] = connection
            if config.isolation == "per-client" and config.enabled:
                self.isolated[name] = ClientChildren(
                    config, self.settings, connection.status, self.limits
                )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[UpstreamHub]:
        """Supervise every upstream until the block exits; then stop every child."""
        async with self.rounds.running(), anyio.create_task_group() as group:
            for connection in self.connections.values():
                group.start_soon(connection.run)
            for children in self.isolated.values():
                group.start_soon(children.run)
            try:
                yield self
            finally:
                group.cancel_scope.cancel()

    # -- change notification ---------------------------------------------------------

    def on_change(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener()`` whenever the aggregated lists change; returns the remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def on_resource_updated(self, listener: Callable[[str, str], None]) -> Callable[[], None]:
        """Call ``listener(server, uri)`` when a subscribed resource changes upstream."""
        self._updates.append(listener)
        return lambda: self._updates.remove(listener) if listener in self._updates else None

    def _updated(self, server: str, uri: str) -> None:
        for listener in list(self._updates):
            try:
                listener(server, uri)
            except Exception:  # one endpoint's bug must not keep the others uninformed
                logger.exception("écouteur de mises à jour de ressources en échec")

    def _changed(self, connection: UpstreamConnection, lists_changed: bool) -> None:
        status = connection.status.to_json()
        if self._on_status is not None and self._published.get(connection.config.name) != status:
            self._published[connection.config.name] = status  # one event per actual change
            self._on_status(status)
        if lists_changed:
            self.generation += 1
            for listener in list(self._listeners):
                try:
                    listener()
                except Exception:  # a listener's bug must not look like an upstream fault
                    logger.exception("écouteur on_change du hub MCP en échec")

    def ttl_ms(self, kind: str, servers: Iterable[str]) -> int:
        """How long a client may keep a ``kind`` list made of ``servers``' lists: the
        shortest any of them allows (0 when one said nothing, or has no list now)."""
        return min(
            (self.connections[n].ttl_ms.get(kind, 0) for n in servers if n in self.connections),
            default=0,
        )

    def answer_sign_in(
        self, state: str, code: str | None, iss: str | None, error: str | None
    ) -> str | None:
        """An authorization response reached ``/oauth/callback``: the server whose pending
        sign-in sent ``state``, None if none did (stale, forged or already used)."""
        for name, connection in self.connections.items():
            if connection.sign_in.answer(state, code, iss, error):
                return name
        return None

    # -- status ----------------------------------------------------------------------

    def statuses(self) -> list[JSONObject]:
        result = [c.status.to_json() for c in self.connections.values()]
        for name, (transport, reason) in self.invalid.items():
            status = ServerStatus(name, transport, ServerState.DOWN, last_error=reason)
            result.append(status.to_json())
        return result

    def get(self, name: str) -> UpstreamConnection | None:
        return self.connections.get(name)

    # -- tools -----------------------------------------------------------------------

    def list_tools(self) -> list[types.Tool]:
        return [
            tool.model_copy(update={"name": prefixed(name, tool.name)})
            for name, connection in self.connections.items()
            for tool in connection.tools
        ]

    def _route(self, name: str, kind: str) -> tuple[UpstreamConnection, str]:
        parts = split_prefixed(name)
        connection = self.connections.get(parts[0]) if parts else None
        if parts is None or connection is None:
            raise MCPError(types.INVALID_PARAMS, f"{kind} inconnu : « {name[:200]} »")
        return connection, parts[1]

    async def call_tool(
        self,
        name: str,
        arguments: JSONObject | None = None,
        progress_callback: ProgressFnT | None = None,
    ) -> ToolAnswer:
        """Forward ``NAME__tool``. Unknown name: MCPError; upstream down or slow: isError."""
        connection, tool = self._route(name, "outil")
        return await self.call_on(connection.config.name, tool, arguments, progress_callback)

    async def call_on(
        self,
        server: str,
        tool: str,
        arguments: JSONObject | None = None,
        progress_callback: ProgressFnT | None = None,
        caller: Requester | None = None,
        request: types.CallToolRequestParams | None = None,
    ) -> ToolAnswer:
        """Forward ``tool`` to upstream ``server`` (profiles that drop the prefix use this)
        for ``caller``; ``request``: its own (round answers, a task)."""
        connection = self.connections.get(server)
        try:
            # an empty list (server down, every tool denied) forwards nothing either
            if connection is None or not any(t.name == tool for t in connection.tools):
                if connection is not None:
                    connection.connected()  # down: say so rather than "unknown"
                raise MCPError(types.INVALID_PARAMS, f"outil inconnu : « {server}__{tool[:200]} »")
            async with self.serving(connection, caller) as serving:
                return await serving.call_tool(tool, arguments, progress_callback, caller, request)
        except UpstreamUnavailable as exc:
            return error_result(f"Appel impossible : {exc}.")

    @asynccontextmanager
    async def serving(
        self, connection: UpstreamConnection, caller: Requester | None
    ) -> AsyncIterator[UpstreamConnection]:
        """The connection that serves ``caller``: its own child where the server is
        per-client, else the shared one (also for a call with no known client)."""
        children = self.isolated.get(connection.config.name)
        if children is None or caller is None:
            yield connection
            return
        async with children.serving(caller.client_key) as own:
            yield own

    async def wait_started(self, limit: float) -> None:
        """Until every enabled upstream is ready or has failed once, at most ``limit`` s."""
        with anyio.move_on_after(limit):
            for connection in self.connections.values():
                await connection.wait_settled()

    # -- prompts and resources ---------------------------------------------------------

    def _selected(self, servers: Collection[str] | None) -> list[tuple[str, UpstreamConnection]]:
        return [(n, c) for n, c in self.connections.items() if servers is None or n in servers]

    def list_prompts(self, servers: Collection[str] | None = None) -> list[types.Prompt]:
        return [
            prompt.model_copy(update={"name": prefixed(name, prompt.name)})
            for name, connection in self._selected(servers)
            for prompt in connection.prompts
        ]

    async def get_prompt(
        self,
        params: types.GetPromptRequestParams,
        servers: Collection[str] | None = None,
        caller: Requester | None = None,
    ) -> PromptAnswer:
        connection, prompt = self._route(params.name, "prompt")
        if servers is not None and connection.config.name not in servers:
            raise MCPError(types.INVALID_PARAMS, f"prompt inconnu : « {params.name[:200]} »")
        try:
            async with self.serving(connection, caller) as serving:
                return await serving.get_prompt(params.model_copy(update={"name": prompt}), caller)
        except UpstreamUnavailable as exc:
            raise MCPError(types.INTERNAL_ERROR, str(exc)) from None

    def list_resources(self, servers: Collection[str] | None = None) -> list[types.Resource]:
        """Resources keep their URI (clients follow it); the owning server is found by URI."""
        return [r for _, c in self._selected(servers) for r in c.resources]

    async def read_resource(
        self,
        params: types.ReadResourceRequestParams,
        servers: Collection[str] | None = None,
        caller: Requester | None = None,
    ) -> ResourceAnswer:
        """The server that lists the URI, else one whose template matches it, reads it."""
        owner = uri_owner(self.connections, self._names(servers), params.uri)
        if owner is None:
            raise MCPError(types.INVALID_PARAMS, f"ressource inconnue : « {params.uri[:200]} »")
        try:
            async with self.serving(owner, caller) as serving:
                return await serving.read_resource(params, caller)
        except UpstreamUnavailable as exc:
            raise MCPError(types.INTERNAL_ERROR, str(exc)) from None

    def list_templates(
        self, servers: Collection[str] | None = None
    ) -> list[types.ResourceTemplate]:
        return [t for _, c in self._selected(servers) for t in c.templates]

    def _names(self, servers: Collection[str] | None) -> list[str]:
        return [name for name, _ in self._selected(servers)]
