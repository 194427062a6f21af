"""2025-11-25 tasks through the hub: each ``tasks/*`` request goes to the upstream that
made the task, for the caller that made it.

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
from hub.features.mcp_hub.raw_requests import raw_request, runs_tasks
from hub.features.mcp_hub.registry import UpstreamHub
from hub.features.mcp_hub.requesters import Requester

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
        """Does one of ``servers`` (as connected now) take task-augmented calls?"""
        for name in servers:
            connection = self._upstreams.connections.get(name)
            try:
                classic = connection.clients().classic if connection else None
            except UpstreamUnavailable:
                continue
            if classic is not None and runs_tasks(classic):
                return True
        return False

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
        """``tasks/get``, ``tasks/result`` (waits for the end, as upstream) or
        ``tasks/cancel``, answered as the upstream answered."""
        handle = await self.owned(task_id, owner, servers)
        return await self.send(handle, method, requester)

    async def send(
        self, handle: TaskHandle, method: str, requester: Requester | None
    ) -> JSONObject:
        connection = self._upstreams.connections[handle.server]
        task_id = handle.task_id
        # tasks/result waits for the task's end, as it does upstream
        limit = math.inf if method == "tasks/result" else connection.config.call_timeout
        try:
            async with self._upstreams.serving(connection, requester) as own:
                classic = own.clients().classic
                if classic is None:
                    raise UpstreamUnavailable(f"« {handle.server} » ne gère plus les tâches")
                with own.requesters.serving(requester), anyio.fail_after(limit):
                    return await raw_request(classic, method, {"taskId": task_id})
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
