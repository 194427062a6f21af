"""Team mode wiring: which replica this is, and joining the link between replicas.

Without ``[cluster] redis_url`` there is no link: one process, events stay in memory.
With it, ``joined_cluster`` starts a ``RedisLink`` (``hub.services.cluster.redis_link``, needs
the optional ``[team]`` extra) and plugs the event bus into it both ways.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from hub.config import ClusterConfig
from hub.core.errors import missing_team_extra
from hub.core.jsontypes import JSON, as_object
from hub.services.cluster.protocol import ClusterLink
from hub.services.events import EventBus


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
