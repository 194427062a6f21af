"""Publish/subscribe. Slow subscribers lose their oldest events, never block.

Subscribers are this process's (``/ws``); in team mode the cluster link relays every
published event to the other replicas and ``deliver``s theirs here. Each event names
the ``replica`` that published it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from hub.core.jsontypes import JSONObject


class EventBus:
    def __init__(self, queue_size: int = 1000, replica: str = "local") -> None:
        self.replica = replica
        self._queues: set[asyncio.Queue[JSONObject]] = set()
        self._queue_size = queue_size
        self._relays: list[Callable[[JSONObject], None]] = []

    @property
    def subscribers(self) -> int:
        return len(self._queues)

    def relay_to(self, relay: Callable[[JSONObject], None]) -> None:
        """Also hand every event published here to ``relay`` (which must not block)."""
        self._relays.append(relay)

    def publish(self, event_type: str, data: JSONObject) -> None:
        event: JSONObject = {"type": event_type, "at": time.time(), "replica": self.replica}
        event.update(data)
        self.deliver(event)
        for relay in self._relays:
            relay(event)

    def deliver(self, event: JSONObject) -> None:
        """Hand an event to this process's subscribers only."""
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
