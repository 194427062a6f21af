"""Publish/subscribe for the dashboards' WebSockets.

``publish`` runs on the request path, so it never waits: each event is put on every
subscriber's bounded queue, and serialised once if a WebSocket sends it. A subscriber whose queue is
full is marked ``overflowed`` and gets nothing more; its WebSocket closes it
(the dashboard reconnects and reloads) instead of slowing everyone down.

Subscribers are this process's (``/ws``); in team mode the cluster link relays every
published event to the other replicas and ``deliver``s theirs here. Each event names
the ``replica`` that published it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from hub.core.jsontypes import JSONObject


class Published:
    """An event, serialised at most once: on the first WebSocket that sends it.

    In-process listeners (the failure log) read ``data``; with no dashboard open, no
    event is ever encoded, which under load was a visible share of the hub's CPU.
    """

    __slots__ = ("_text", "data")

    def __init__(self, data: JSONObject) -> None:
        self.data = data
        self._text: str | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = json.dumps(self.data, ensure_ascii=False)
        return self._text


@dataclass(eq=False)  # kept in a set: identity, not value
class Subscription:
    queue: asyncio.Queue[Published]
    overflowed: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, event: Published) -> None:
        if self.overflowed.is_set():
            return
        if self.queue.full():
            self.overflowed.set()
            return
        self.queue.put_nowait(event)

    async def get(self) -> JSONObject:
        return (await self.queue.get()).data


class EventBus:
    def __init__(self, queue_size: int = 1000, replica: str = "local") -> None:
        self.replica = replica
        self._subscriptions: set[Subscription] = set()
        self._queue_size = queue_size
        self._relays: list[Callable[[JSONObject], None]] = []

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)

    @property
    def listened(self) -> bool:
        """Someone gets what is published (a dashboard, another replica): worth building."""
        return bool(self._subscriptions or self._relays)

    def relay_to(self, relay: Callable[[JSONObject], None]) -> None:
        """Also hand every event published here to ``relay`` (which must not block)."""
        self._relays.append(relay)

    def publish(self, event_type: str, data: JSONObject) -> None:
        if not self.listened:
            return
        event: JSONObject = {"type": event_type, "at": time.time(), "replica": self.replica}
        event.update(data)
        self.deliver(event)
        for relay in self._relays:
            relay(event)

    def deliver(self, event: JSONObject) -> None:
        """Hand an event to this process's subscribers only."""
        if not self._subscriptions:
            return
        published = Published(event)
        for subscription in self._subscriptions:
            subscription.offer(published)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        subscription = Subscription(asyncio.Queue(self._queue_size))
        self._subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)
