"""The downstream client of one MCP request, as upstream calls see it (``Requester``).

Requests an upstream makes while serving the call (sampling, elicitation, roots) go
to this client on the stream of its own request, and so do the upstream's log lines.
A client that cannot take a request (2026-07-28 clients have no server-to-client
requests; a transport without a back channel) answers with an error the upstream
reads as a refusal, never a hang.
"""

from __future__ import annotations

from typing import TypeVar

import mcp_types as types
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp.shared.exceptions import MCPError
from mcp.shared.message import ServerMessageMetadata
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel
from starlette.requests import Request

from hub.api.mcp.common import Ctx, mcp_caller
from hub.core.jsontypes import JSONObject
from hub.features.mcp_hub.requesters import SamplingAnswer

LOG_LEVELS: tuple[types.LoggingLevel, ...] = (
    "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency",
)  # fmt: skip
DEFAULT_LOG_LEVEL: types.LoggingLevel = "debug"  # 2025-era: every level until setLevel
ResultT = TypeVar("ResultT", bound=BaseModel)


def _level(value: object) -> types.LoggingLevel | None:
    return next((level for level in LOG_LEVELS if level == value), None)


def client_key(ctx: Ctx) -> str:
    """A 2025-era HTTP client is its MCP session; a 2026-07-28 one (no session) its virtual
    key (the admin and an open hub: one client); ``kimi-proxy mcp``: the stdio user."""
    if not isinstance(ctx.request, Request):
        return "stdio"
    session = ctx.request.headers.get(MCP_SESSION_ID_HEADER)
    if session:
        return f"session:{session}"
    caller = mcp_caller(ctx)
    return f"key:{caller.key_id}" if caller.key_id else caller.kind


class DownstreamRequester:
    """The client behind ``ctx``: what it declared, and its request's back channel."""

    def __init__(self, ctx: Ctx, legacy_level: types.LoggingLevel | None = None) -> None:
        self._ctx = ctx
        self.modern = ctx.protocol_version in MODERN_PROTOCOL_VERSIONS
        meta = ctx.meta or {}
        declared = meta.get(types.CLIENT_CAPABILITIES_META_KEY) if self.modern else None
        if isinstance(declared, dict):
            self.capabilities: JSONObject = dict(declared)
        else:
            capabilities = ctx.session.client_capabilities
            self.capabilities = (
                capabilities.model_dump(by_alias=True, mode="json", exclude_none=True)
                if capabilities
                else {}
            )
        if self.modern:
            self.log_level = _level(meta.get(types.LOG_LEVEL_META_KEY))
        else:
            self.log_level = legacy_level or DEFAULT_LOG_LEVEL
        self.client_key = client_key(ctx)

    async def _ask(
        self, request: types.ServerRequest, result: type[ResultT]
    ) -> ResultT | types.ErrorData:
        related = ServerMessageMetadata(related_request_id=self._ctx.request_id)
        try:
            return await self._ctx.session.send_request(request, result, metadata=related)
        except MCPError as exc:  # the client's refusal, or no back channel (NoBackChannelError)
            return exc.error

    async def sample(self, params: types.CreateMessageRequestParams) -> SamplingAnswer:
        request = types.CreateMessageRequest(params=params)
        if params.tools:
            return await self._ask(request, types.CreateMessageResultWithTools)
        return await self._ask(request, types.CreateMessageResult)

    async def elicit(
        self, params: types.ElicitRequestParams
    ) -> types.ElicitResult | types.ErrorData:
        return await self._ask(types.ElicitRequest(params=params), types.ElicitResult)

    async def list_roots(self) -> types.ListRootsResult | types.ErrorData:
        return await self._ask(types.ListRootsRequest(), types.ListRootsResult)

    async def log(self, params: types.LoggingMessageNotificationParams) -> None:
        notification = types.LoggingMessageNotification(params=params)
        await self._ctx.session.send_notification(notification, self._ctx.request_id)
