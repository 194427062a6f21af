"""``AuditLog``: every MCP tool call, allowed or refused, kept off the response path.

``record`` only queues (and publishes an ``audit`` event when someone listens); a task
writes the queue in one transaction per batch, like the request rows, and retries while
the database fails. Readers call ``flush()`` first, so a row is visible once its call
has answered. The queue is bounded: past ``QUEUE_LIMIT`` rows waiting on a dead database
the oldest are dropped, counted and logged (a tool call is never refused for its audit).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from hub.core.storage.audit import AuditFilter, AuditRecord, AuditStore
from hub.core.storage.database import DatabaseUnavailable
from hub.core.storage.pages import export_pages
from hub.services.events import EventBus

logger = logging.getLogger("hub.audit")
QUEUE_LIMIT = 10_000
BATCH = 500
COALESCE = 0.05
RETRY_MIN, RETRY_MAX = 0.1, 5.0
EXPORT_PAGE = 1000


class AuditLog:
    def __init__(self, store: AuditStore, bus: EventBus) -> None:
        self.store = store
        self._bus = bus
        self._queue: deque[AuditRecord] = deque()
        self._wake = asyncio.Event()
        self._hurry = asyncio.Event()  # a reader waits: skip the coalescing delay
        self._idle = asyncio.Event()
        self._idle.set()
        self.dropped = 0
        self._failing: str | None = None

    def record(self, entry: AuditRecord) -> None:
        if len(self._queue) >= QUEUE_LIMIT:
            self._queue.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                logger.error("Audit des outils : %d ligne(s) perdue(s) (file pleine)", self.dropped)
        self._queue.append(entry)
        self._idle.clear()
        self._wake.set()
        if self._bus.listened:
            self._bus.publish("audit", {"entry": entry.to_json()})

    async def flush(self) -> None:
        """Until every queued row is written (or the database fails)."""
        while self._queue and self._failing is None:
            self._hurry.set()
            self._wake.set()
            await self._idle.wait()

    async def _write(self) -> None:
        delay = RETRY_MIN
        while True:
            if not self._queue:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                if not self._hurry.is_set():  # one transaction per burst of calls
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._hurry.wait(), COALESCE)
                self._hurry.clear()
                continue
            batch = [self._queue[i] for i in range(min(BATCH, len(self._queue)))]
            try:
                await self.store.insert(batch)
            except (sqlite3.Error, OSError, DatabaseUnavailable) as exc:
                if self._failing is None:
                    logger.error("Audit des outils : écriture impossible (%s), nouvel essai", exc)
                self._failing = str(exc)
                self._idle.set()  # readers do not wait on a failing database
                await asyncio.sleep(delay)
                delay = min(RETRY_MAX, delay * 2)
                continue
            if self._failing is not None:
                logger.warning("Audit des outils : écriture rétablie")
                self._failing = None
            delay = RETRY_MIN
            for _ in batch:
                self._queue.popleft()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[AuditLog]:
        task = asyncio.create_task(self._write())
        try:
            yield self
        finally:
            with contextlib.suppress(TimeoutError):  # at stop: what can still be written
                await asyncio.wait_for(self.flush(), 5.0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def search(self, where: AuditFilter, limit: int, before: int | None) -> list[AuditRecord]:
        await self.flush()
        return await self.store.search(where, limit=limit, before_id=before)

    async def pages(self, where: AuditFilter) -> AsyncIterator[list[AuditRecord]]:
        """Oldest first, page by page, up to the newest row when the export started."""
        await self.flush()
        last = await self.store.newest_id()

        async def fetch(after: int) -> list[AuditRecord]:
            return await self.store.oldest_after(
                where, after_id=after, up_to_id=last, limit=EXPORT_PAGE
            )

        async for page in export_pages(fetch, EXPORT_PAGE):
            yield page
