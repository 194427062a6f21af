"""Key counters in Redis (team mode): every replica checks and counts in one Lua script.

Per key: the period's spend (a float, ``INCRBYFLOAT``: settled costs plus reservations
in flight), the admissions of the last minute (a sorted set by time), their tokens (a
hash) and the sum of those (kept as they change: no walk over the window per request).
The check and the count run in one script, and so does a settlement, so two replicas
cannot both take the last request of a budget or a minute.
A budget's spend starts from the stored rows (read once per process and period, written
with ``SET NX``: the first replica's value wins). A settlement is sent at once; the
chat path waits for it before the end of the answer leaves, so the client's next
request, on any replica, sees the real cost. If Redis does not answer, the request is
admitted uncounted and a warning is logged once per outage: a Redis outage must not stop
the team (docs/decisions/0018-virtual-keys-and-budgets.md).
Each reservation is also *held* under its request id until its final row is stored, so
that the reservations of a replica that dies are settled to its rows (redis_leases.py).
"""

from __future__ import annotations

import asyncio
import logging

import redis.asyncio
from redis.exceptions import RedisError

from hub.core.records import RequestRecord
from hub.core.storage.keys import KeyRecord, KeyStore
from hub.services.access.counters import (
    TOLERANCE,
    WINDOW_SECONDS,
    Reason,
    Refusal,
    Reservation,
    period_start,
)
from hub.services.access.redis_leases import Leases
from hub.services.access.redis_names import held_key, limit_keys

logger = logging.getLogger(__name__)

RESERVE = """
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local rpm, tpm, budget = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local spent = 0
if budget >= 0 then
  redis.call('SET', KEYS[1], ARGV[9], 'NX')
  if tonumber(ARGV[10]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[10]) end
  spent = tonumber(redis.call('GET', KEYS[1]))
  if spent + tonumber(ARGV[6]) > budget + ARGV[11] * math.max(1, budget) then
    return {1, 0, tostring(spent)}
  end
end
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - window)
if #old > 0 then
  local freed = 0
  for _, tokens in ipairs(redis.call('HMGET', KEYS[3], unpack(old))) do
    freed = freed + tonumber(tokens or '0')
  end
  redis.call('INCRBYFLOAT', KEYS[4], tostring(-freed))
  redis.call('ZREM', KEYS[2], unpack(old))
  redis.call('HDEL', KEYS[3], unpack(old))
end
local count = redis.call('ZCARD', KEYS[2])
if count == 0 then redis.call('SET', KEYS[4], '0') end
if rpm >= 0 and count >= rpm then
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {2, math.max(1, math.ceil(tonumber(first[2]) + window - now)), tostring(spent)}
end
local used = tonumber(redis.call('GET', KEYS[4]) or '0')
if tpm >= 0 and used >= tpm then
  local members = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
  local freed = 0
  for i = 1, #members, 2 do
    freed = freed + tonumber(redis.call('HGET', KEYS[3], members[i]) or '0')
    if freed >= used - tpm + 1 then
      return {3, math.max(1, math.ceil(tonumber(members[i + 1]) + window - now)), tostring(spent)}
    end
  end
  return {3, window, tostring(spent)}
end
redis.call('ZADD', KEYS[2], now, ARGV[8])
redis.call('HSET', KEYS[3], ARGV[8], ARGV[7])
redis.call('INCRBYFLOAT', KEYS[4], ARGV[7])
for i = 2, 4 do redis.call('EXPIRE', KEYS[i], window * 2) end
local counted = '0'
if budget >= 0 then
  spent = tonumber(redis.call('INCRBYFLOAT', KEYS[1], ARGV[6]))
  counted = ARGV[6]
end
redis.call('HSET', KEYS[5], ARGV[8], ARGV[12] .. ' ' .. ARGV[13] .. ' ' .. counted)
return {0, 0, tostring(spent)}
"""

ADJUST = """
local counts = redis.call('EXISTS', KEYS[1]) == 1
if tonumber(ARGV[1]) ~= 0 and counts then
  redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
end
local held = redis.call('HGET', KEYS[4], ARGV[2])
if held and ARGV[4] == '1' then
  redis.call('HDEL', KEYS[4], ARGV[2])
elseif held and counts then
  local owner, start, counted = string.match(held, '^(%S+) (%S+) (%S+)$')
  local now = tostring(tonumber(counted) + tonumber(ARGV[1]))
  redis.call('HSET', KEYS[4], ARGV[2], owner .. ' ' .. start .. ' ' .. now)
end
local old = redis.call('HGET', KEYS[2], ARGV[2])
if old then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
  redis.call('INCRBYFLOAT', KEYS[3], tostring(tonumber(ARGV[3]) - tonumber(old)))
end
return 1
"""

REASONS: dict[int, Reason] = {1: "budget", 2: "rpm", 3: "tpm"}
PERIOD_TTL = {"day": 2 * 86_400, "month": 32 * 86_400, "total": 0}


class RedisCounters:
    def __init__(self, client: redis.asyncio.Redis, store: KeyStore, leases: Leases) -> None:
        self._reserve = client.register_script(RESERVE)
        self._adjust = client.register_script(ADJUST)
        self._store = store
        self._leases = leases
        self._announced: set[str] = set()  # keys the lease lists (redis_leases.py)
        self._initial: dict[tuple[str, float], float] = {}
        self._spent: dict[tuple[str, float], float] = {}
        self._pending: set[asyncio.Task[None]] = set()
        self._down = False

    def _outage(self, exc: RedisError) -> None:
        if not self._down:
            logger.warning("Redis injoignable : limites des clés non comptées (%s)", exc)
        self._down = True

    async def reserve(
        self, key: KeyRecord, now: float, cost: float, tokens: float, member: str
    ) -> Reservation | Refusal:
        limits = key.limits
        start = period_start(limits.period, now)
        initial = 0.0
        if limits.budget is not None:
            if (key.id, start) not in self._initial:
                self._initial[key.id, start] = await self._store.spent_since(key.id, start)
            initial = self._initial[key.id, start]
        args = (
            now,
            WINDOW_SECONDS,
            -1 if limits.rpm is None else limits.rpm,
            -1 if limits.tpm is None else limits.tpm,
            -1 if limits.budget is None else limits.budget,
            cost,
            tokens,
            member,
            repr(initial),
            PERIOD_TTL[limits.period],
            TOLERANCE,
            self._leases.token,
            int(start),
        )
        try:
            if key.id not in self._announced:
                await self._leases.announce(key.id)
                self._announced.add(key.id)
            keys = (*limit_keys(key.id, start), held_key(key.id))
            result: object = await self._reserve(keys=keys, args=args)
        except RedisError as exc:
            self._outage(exc)
            return Reservation(key.id, start, member)
        self._down = False
        if not (isinstance(result, list) and len(result) == 3):
            raise RuntimeError(f"réponse Redis inattendue : {result!r}")
        code, retry, spent = int(result[0]), int(result[1]), float(result[2])
        self._spent[key.id, start] = spent
        if code in REASONS:
            return Refusal(REASONS[code], retry or None, spent)
        return Reservation(key.id, start, member)

    def adjust(
        self, reservation: Reservation, cost: float, tokens: float, final: bool = False
    ) -> asyncio.Task[None] | None:
        key_id = reservation.key_id
        budget, _, token_hash, used = limit_keys(key_id, reservation.start)
        spent = self._spent.get((reservation.key_id, reservation.start))
        if spent is not None:
            self._spent[reservation.key_id, reservation.start] = spent + cost

        async def send() -> None:
            try:
                args = (repr(cost), reservation.member, tokens, int(final))
                await self._adjust(keys=(budget, token_hash, used, held_key(key_id)), args=args)
            except RedisError as exc:
                self._outage(exc)

        task = asyncio.create_task(send())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return task

    async def flush(self) -> None:
        while self._pending:
            await asyncio.gather(*list(self._pending))

    def stored(self, record: RequestRecord) -> None:
        if record.key_id is not None and record.request_id is not None:
            self._leases.done(record.key_id, record.request_id)

    async def reconnected(self) -> None:
        """Redis is back, maybe restarted empty: budgets start again from the rows, and
        the lease lists this replica's keys again."""
        self._initial.clear()
        self._announced.clear()

    def spent(self, key: KeyRecord, now: float) -> float:
        return self._spent.get((key.id, period_start(key.limits.period, now)), 0.0)
