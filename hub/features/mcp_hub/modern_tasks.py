"""The tasks extension (``io.modelcontextprotocol/tasks``) for 2026-07-28 clients: relayed
as it is to upstreams that speak it, translated over the 2025-era tasks of the others.

The two generations differ in shape, not in substance: the handle comes back as a result
of ``resultType: "task"`` with the task's fields at the top (``ttlMs``,
``pollIntervalMs``); ``tasks/get`` carries the final result or error once the task ended
(fetched with the 2025 ``tasks/result``) and, while it waits for the client, its
questions as ``inputRequests``, answered with ``tasks/update``; there is no
``tasks/result`` and no ``tasks/list``. Questions are collected by the hub's own
``tasks/result`` wait (``TaskInputs``), held by the replica that saw them first.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from contextlib import AbstractAsyncContextManager

import anyio
import mcp_types as types
from mcp.shared.exceptions import MCPError

from hub.core.background import Background
from hub.core.jsontypes import JSON, JSONObject
from hub.core.storage.mcp_tasks import TaskHandle
from hub.features.mcp_hub.raw_requests import modern_task
from hub.features.mcp_hub.requesters import Requester
from hub.features.mcp_hub.task_inputs import TaskInputs
from hub.features.mcp_hub.tasks import TaskOwner, TaskRouter

QUESTION_WAIT = 1.0  # s a tasks/get waits for the upstream's question to reach the hub
MAX_WAITING_TASKS = 256
logger = logging.getLogger(__name__)


def handle_result(task: types.Task) -> JSONObject:
    """A 2025 ``CreateTaskResult`` as the 2026-07-28 clients receive it."""
    fields = task.model_dump(by_alias=True, mode="json", exclude_none=True)
    return {"resultType": "task", **modern_task(fields)}


class ModernTasks:
    def __init__(self, router: TaskRouter) -> None:
        self.router = router  # the 2025-era routing both generations share
        self._inputs: dict[str, tuple[TaskInputs, anyio.CancelScope]] = {}
        self._background = Background()

    def running(self) -> AbstractAsyncContextManager[None]:
        return self._background.running()

    async def get(
        self, task_id: str, owner: TaskOwner, servers: Collection[str], requester: Requester
    ) -> JSONObject:
        handle = await self.router.owned(task_id, owner, servers)
        task = await self.router.send(handle, "tasks/get", requester)
        if self.router.native(handle):
            return task
        shown = modern_task(task)
        status = task.get("status")
        if status == "input_required":
            pending = await self._questions(handle, requester)
            if pending:
                shown["inputRequests"] = pending
            else:  # the question is on its way to the hub: not yet for the client
                shown["status"] = "working"
        elif status in ("completed", "failed"):
            try:
                result = await self.router.send(handle, "tasks/result", requester)
            except MCPError as exc:
                shown["status"] = "failed"
                shown["error"] = {"code": exc.error.code, "message": exc.error.message}
            else:
                if status == "completed":
                    shown["result"] = result
                else:
                    message = task.get("statusMessage") or "La tâche a échoué."
                    shown["error"] = {"code": types.INTERNAL_ERROR, "message": message}
        return shown

    async def update(
        self,
        task_id: str,
        responses: Mapping[str, JSON],
        owner: TaskOwner,
        servers: Collection[str],
    ) -> None:
        handle = await self.router.owned(task_id, owner, servers)
        if self.router.native(handle):
            update: JSONObject = {"taskId": task_id, "inputResponses": dict(responses)}
            await self.router.send(handle, "tasks/update", None, update)
            return
        waiting = self._inputs.get(task_id)
        if waiting is not None:
            waiting[0].answer(responses)

    async def cancel(
        self, task_id: str, owner: TaskOwner, servers: Collection[str], requester: Requester
    ) -> None:
        handle = await self.router.owned(task_id, owner, servers)
        await self.router.send(handle, "tasks/cancel", requester)
        waiting = self._inputs.pop(task_id, None)
        if waiting is not None:
            waiting[1].cancel()

    async def _questions(self, handle: TaskHandle, requester: Requester) -> JSONObject:
        waiting = self._inputs.get(handle.task_id)
        if waiting is None:
            if not self._background.open or len(self._inputs) >= MAX_WAITING_TASKS:
                return {}
            inputs, scope = TaskInputs(requester), anyio.CancelScope()
            self._inputs[handle.task_id] = (inputs, scope)
            self._background.start_soon(self._wait_result, handle, inputs, scope)
        else:
            inputs = waiting[0]
        await inputs.wait_asked(QUESTION_WAIT)
        return inputs.pending()

    async def _wait_result(
        self, handle: TaskHandle, inputs: TaskInputs, scope: anyio.CancelScope
    ) -> None:
        """The hub's own ``tasks/result`` wait: the upstream asks its questions on it."""
        with scope:
            try:
                await self.router.send(handle, "tasks/result", inputs)
            except MCPError as exc:  # the next tasks/get reports how the task ended
                logger.debug("tâche %s : %s", handle.task_id, exc)
        inputs.finish()
        if self._inputs.get(handle.task_id, (None,))[0] is inputs:
            del self._inputs[handle.task_id]
