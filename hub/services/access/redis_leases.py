"""Reservations of a replica that died: released after its lease expires (team mode).

A reservation (redis_counters.py) is also *held*: one hash field per request under its
key, ``request id → "replica token, period start, cost counted"``, until the request's
final row is stored. Each replica keeps a lease (a Redis key with a ``LEASE_SECONDS``
expiry) refreshed every ``BEAT_SECONDS``, and lists the keys it reserved on. A replica
killed with SIGKILL stops refreshing; at their next beat the others see its lease gone
and settle each of its held reservations to what the rows in the database say: the
row's cost and tokens, nothing when it has no row. One Lua script per key checks and
removes each field, so two survivors releasing at once count nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import redis.asyncio
from redis.exceptions import RedisError

from hub.core.storage.database import DatabaseUnavailable
from hub.core.storage.keys import KeyStore
from hub.services.access.redis_names import held_key, keys_of, lease_key, limit_keys, replicas_key

logger = logging.getLogger(__name__)

LEASE_SECONDS = 10.0
BEAT_SECONDS = 1.0
DONE_LIMIT = 10_000  # requests whose field waits to be removed (a field left is harmless)

RELEASE = """
local released = 0
for i = 2, #ARGV, 3 do
  local held = redis.call('HGET', KEYS[1], ARGV[i])
  if held then
    local owner, counted = string.match(held, '^(%S+) %S+ (%S+)$')
    if owner == ARGV[1] then
      if redis.call('EXISTS', KEYS[2]) == 1 then
        redis.call('INCRBYFLOAT', KEYS[2], tostring(tonumber(ARGV[i + 1]) - tonumber(counted)))
      end
      local old = redis.call('HGET', KEYS[3], ARGV[i])
      if old then
        redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 2])
        redis.call('INCRBYFLOAT', KEYS[4], tostring(tonumber(ARGV[i + 2]) - tonumber(old)))
      end
      redis.call('HDEL', KEYS[1], ARGV[i])
      released = released + 1
    end
  end
end
return released
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class Leases:
    """This replica's lease and the release of dead replicas' reservations."""

    def __init__(
        self, client: redis.asyncio.Redis, store: KeyStore, channel: str, token: str, name: str
    ) -> None:
        self.token = token
        self._client = client
        self._store = store
        self._channel = channel
        self._name = name
        self._release = client.register_script(RELEASE)
        self._done: deque[tuple[str, str]] = deque(maxlen=DONE_LIMIT)
        self._reap_failing = False

    async def announce(self, key_id: str) -> None:
        """Before this replica's first reservation on ``key_id``: where to find it if it dies."""
        pipe = self._client.pipeline(transaction=False)
        self._refresh(pipe)
        pipe.sadd(keys_of(self._channel, self.token), key_id)
        await pipe.execute()

    def done(self, key_id: str, request_id: str) -> None:
        """The request's final row is stored: its reservation is no longer held."""
        self._done.append((key_id, request_id))

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        task = asyncio.create_task(self._run())
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
            with suppress(RedisError, OSError):  # Redis gone: the fields are released later
                await self._beat()

    def _refresh(self, pipe: redis.asyncio.client.Pipeline) -> None:
        pipe.set(lease_key(self._channel, self.token), "1", px=int(LEASE_SECONDS * 1000))
        pipe.hset(replicas_key(self._channel), self.token, self._name)

    async def _run(self) -> None:
        """Beat, then release the dead; a failed release never stops the beats (else this
        replica's own lease would expire while it serves)."""
        while True:
            try:
                await self._beat()
            except (RedisError, OSError) as exc:  # the link logs the outage; next beat retries
                logger.debug("battement de bail manqué : %s", exc)
            try:
                await self._reap_dead()
                self._reap_failing = False
            except (RedisError, OSError, sqlite3.Error, DatabaseUnavailable) as exc:
                if not self._reap_failing:  # once per outage; retried every beat
                    logger.warning("Réservations d'une réplique disparue non réglées : %s", exc)
                self._reap_failing = True
            await asyncio.sleep(BEAT_SECONDS)

    async def _beat(self) -> None:
        """Refresh the lease; forget the held fields of requests whose rows are stored."""
        done = list(self._done)
        self._done.clear()
        pipe = self._client.pipeline(transaction=False)
        self._refresh(pipe)
        for key_id, request_id in done:
            pipe.hdel(held_key(key_id), request_id)
        try:
            await pipe.execute()
        except (RedisError, OSError):
            self._done.extendleft(reversed(done))
            raise

    async def _reap_dead(self) -> None:
        replicas = await self._client.hgetall(replicas_key(self._channel))
        others = [(_text(t), _text(n)) for t, n in replicas.items() if _text(t) != self.token]
        if not others:
            return
        pipe = self._client.pipeline(transaction=False)
        for token, _ in others:
            pipe.exists(lease_key(self._channel, token))
        alive = await pipe.execute()
        for (token, name), lives in zip(others, alive, strict=True):
            if not lives:
                await self._reap(token, name)

    async def _reap(self, token: str, name: str) -> None:
        released = 0
        for raw in await self._client.smembers(keys_of(self._channel, token)):
            released += await self._release_key(_text(raw), token)
        pipe = self._client.pipeline(transaction=False)
        pipe.delete(keys_of(self._channel, token))
        pipe.hdel(replicas_key(self._channel), token)
        await pipe.execute()
        if released:
            logger.warning(
                "Réplique « %s » sans bail depuis %g s : %d réservation(s) réglée(s) "
                "d'après les lignes enregistrées.",
                name,
                LEASE_SECONDS,
                released,
            )

    async def _release_key(self, key_id: str, token: str) -> int:
        """Settle ``token``'s held reservations on one key to its rows (none: zero)."""
        by_start: defaultdict[str, list[str]] = defaultdict(list)
        for member, value in (await self._client.hgetall(held_key(key_id))).items():
            owner, start, _ = _text(value).split(" ")
            if owner == token:
                by_start[start].append(_text(member))
        released = 0
        for start, members in by_start.items():
            rows = await self._store.row_usage(members)
            args: list[str | int] = [token]
            for member in members:
                cost, tokens = rows.get(member, (0.0, 0))
                args += [member, repr(cost), tokens]
            budget, _, tokens_hash, used = limit_keys(key_id, float(start))
            keys = (held_key(key_id), budget, tokens_hash, used)
            released += int(await self._release(keys=keys, args=args))
        return released
