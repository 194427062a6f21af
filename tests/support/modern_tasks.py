"""A 2026-07-28 tasks client on the mcp SDK's own seam for it (``ClientExtension`` with a
``ResultClaim`` on ``resultType: "task"``): the SDK hands the handle to ``resolve``,
which polls ``tasks/get``, answers ``inputRequests`` with ``tasks/update`` and returns the
final ``CallToolResult``, as the extension's spec describes a requester."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import anyio
import mcp_types as types
from mcp.client import ClaimContext, ClientExtension, ResultClaim
from mcp.client.session import ClientRequestContext, ClientSession
from pydantic import ConfigDict

from tests.support.json_values import JsonObject

EXTENSION = "io.modelcontextprotocol/tasks"


class Raw(types.Request[JsonObject, str]):
    """Any request, params as given (the SDK has no model for the extension's)."""

    name_param = "taskId"  # tasks/*: the Mcp-Name header carries the task id


class Answer(types.Result):
    """Any result, every field kept."""

    model_config = ConfigDict(extra="allow")


class TaskHandle(types.Result):
    result_type: Literal["task"] = "task"
    task_id: str
    status: str


class StoppedAtHandle(Exception):
    """``stop_after_handle``: the test goes on with the task itself."""


async def send(session: ClientSession, method: str, params: JsonObject) -> JsonObject:
    """``method`` as the wire has it; its answer as a dict."""
    answer = await session.send_request(Raw(method=method, params=params), Answer)
    return answer.model_dump(by_alias=True, mode="json", exclude_none=True)


async def get_task(session: ClientSession, task_id: str) -> JsonObject:
    return await send(session, "tasks/get", {"taskId": task_id})


class ModernTasksClient(ClientExtension):
    identifier = EXTENSION

    def __init__(self, content: JsonObject, stop_after_handle: bool = False) -> None:
        self._content = content  # what a person would type into each form
        self._stop = stop_after_handle
        self.handles: list[str] = []
        self.statuses: list[str] = []
        self.asked: list[JsonObject] = []

    async def elicit(
        self, context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        """Never called for a task's question (those come as inputRequests)."""
        raise AssertionError(f"élicitation hors tâche : {params}")

    def claims(self) -> Sequence[ResultClaim[TaskHandle]]:
        return [ResultClaim(result_type="task", model=TaskHandle, resolve=self._resolve)]

    async def _resolve(self, handle: TaskHandle, ctx: ClaimContext) -> types.CallToolResult:
        self.handles.append(handle.task_id)
        if self._stop:
            raise StoppedAtHandle(handle.task_id)
        answered: set[str] = set()
        with anyio.fail_after(60):
            while True:
                task = await get_task(ctx.session, handle.task_id)
                self.statuses.append(str(task["status"]))
                if task["status"] == "completed":
                    return types.CallToolResult.model_validate(task["result"])
                if task["status"] in ("failed", "cancelled"):
                    raise RuntimeError(f"tâche terminée : {task}")
                requests = task.get("inputRequests") or {}
                responses = {}
                for key, request in requests.items():
                    if key not in answered:  # the spec: deduplicate across polls
                        self.asked.append(request)
                        responses[key] = {"action": "accept", "content": self._content}
                        answered.add(key)
                if responses:
                    update = {"taskId": handle.task_id, "inputResponses": responses}
                    await send(ctx.session, "tasks/update", update)
                await anyio.sleep(0.2)
