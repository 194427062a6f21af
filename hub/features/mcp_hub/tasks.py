"""MCP tasks through the hub: each ``tasks/*`` request goes to the upstream that made the
task, for the caller that made it; here, as 2025-11-25 clients ask (``ModernTasks``:
as 2026-07-28 clients do). An upstream speaks one generation: 2025 tasks are relayed as
they are; over the 2026 extension, the hub translates (``tasks/result`` becomes polling
``tasks/get``, the task's questions are asked of the caller, answered with
``tasks/update``).

Task ids pass through unaltered (opaque to the hub, like ``requestState``); the hub
keeps which upstream and which key each belongs to in its database, so any replica
routes them (team mode) and a key never reaches another key's task: an unknown task and
another's get the same answer. One upstream session serves every caller, so the
upstream's own ``tasks/list`` would show them all: the hub lists the caller's tasks
itself, each as its upstream describes it now.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection
from dataclasses import dataclass

import anyio
import mcp_types as types
from mcp.shared.exceptions import MCPError

from hub.core.jsontypes import JSONObject
from hub.core.storage.mcp_tasks import TaskHandle, TaskHandles
from hub.features.mcp_hub.connection import UpstreamUnavailable
from hub.features.mcp_hub.raw_requests import legacy_task, raw_request, runs_tasks
from hub.features.mcp_hub.registry import UpstreamHub
from hub.features.mcp_hub.requesters import Requester
from hub.features.mcp_hub.task_inputs import ask, poll_interval

MAX_LISTED = 100  # tasks/list: the caller's newest tasks, one tasks/get each
TASK_FIELDS = ("taskId", "status", "statusMessage", "createdAt", "lastUpdatedAt", "ttl")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskOwner:
    key_id: str | None  # None: the admin key or stdio
    admin: bool  # sees every task


def _unknown(task_id: str) -> MCPError:
    return MCPError(types.INVALID_PARAMS, f"Tâche inconnue : « {task_id[:200]} ».")


class TaskRouter:
    def __init__(self, upstreams: UpstreamHub, handles: TaskHandles) -> None:
        self._upstreams = upstreams
        self._handles = handles

    def supported(self, servers: Collection[str]) -> bool:
        """Does one of ``servers`` (as connected now) run tasks, either generation?"""
        for name in servers:
            connection = self._upstreams.connections.get(name)
            try:
                if connection is not None and connection.clients().tasker is not None:
                    return True
            except UpstreamUnavailable:
                continue
        return False

    def task_support(self, server: str, tool: types.Tool) -> str | None:
        """Whether a call of ``tool`` may make a task: its ``execution.taskSupport`` on
        a 2025 tasks server; "optional" on a 2026 one (the server decides per call)."""
        connection = self._upstreams.connections.get(server)
        try:
            tasker = connection.clients().tasker if connection else None
        except UpstreamUnavailable:
            return None
        if tasker is None:
            return None
        if not runs_tasks(tasker):
            return "optional"
        return tool.execution.task_support if tool.execution else None

    def native(self, handle: TaskHandle) -> bool:
        """Is the task's upstream one of the 2026-07-28 extension (else: 2025 tasks)?"""
        try:
            tasker = self._upstreams.connections[handle.server].clients().tasker
        except UpstreamUnavailable as exc:
            raise MCPError(types.INTERNAL_ERROR, str(exc)) from None
        return tasker is not None and not runs_tasks(tasker)

    async def created(self, task: types.Task, server: str, key_id: str | None) -> None:
        if not await self._handles.record(TaskHandle(task.task_id, server, key_id), task.ttl):
            logger.warning(
                "tâche %s de %s : identifiant déjà pris, non routée", task.task_id, server
            )

    async def owned(self, task_id: str, owner: TaskOwner, servers: Collection[str]) -> TaskHandle:
        handle = await self._handles.find(task_id)
        if handle is None or handle.server not in servers:
            raise _unknown(task_id)
        if not owner.admin and handle.key_id != owner.key_id:
            raise _unknown(task_id)  # the same answer: another key's task stays invisible
        return handle

    async def forward(
        self,
        method: str,
        task_id: str,
        owner: TaskOwner,
        servers: Collection[str],
        requester: Requester | None,
    ) -> JSONObject:
        """``tasks/get``, ``tasks/result`` (waits for the end) or ``tasks/cancel``, answered
        as a 2025-11-25 server answers."""
        handle = await self.owned(task_id, owner, servers)
        if not self.native(handle):
            return await self.send(handle, method, requester)
        if method == "tasks/result":
            return await self._wait_result(handle, requester)
        if method == "tasks/cancel":
            await self.send(handle, method, requester)
        return legacy_task(await self.send(handle, "tasks/get", requester))

    async def _wait_result(self, handle: TaskHandle, requester: Requester | None) -> JSONObject:
        """A 2026-07-28 task's end, as the 2025 ``tasks/result`` gives it: polled, its
        questions asked of the caller on the way."""
        answered: set[str] = set()
        while True:
            task = await self.send(handle, "tasks/get", requester)
            status = task.get("status")
            if status == "completed" and isinstance(task.get("result"), dict):
                result = task["result"]
                assert isinstance(result, dict)
                return result
            if status in ("completed", "failed", "cancelled"):
                error = task.get("error")
                code = error.get("code") if isinstance(error, dict) else None
                message = error.get("message") if isinstance(error, dict) else None
                raise MCPError(
                    code if isinstance(code, int) else types.INTERNAL_ERROR,
                    str(message or task.get("statusMessage") or f"Tâche {status}."),
                )
            questions = task.get("inputRequests")
            if status == "input_required" and isinstance(questions, dict):
                fresh = {k: q for k, q in questions.items() if k not in answered}
                responses = {k: await ask(requester, q) for k, q in fresh.items()}
                answered.update(fresh)
                if responses:
                    update: JSONObject = {"taskId": handle.task_id, "inputResponses": responses}
                    await self.send(handle, "tasks/update", requester, update)
            await anyio.sleep(poll_interval(task))

    async def send(
        self,
        handle: TaskHandle,
        method: str,
        requester: Requester | None,
        params: JSONObject | None = None,
    ) -> JSONObject:
        """``method`` to the task's upstream as it is (params: the task id alone)."""
        connection = self._upstreams.connections[handle.server]
        task_id = handle.task_id
        # 2025 tasks/result waits for the task's end, as it does upstream
        limit = math.inf if method == "tasks/result" else connection.config.call_timeout
        try:
            async with self._upstreams.serving(connection, requester) as own:
                tasker = own.clients().tasker
                if tasker is None:
                    raise UpstreamUnavailable(f"« {handle.server} » ne gère plus les tâches")
                native = not runs_tasks(tasker)  # its tasks/* need the extension declared
                with own.requesters.serving(requester), anyio.fail_after(limit):
                    sent = params or {"taskId": task_id}
                    return await raw_request(tasker, method, sent, declare_tasks=native)
        except UpstreamUnavailable as exc:
            raise MCPError(types.INTERNAL_ERROR, str(exc)) from None
        except TimeoutError:
            raise MCPError(
                types.INTERNAL_ERROR,
                f"Délai dépassé : « {handle.server} » n'a pas répondu en {limit:g} s.",
            ) from None

    async def list(
        self, owner: TaskOwner, servers: Collection[str], requester: Requester | None
    ) -> JSONObject:
        mine = [
            h
            for h in await self._handles.all()
            if h.server in servers and (owner.admin or h.key_id == owner.key_id)
        ]
        tasks: list[JSONObject] = []
        for handle in mine[-MAX_LISTED:]:
            try:
                task = await self.forward("tasks/get", handle.task_id, owner, servers, requester)
            except MCPError as exc:  # ended upstream (ttl, restart): not listed
                logger.debug("tâche %s non listée : %s", handle.task_id, exc)
                continue
            tasks.append({k: task[k] for k in (*TASK_FIELDS, "pollInterval") if k in task})
        return {"tasks": list(tasks)}
