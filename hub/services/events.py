"""In-process publish/subscribe. Slow subscribers lose their oldest events, never block."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from hub.core.jsontypes import JSONObject


class EventBus:
    def __init__(self, queue_size: int = 1000) -> None:
        self._queues: set[asyncio.Queue[JSONObject]] = set()
        self._queue_size = queue_size

    @property
    def subscribers(self) -> int:
        return len(self._queues)

    def publish(self, event_type: str, data: JSONObject) -> None:
        event: JSONObject = {"type": event_type, "at": time.time(), **data}
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[JSONObject]]:
        queue: asyncio.Queue[JSONObject] = asyncio.Queue(self._queue_size)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)
