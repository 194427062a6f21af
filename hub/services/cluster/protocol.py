"""The link between replicas as services see it, and the callbacks it runs.

Both sides import this module: ``joining`` (which starts a link) and ``redis_link``
(the one implementation), so neither imports the other's module for its types.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from hub.core.jsontypes import JSON, JSONObject
from hub.core.storage.keys import KeyStore
from hub.services.access.counters import Counters

Handler = Callable[[JSON], Awaitable[None]]
Reloader = Callable[[], Awaitable[None]]  # what to reload when Redis answers again


class ClusterLink(Protocol):
    """What services need from the link between replicas."""

    replica: str

    def on(self, kind: str, handler: Handler) -> None: ...

    def send(self, kind: str, data: JSON) -> None:
        """Queue for the other replicas; never waits."""
        ...

    async def publish(self, kind: str, data: JSON) -> None:
        """Hand to Redis now (a change others must see at once); degrades, never raises."""
        ...

    def status(self) -> JSONObject: ...

    def key_counters(self, store: KeyStore) -> AbstractAsyncContextManager[Counters]:
        """Virtual keys' budgets and rates, counted once for every replica; while open,
        this replica's lease is kept and dead replicas' reservations released."""
        ...

    @property
    def healthy(self) -> bool: ...
