"""MCP tasks on an endpoint, in the caller's era, over the upstreams' 2025-era tasks.

2025-11-25 clients: ``tools/call`` with ``task``, ``tasks/get``, ``tasks/result``,
``tasks/cancel``, ``tasks/list``. 2026-07-28 clients that declare the tasks extension
(``io.modelcontextprotocol/tasks``): a ``tools/call`` of a tool that supports tasks comes
back as a task handle, then ``tasks/get``, ``tasks/update``, ``tasks/cancel``
(``ModernTasks`` translates). The SDK's server (mcp 2.3) knows neither: it checks every
``tools/call`` answer against ``CallToolResult``, so a call that makes a task is answered
by a middleware, which owns the shape of its answer; ``tasks/*`` are handlers the hub adds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass

import mcp_types as types
from mcp.server.context import CallNext, HandlerResult
from mcp.shared.exceptions import MCPError
from mcp.shared.inbound import MCP_NAME_HEADER, decode_header_value
from mcp_types.jsonrpc import HEADER_MISMATCH
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, ValidationError

from hub.api.mcp.common import Ctx, ListChangedServer, mcp_caller
from hub.api.mcp.routing import DownstreamRequester
from hub.core.jsontypes import JSONObject
from hub.features.mcp_hub.modern_tasks import ModernTasks, handle_result
from hub.features.mcp_hub.raw_requests import EXTENSION
from hub.features.mcp_hub.tasks import TaskOwner
from hub.services.access.tool_gate import CallResult

CallOrTask = Callable[[Ctx, types.CallToolRequestParams], Awaitable[CallResult]]
Servers = Callable[[], Collection[str]]
TaskSupport = Callable[[str], str | None]  # a tool's execution.taskSupport, by shown name
LEGACY_ONLY: dict[str, type[BaseModel]] = {
    "tasks/result": types.GetTaskPayloadRequestParams,
    "tasks/list": types.PaginatedRequestParams,
}


@dataclass(frozen=True)
class TaskEndpoint:
    """What one endpoint needs to offer tasks."""

    tasks: ModernTasks  # .router: the 2025-era routing
    servers: Servers  # the upstream servers it shows
    support: TaskSupport


def owner(ctx: Ctx) -> TaskOwner:
    caller = mcp_caller(ctx)
    return TaskOwner(caller.key_id, caller.admin)


def _modern(ctx: Ctx) -> bool:
    return ctx.protocol_version in MODERN_PROTOCOL_VERSIONS


def _not_found(ctx: Ctx) -> MCPError:
    return MCPError(types.METHOD_NOT_FOUND, "Method not found", data=ctx.method)


def declares_tasks(ctx: Ctx) -> bool:
    extensions = DownstreamRequester(ctx).capabilities.get("extensions")
    return isinstance(extensions, dict) and EXTENSION in extensions


def _same_task(ctx: Ctx, task_id: str) -> None:
    """SEP-2663: ``Mcp-Name`` carries the task id on HTTP (routers read it): a header
    that names another task is refused (-32020), as the request body cannot be both."""
    headers = getattr(ctx.request, "headers", None)
    header = headers.get(MCP_NAME_HEADER) if headers is not None else None
    if header is not None and decode_header_value(header) != task_id:
        raise MCPError(HEADER_MISMATCH, "L'en-tête Mcp-Name ne nomme pas la tâche du corps.")


def _modern_task_request(ctx: Ctx, task_id: str) -> None:
    _extension_needed(ctx)
    _same_task(ctx, task_id)


def _extension_needed(ctx: Ctx) -> None:
    """SEP-2663: a 2026-07-28 request that needs the extension, from a client that did
    not declare it, is refused with -32021 naming it."""
    if not declares_tasks(ctx):
        raise MCPError(
            types.MISSING_REQUIRED_CLIENT_CAPABILITY,
            "Missing required client capability",
            data={"requiredCapabilities": {"extensions": {EXTENSION: {}}}},
        )


def serve_tasks(server: ListChangedServer, endpoint: TaskEndpoint, call: CallOrTask) -> None:
    """Offer tasks on ``server`` (for the tasks of ``endpoint.servers()`` only): the
    capability while an upstream runs them, ``tasks/*``, task calls through ``call``."""
    modern, router = endpoint.tasks, endpoint.tasks.router
    server.offers_tasks = lambda: router.supported(endpoint.servers())
    server.middleware.append(TaskCalls(call, endpoint))

    def who(ctx: Ctx) -> tuple[TaskOwner, Collection[str], DownstreamRequester]:
        return owner(ctx), endpoint.servers(), DownstreamRequester(ctx)

    async def get(ctx: Ctx, params: types.GetTaskRequestParams) -> JSONObject:
        if _modern(ctx):
            _modern_task_request(ctx, params.task_id)
            return await modern.get(params.task_id, *who(ctx))
        return await router.forward("tasks/get", params.task_id, *who(ctx))

    async def cancel(ctx: Ctx, params: types.CancelTaskRequestParams) -> JSONObject:
        if _modern(ctx):
            _modern_task_request(ctx, params.task_id)
            await modern.cancel(params.task_id, *who(ctx))
            return {}
        return await router.forward("tasks/cancel", params.task_id, *who(ctx))

    async def legacy(ctx: Ctx, params: BaseModel) -> JSONObject:
        """``tasks/result`` and ``tasks/list``: gone from the 2026-07-28 extension."""
        if _modern(ctx):
            raise _not_found(ctx)
        if ctx.method == "tasks/list":
            return await router.list(*who(ctx))
        return await router.forward("tasks/result", getattr(params, "task_id", ""), *who(ctx))

    server.add_request_handler("tasks/get", types.GetTaskRequestParams, get)
    server.add_request_handler("tasks/cancel", types.CancelTaskRequestParams, cancel)
    for method, params_type in LEGACY_ONLY.items():
        server.add_request_handler(method, params_type, legacy)


class TaskCalls:
    """Middleware: a ``tools/call`` that makes a task goes to ``call``, its answer to the
    client as is (the SDK would refuse a task handle as a tool result): a 2025-era call
    carrying ``task``; a 2026-07-28 call of a tool that supports tasks, from a client
    that declared the extension (a tool that requires them, without it: -32021).
    ``tasks/update`` is read here too, from the wire: the SDK has no model for it."""

    def __init__(self, call: CallOrTask, endpoint: TaskEndpoint) -> None:
        self._call = call
        self._endpoint = endpoint

    async def __call__(self, ctx: Ctx, call_next: CallNext) -> HandlerResult:
        params = ctx.params
        if ctx.method == "tasks/update" and _modern(ctx):
            return await self._update(ctx, params)
        if ctx.method != "tools/call" or not isinstance(params, Mapping):
            return await call_next(ctx)
        if _modern(ctx):
            return await self._modern(ctx, params, call_next)
        if params.get("task") is None:
            return await call_next(ctx)
        try:
            request = types.CallToolRequestParams.model_validate(params, by_name=False)
        except ValidationError:
            return await call_next(ctx)  # refused there, as any malformed call
        result = await self._call(ctx, request)
        return result.model_dump(by_alias=True, mode="json", exclude_none=True)

    async def _update(self, ctx: Ctx, params: object) -> HandlerResult:
        _extension_needed(ctx)
        task_id = params.get("taskId") if isinstance(params, Mapping) else None
        responses = params.get("inputResponses") if isinstance(params, Mapping) else None
        if not isinstance(task_id, str) or not isinstance(responses, dict):
            raise MCPError(types.INVALID_PARAMS, "tasks/update : taskId et inputResponses requis.")
        _same_task(ctx, task_id)
        endpoint = self._endpoint
        await endpoint.tasks.update(task_id, responses, owner(ctx), endpoint.servers())
        return {"resultType": "complete"}

    async def _modern(
        self, ctx: Ctx, params: Mapping[str, object], call_next: CallNext
    ) -> HandlerResult:
        name = params.get("name")
        support = self._endpoint.support(name) if isinstance(name, str) else None
        if support == "required":
            _extension_needed(ctx)
        if support not in ("optional", "required") or not declares_tasks(ctx):
            return await call_next(ctx)
        try:
            request = types.CallToolRequestParams.model_validate(params, by_name=False)
        except ValidationError:
            return await call_next(ctx)
        result = await self._call(ctx, request.model_copy(update={"task": types.TaskMetadata()}))
        if isinstance(result, types.CreateTaskResult):
            return handle_result(result.task)
        answer = result.model_dump(by_alias=True, mode="json", exclude_none=True)
        answer.setdefault("resultType", "complete")
        return answer
