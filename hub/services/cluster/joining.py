"""Team mode wiring: which replica this is, and the link that makes replicas act as one.

Without ``[cluster] redis_url`` there is no link: one process, events stay in memory.
With it, ``joined_cluster`` starts a ``RedisLink`` (``hub.services.cluster.redis_link``, needs
the optional ``[team]`` extra) and plugs the event bus into it both ways.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Protocol

from hub.config import ClusterConfig
from hub.core.errors import missing_team_extra
from hub.core.jsontypes import JSON, JSONObject, as_object
from hub.core.storage.keys import KeyStore
from hub.services.access.counters import Counters
from hub.services.events import EventBus

Handler = Callable[[JSON], Awaitable[None]]
Reloader = Callable[[], Awaitable[None]]


class ClusterLink(Protocol):
    """What services need from the link between replicas."""

    replica: str

    def on(self, kind: str, handler: Handler) -> None: ...

    def on_reconnect(self, reload: Reloader) -> None: ...

    def send(self, kind: str, data: JSON) -> None:
        """Queue for the other replicas; never waits."""
        ...

    async def publish(self, kind: str, data: JSON) -> None:
        """Hand to Redis now (a change others must see at once); degrades, never raises."""
        ...

    def status(self) -> JSONObject: ...

    def key_counters(self, store: KeyStore) -> Counters:
        """Virtual keys' budgets and rates, counted once for every replica."""
        ...

    @property
    def healthy(self) -> bool: ...


def replica_name(config: ClusterConfig) -> str:
    return config.replica or f"{socket.gethostname()}:{os.getpid()}"


@asynccontextmanager
async def joined_cluster(config: ClusterConfig, bus: EventBus) -> AsyncIterator[ClusterLink | None]:
    if config.redis_url is None:
        yield None
        return
    try:  # team mode only
        from hub.services.cluster.redis_link import RedisLink
    except ImportError as exc:
        raise missing_team_extra("[cluster] redis_url", "redis") from exc
    link = RedisLink(config.redis_url, bus.replica, config.channel)

    async def deliver(data: JSON) -> None:
        event = as_object(data)
        if event is not None:
            bus.deliver(event)

    bus.relay_to(lambda event: link.send("event", event))
    link.on("event", deliver)
    async with link.running():
        yield link
