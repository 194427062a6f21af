"""What the MCP endpoints share: Host/Origin policy, list_changed plumbing, result limits."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

import anyio
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.models import InitializationOptions
from mcp.server.session import ServerSession
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.subscriptions import (
    PromptsListChanged,
    ResourcesListChanged,
    ServerEvent,
    SubscriptionBus,
    ToolsListChanged,
)
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.dispatcher import ProgressFnT
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from hub.api.errors import error_response
from hub.api.middleware.auth import caller_of
from hub.config import ServerConfig
from hub.core.errors import HubError, invalid_unicode
from hub.core.jsontypes import JSONObject, has_lone_surrogate
from hub.core.tokens import TokenCounter
from hub.features.mcp_hub.raw_requests import EXTENSION
from hub.features.mcp_hub.result_limits import limit_result
from hub.services.access.caller import STDIO, Caller
from hub.services.savings.service import SavingsService

Sessions = dict[str, ServerSession]  # MCP session id -> its latest per-request session
MAX_TRACKED = 256
NOTIFY_TIMEOUT = 5.0
STDIO_SESSION = "stdio"
logger = logging.getLogger(__name__)
Ctx = ServerRequestContext[JSONObject, object]
ParamsT = TypeVar("ParamsT", bound=BaseModel | None)
ResultT = TypeVar("ResultT")


def security_settings(server: ServerConfig) -> TransportSecuritySettings:
    """Off in the SDK: ``hub.api.middleware.browser_guard`` applies one Host/Origin policy to every
    route, ``/mcp`` included, before the SDK sees the request."""
    return TransportSecuritySettings(enable_dns_rebinding_protection=False)


TASKS = types.ServerTasksCapability(
    list=types.TasksListCapability(),
    cancel=types.TasksCancelCapability(),
    requests=types.ServerTasksRequestsCapability(
        tools=types.TasksToolsCapability(call=types.TasksCallCapability())
    ),
)


class ListChangedServer(Server[JSONObject]):
    """Advertises ``listChanged``: upstream list changes are announced to clients; and
    tasks while ``offers_tasks()`` (an upstream behind runs them): the ``tasks``
    capability in the 2025 era, the tasks extension in 2026-07-28."""

    offers_tasks: Callable[[], bool] | None = None

    def get_capabilities(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, object]] | None = None,
        extensions: dict[str, dict[str, object]] | None = None,
        *,
        protocol_version: str | None = None,
    ) -> types.ServerCapabilities:
        served = super().get_capabilities(
            notification_options,
            experimental_capabilities,
            extensions,
            protocol_version=protocol_version,
        )
        if self.offers_tasks is None or not self.offers_tasks():
            return served
        if protocol_version in MODERN_PROTOCOL_VERSIONS:
            extensions = {**(served.extensions or {}), EXTENSION: {}}
            return served.model_copy(update={"extensions": extensions})
        return served.model_copy(update={"tasks": TASKS})

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, object]] | None = None,
        extensions: dict[str, dict[str, object]] | None = None,
    ) -> InitializationOptions:
        return super().create_initialization_options(
            notification_options or NotificationOptions(True, True, True),
            experimental_capabilities,
            extensions,
        )


def progress_relay(ctx: Ctx) -> ProgressFnT | None:
    """Relay progress to the client, or None when it did not ask (upstreams then send none)."""
    if not (ctx.meta and ctx.meta.get("progress_token") is not None):
        return None

    async def relay(progress: float, total: float | None, message: str | None) -> None:
        await ctx.session.report_progress(progress, total, message)

    return relay


def remember(sessions: Sessions, ctx: Ctx) -> None:
    """Keep the client's session so list changes can be announced on its standalone stream."""
    request = ctx.request
    if isinstance(request, Request):
        session_id = request.headers.get("mcp-session-id")
    else:
        session_id = STDIO_SESSION  # one client per stdio process
    if session_id:
        sessions.pop(session_id, None)
        sessions[session_id] = ctx.session
        if len(sessions) > MAX_TRACKED:
            sessions.pop(next(iter(sessions)))


LIST_EVENTS: dict[str, ServerEvent] = {
    "tools": ToolsListChanged(),
    "prompts": PromptsListChanged(),
    "resources": ResourcesListChanged(),
}


async def announce(
    sessions: Sessions, kinds: Sequence[str], bus: SubscriptionBus | None = None
) -> None:
    """Send ``notifications/<kind>/list_changed`` to every remembered session, and to the
    ``subscriptions/listen`` streams of 2026-07-28 clients (they have no standalone stream)."""
    if bus is not None:
        for kind in kinds:
            await bus.publish(LIST_EVENTS[kind])
    senders = {
        "tools": ServerSession.send_tool_list_changed,
        "prompts": ServerSession.send_prompt_list_changed,
        "resources": ServerSession.send_resource_list_changed,
    }
    for session_id, session in list(sessions.items()):
        try:
            with anyio.fail_after(NOTIFY_TIMEOUT):
                for kind in kinds:
                    await senders[kind](session)
        except Exception:  # a gone or stuck client must not take the hub down with it
            logger.debug("annonce list_changed impossible (%s)", session_id, exc_info=True)
            sessions.pop(session_id, None)


def mcp_caller(ctx: Ctx) -> Caller:
    """The caller behind an MCP request: its HTTP door's key, or the stdio user."""
    return caller_of(ctx.request) if isinstance(ctx.request, Request) else STDIO


def invalid_text(params: BaseModel | None) -> str | None:
    """French message when a request's params hold a lone UTF-16 half (``"\\ud800"``) in
    a name, URI, argument or key, at any depth, else None.

    The 2026-07-28 HTTP transport parses with ``json.loads``, which lets it through: a
    tool would fail later (UnicodeEncodeError writing a file or a row), an upstream
    call with a 500. Tool calls answer ``isError`` (as any invalid argument), the rest
    ``INVALID_PARAMS`` (``refusing_invalid_text``); nothing runs either way.
    """
    if params is None or not has_lone_surrogate(params.model_dump()):
        return None
    return invalid_unicode().message


def refusing_invalid_text(
    handler: Callable[[Ctx, ParamsT], Awaitable[ResultT]],
) -> Callable[[Ctx, ParamsT], Awaitable[ResultT]]:
    """``handler``, refusing params with a lone UTF-16 half (JSON-RPC ``INVALID_PARAMS``)."""

    async def checked(ctx: Ctx, params: ParamsT) -> ResultT:
        message = invalid_text(params)
        if message is not None:
            raise MCPError(types.INVALID_PARAMS, message)
        return await handler(ctx, params)

    return checked


class ResultLimiter:
    """Masks upstream tool results over their token limit; originals go to the MaskStore."""

    def __init__(self, counter: TokenCounter, savings: SavingsService) -> None:
        self._counter = counter
        self._savings = savings

    async def apply(
        self, result: types.CallToolResult, limit: int | None, tool: types.Tool, detail: JSONObject
    ) -> types.CallToolResult:
        if limit is None or result.is_error:
            return result
        schema: JSONObject | None = dict(tool.output_schema) if tool.output_schema else None
        limited = await limit_result(result, limit, self._counter, schema, self._savings.wording)
        if limited.masked:
            await self._savings.keep_masked(limited.masked, {**detail, "source": "mcp"})
        return limited.result


async def dispatch(
    managers: Mapping[str, StreamableHTTPSessionManager],
    name: str,
    missing: HubError,
    scope: Scope,
    receive: Receive,
    send: Send,
) -> None:
    """Hand the request to ``name``'s session manager, or answer ``missing`` (404 JSON)."""
    manager = managers.get(name)
    if manager is None:
        await error_response(missing)(scope, receive, send)
        return
    await manager.handle_request(scope, receive, send)
