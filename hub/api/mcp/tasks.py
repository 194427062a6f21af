"""2025-11-25 tasks on an MCP endpoint: the task-augmented ``tools/call`` and ``tasks/*``.

The SDK's server (mcp 2.3) has no 2025 tasks: it checks every ``tools/call`` answer
against ``CallToolResult``. A call that asks for a task is therefore answered by a
middleware, which owns the shape of its answer (a task handle, or the result when the
upstream answered at once); ``tasks/*`` are handlers the hub adds, routed by
``TaskRouter``. 2026-07-28 clients are not offered them: their tasks are an extension
(``io.modelcontextprotocol/tasks``) the hub does not serve yet.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping

import mcp_types as types
from mcp.server.context import CallNext, HandlerResult
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, ValidationError

from hub.api.mcp.common import Ctx, ListChangedServer, mcp_caller
from hub.api.mcp.routing import DownstreamRequester
from hub.core.jsontypes import JSONObject
from hub.features.mcp_hub.tasks import TaskOwner, TaskRouter
from hub.services.access.tool_gate import CallResult

CallOrTask = Callable[[Ctx, types.CallToolRequestParams], Awaitable[CallResult]]
Servers = Callable[[], Collection[str]]
FORWARDED: dict[str, type[BaseModel]] = {
    "tasks/get": types.GetTaskRequestParams,
    "tasks/result": types.GetTaskPayloadRequestParams,
    "tasks/cancel": types.CancelTaskRequestParams,
}


def owner(ctx: Ctx) -> TaskOwner:
    caller = mcp_caller(ctx)
    return TaskOwner(caller.key_id, caller.admin)


def _legacy_only(ctx: Ctx) -> None:
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        raise MCPError(types.METHOD_NOT_FOUND, "Method not found", data=ctx.method)


def serve_tasks(
    server: ListChangedServer, router: TaskRouter, servers: Servers, call: CallOrTask
) -> None:
    """Offer 2025 tasks on ``server`` (for the tasks of ``servers()`` only): ``tasks/*``,
    the capability while an upstream runs them, task-augmented calls through ``call``."""
    server.offers_tasks = lambda: router.supported(servers())
    server.middleware.append(TaskCalls(call))

    def forwarding(method: str) -> Callable[[Ctx, BaseModel], Awaitable[JSONObject]]:
        async def forward(ctx: Ctx, params: BaseModel) -> JSONObject:
            _legacy_only(ctx)
            task_id = getattr(params, "task_id", "")
            requester = DownstreamRequester(ctx)
            return await router.forward(method, task_id, owner(ctx), servers(), requester)

        return forward

    async def listing(ctx: Ctx, params: types.PaginatedRequestParams) -> JSONObject:
        _legacy_only(ctx)
        return await router.list(owner(ctx), servers(), DownstreamRequester(ctx))

    for method, params_type in FORWARDED.items():
        server.add_request_handler(method, params_type, forwarding(method))
    server.add_request_handler("tasks/list", types.PaginatedRequestParams, listing)


class TaskCalls:
    """Middleware: a 2025-era ``tools/call`` with ``task`` goes to ``call`` and its answer
    to the client as it is (the SDK would refuse a task handle as a tool result)."""

    def __init__(self, call: CallOrTask) -> None:
        self._call = call

    async def __call__(self, ctx: Ctx, call_next: CallNext) -> HandlerResult:
        params = ctx.params
        if (
            ctx.method != "tools/call"
            or not isinstance(params, Mapping)
            or params.get("task") is None
            or ctx.protocol_version in MODERN_PROTOCOL_VERSIONS
        ):
            return await call_next(ctx)
        try:
            request = types.CallToolRequestParams.model_validate(params, by_name=False)
        except ValidationError:
            return await call_next(ctx)  # refused there, as any malformed call
        result = await self._call(ctx, request)
        return result.model_dump(by_alias=True, mode="json", exclude_none=True)
