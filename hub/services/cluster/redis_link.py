"""What replicas share live, through Redis pub/sub (team mode, ``[cluster] redis_url``).

One channel per hub carries envelopes ``{"from": process token, "kind": ..., "data": ...}``:
``event`` (bus events, so a dashboard on replica A sees requests served by B) and
whatever state a service keeps in memory and must invalidate elsewhere (``session``).
Nothing on a request path waits on Redis: ``send`` only queues (bounded, oldest dropped)
and a background task publishes. A Redis outage degrades live sharing, logs a French
warning, shows in ``/health``; when Redis answers again, the key counters reload what
Redis may have lost (it keeps nothing on disk).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import redis.asyncio
from redis.exceptions import RedisError

from hub.core.jsontypes import JSON, JSONObject
from hub.core.storage.keys import KeyStore
from hub.services.access.counters import Counters
from hub.services.access.redis_counters import RedisCounters
from hub.services.access.redis_leases import Leases
from hub.services.cluster.protocol import Handler, Reloader

log = logging.getLogger("hub.cluster")

_RETRY_S = 1.0


class RedisLink:
    def __init__(self, url: str, replica: str, channel: str, queue_size: int = 10_000) -> None:
        self.replica = replica
        self._sender = uuid.uuid4().hex  # unique per process, even when names repeat
        self._channel = channel
        self._client = redis.asyncio.Redis.from_url(
            url, socket_timeout=2.0, socket_connect_timeout=2.0
        )
        self._outbox: asyncio.Queue[str] = asyncio.Queue(queue_size)
        self._handlers: dict[str, Handler] = {}
        self._reloaders: list[Reloader] = []
        self._error: str | None = "pas encore connecté"
        self.dropped = 0

    @asynccontextmanager
    async def key_counters(self, store: KeyStore) -> AsyncIterator[Counters]:
        """Key limits on this link's connection (hub/services/access/redis_counters.py),
        with this replica's lease (redis_leases.py)."""
        leases = Leases(self._client, store, self._channel, self._sender, self.replica)
        counters = RedisCounters(self._client, store, leases)
        self._reloaders.append(counters.reconnected)
        async with leases.running():
            yield counters

    def on(self, kind: str, handler: Handler) -> None:
        """Call ``handler(data)`` for each ``kind`` message sent by another replica."""
        self._handlers[kind] = handler

    def _envelope(self, kind: str, data: JSON) -> str:
        return json.dumps({"from": self._sender, "kind": kind, "data": data})

    def send(self, kind: str, data: JSON) -> None:
        """Queue a message for the other replicas; never waits."""
        envelope = self._envelope(kind, data)
        if self._outbox.full():
            self._outbox.get_nowait()
            self._outbox.task_done()
            self.dropped += 1
        self._outbox.put_nowait(envelope)

    async def publish(self, kind: str, data: JSON) -> None:
        """Publish now, waiting at most a second; on failure the link is degraded."""
        try:
            async with asyncio.timeout(1.0):
                await self._client.publish(self._channel, self._envelope(kind, data))
        except (RedisError, OSError, TimeoutError) as exc:
            self._degrade(exc)

    def status(self) -> JSONObject:
        healthy = self._error is None
        status: JSONObject = {
            "status": "opérationnel" if healthy else "dégradé",
            "replica": self.replica,
            "dropped_messages": self.dropped,
        }
        if not healthy:
            status["erreur"] = self._error
        return status

    @property
    def healthy(self) -> bool:
        return self._error is None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[RedisLink]:
        tasks = [asyncio.create_task(self._publish_loop()), asyncio.create_task(self._listen())]
        try:
            yield self
        finally:
            await self._drain()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with suppress(asyncio.CancelledError):
                    await task
            await self._client.aclose()

    async def _drain(self) -> None:
        """On shutdown, give queued messages a moment to leave (not forever)."""
        with suppress(TimeoutError):
            async with asyncio.timeout(2.0):
                await self._outbox.join()

    def _degrade(self, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {exc}"[:200]
        if self._error is None:
            log.warning(
                "Redis injoignable (%s) : la diffusion entre répliques est suspendue,"
                " les requêtes continuent.",
                reason,
            )
        self._error = reason

    async def _recovered(self) -> None:
        if self._error is not None and self._error != "pas encore connecté":
            log.warning("Redis de nouveau joignable : diffusion entre répliques rétablie.")
            for reload in self._reloaders:
                await reload()
        self._error = None

    async def _publish_loop(self) -> None:
        while True:
            envelope = await self._outbox.get()
            try:
                await self._client.publish(self._channel, envelope)
            except (RedisError, OSError) as exc:
                self._degrade(exc)  # this message is lost: live fan-out is best effort
            finally:
                self._outbox.task_done()

    async def _listen(self) -> None:
        while True:
            try:
                async with self._client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self._channel)
                    await self._recovered()
                    while True:
                        message = await pubsub.get_message(timeout=5.0)
                        if message is None:  # quiet channel: is Redis still there?
                            await pubsub.ping()
                        elif isinstance(message, dict) and message.get("type") == "message":
                            await self._dispatch(message.get("data"))
            except (RedisError, OSError) as exc:
                self._degrade(exc)
                await asyncio.sleep(_RETRY_S)

    async def _dispatch(self, raw: object) -> None:
        if not isinstance(raw, bytes | str):
            return
        try:
            envelope = json.loads(raw)
        except ValueError:
            log.warning("Message illisible ignoré sur le canal %s", self._channel)
            return
        if not isinstance(envelope, dict) or envelope.get("from") == self._sender:
            return
        kind = envelope.get("kind")
        handler = self._handlers.get(kind) if isinstance(kind, str) else None
        if handler is not None:
            await handler(envelope.get("data"))
