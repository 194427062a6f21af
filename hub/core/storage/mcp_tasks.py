"""Which upstream and which key each MCP task belongs to (the task's own state stays
upstream): any replica routes ``tasks/*`` with it, and a key sees only its own tasks."""

from __future__ import annotations

import time
from dataclasses import dataclass

from hub.core.storage.store import Store

DEFAULT_KEEP = 24 * 3600.0  # a task without a ttl is forgotten a day after it started


@dataclass(frozen=True)
class TaskHandle:
    task_id: str
    server: str
    key_id: str | None  # None: made by the admin key or over stdio


class TaskHandles:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def record(self, handle: TaskHandle, ttl_ms: int | None) -> bool:
        """Keep ``handle`` until its ttl ends; False when that id is already another's."""
        now = time.time()
        keep = DEFAULT_KEEP if ttl_ms is None else ttl_ms / 1000
        await self._store.write("DELETE FROM mcp_tasks WHERE expires_at < ?", (now,))
        changed = await self._store.write(
            "INSERT INTO mcp_tasks (task_id, server, key_id, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (task_id) DO NOTHING",
            (handle.task_id, handle.server, handle.key_id, now, now + keep),
        )
        return changed > 0

    async def find(self, task_id: str) -> TaskHandle | None:
        row = await self._store.fetch_one(
            "SELECT server, key_id FROM mcp_tasks WHERE task_id = ? AND expires_at >= ?",
            (task_id, time.time()),
        )
        return None if row is None else TaskHandle(task_id, row["server"], row["key_id"])

    async def all(self) -> list[TaskHandle]:
        """Every live task, oldest first (callers filter by owner and server)."""
        rows = await self._store.fetch_all(
            "SELECT task_id, server, key_id FROM mcp_tasks WHERE expires_at >= ?"
            " ORDER BY created_at, task_id",
            (time.time(),),
        )
        return [TaskHandle(r["task_id"], r["server"], r["key_id"]) for r in rows]
