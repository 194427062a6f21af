"""Requests forwarded to one upstream, each in the era its caller speaks where it can.

An HTTP upstream that speaks 2026-07-28 gets a second, 2025-era session too: a client of
the older era is then served as it would be directly (same tools, server-to-client
requests on its call). Where the caller's era is missing upstream, the hub translates:
a 2026-07-28 upstream's ``input_required`` rounds are run through an older client by the
SDK's ``Client`` (its callbacks reach the caller), and a 2026-07-28 caller receives them
as they are, ``requestState`` untouched, and comes back with its answers (in its ``request``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mcp_types as types
from mcp.client import Client
from mcp.shared.dispatcher import ProgressFnT
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from hub.core.jsontypes import JSONObject
from hub.features.mcp_hub.raw_requests import call_as_task, runs_tasks, speaks_extension
from hub.features.mcp_hub.requesters import Requester

ToolAnswer = types.CallToolResult | types.InputRequiredResult | types.CreateTaskResult
PromptAnswer = types.GetPromptResult | types.InputRequiredResult
ResourceAnswer = types.ReadResourceResult | types.InputRequiredResult


def is_modern(client: Client) -> bool:
    return client.protocol_version in MODERN_PROTOCOL_VERSIONS


async def ping(client: Client) -> None:
    """``ping`` does not exist in 2026-07-28: ``server/discover`` is the cheap round trip."""
    if is_modern(client):
        await client.session.send_discover(client.protocol_version)
    else:
        await client.session.send_ping()


@dataclass
class UpstreamClients:
    main: Client  # negotiated in auto mode
    legacy: Client | None = None  # a 2025-era session beside a 2026-07-28 one (HTTP)
    legacy_tools: frozenset[str] = field(default_factory=frozenset)

    def for_caller(self, caller: Requester | None, tool: str | None = None) -> Client:
        """The session of the caller's era when there is one (a tool the older era lacks
        stays on the main session, whose rounds the SDK runs through the caller)."""
        legacy_caller = caller is not None and not caller.modern
        if self.legacy is not None and legacy_caller:
            if tool is None or tool in self.legacy_tools:
                return self.legacy
        return self.main

    @property
    def tasker(self) -> Client | None:
        """The session that runs tasks: 2025 tasks, else the 2026 extension; None."""
        classic = self.classic
        if classic is not None and runs_tasks(classic):
            return classic
        return self.main if speaks_extension(self.main) else None

    @property
    def classic(self) -> Client | None:
        """The round's 2025-era session: ``resources/subscribe`` and 2025 tasks live there."""
        if self.legacy is not None:
            return self.legacy
        return None if is_modern(self.main) else self.main

    def relays_rounds(self, client: Client, caller: Requester | None) -> bool:
        """``input_required`` goes to the caller as it is (it speaks 2026-07-28 too)."""
        return caller is not None and caller.modern and is_modern(client)


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: JSONObject | None
    progress: ProgressFnT | None
    caller: Requester | None
    # the client's request as it came: a 2026-07-28 retry's answers, a 2025 ``task``
    request: types.CallToolRequestParams | None


async def call_tool(clients: UpstreamClients, call: ToolCall) -> ToolAnswer:
    request = call.request
    tasker = clients.tasker
    if request is not None and request.task is not None and tasker is not None:
        return await call_as_task(tasker, call.name, call.arguments, request.task)
    # no tasks upstream: the task is ignored, as a server without tasks does
    client = clients.for_caller(call.caller, call.name)
    if not clients.relays_rounds(client, call.caller):
        return await client.call_tool(call.name, call.arguments, progress_callback=call.progress)
    resumed = request if request and (request.input_responses or request.request_state) else None
    result = await client.session.call_tool(
        call.name,
        call.arguments,
        progress_callback=call.progress,
        input_responses=resumed.input_responses if resumed else None,
        request_state=resumed.request_state if resumed else None,
        allow_input_required=True,
    )
    if isinstance(result, types.CallToolResult | types.InputRequiredResult):
        return result
    return types.CallToolResult(
        content=[types.TextContent(text=f"Résultat inattendu de « {call.name[:100]} ».")],
        is_error=True,
    )


async def get_prompt(
    clients: UpstreamClients, params: types.GetPromptRequestParams, caller: Requester | None
) -> PromptAnswer:
    client = clients.for_caller(caller)
    if not clients.relays_rounds(client, caller):
        return await client.get_prompt(params.name, params.arguments)
    return await client.session.get_prompt(
        params.name,
        params.arguments,
        input_responses=params.input_responses,
        request_state=params.request_state,
        allow_input_required=True,
    )


async def read_resource(
    clients: UpstreamClients, params: types.ReadResourceRequestParams, caller: Requester | None
) -> ResourceAnswer:
    client = clients.for_caller(caller)
    if not clients.relays_rounds(client, caller):
        return await client.read_resource(params.uri)
    return await client.session.read_resource(
        params.uri,
        input_responses=params.input_responses,
        request_state=params.request_state,
        allow_input_required=True,
    )
