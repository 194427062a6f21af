"""Key counters in a real Redis, shared by two replicas (two RedisCounters, two clients)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio

from hub.core.records import RequestRecord
from hub.core.storage.keys import KeyLimits, KeyRecord, KeyStore
from hub.core.storage.store import Store
from hub.services.access.counters import Refusal, Reservation
from hub.services.access.redis_counters import RedisCounters
from hub.services.access.redis_leases import Leases
from hub.services.access.redis_names import held_key, lease_key, limit_keys, replicas_key
from tests.support.json_values import Json


def _key(**limits: Json) -> KeyRecord:
    return KeyRecord("0123456789ab", "équipe", "00", "00", time.time(), KeyLimits(**limits))


@pytest.fixture
async def keys(tmp_path: Path) -> AsyncIterator[KeyStore]:
    async with await Store.open(tmp_path / "hub.db") as store:
        yield KeyStore(store)


@pytest.fixture
async def replicas(redis_url: str, keys: KeyStore) -> AsyncIterator[list[RedisCounters]]:
    clients = [redis.asyncio.Redis.from_url(redis_url) for _ in range(2)]
    try:
        yield [
            RedisCounters(client, keys, Leases(client, keys, "test", f"r{n}", f"R{n}"))
            for n, client in enumerate(clients)
        ]
    finally:
        for client in clients:
            await client.aclose()


async def _reserve(
    counters: RedisCounters, key: KeyRecord, n: int, cost: float = 1.0
) -> Reservation | Refusal:
    return await counters.reserve(key, time.time(), cost, 10, f"m{n}")


async def test_rpm_is_shared_by_replicas(replicas: list[RedisCounters]) -> None:
    key = _key(rpm=5)
    outcomes = [await _reserve(replicas[n % 2], key, n) for n in range(5)]
    assert all(isinstance(o, Reservation) for o in outcomes)
    for counters in replicas:
        refused = await _reserve(counters, key, 99)
        assert isinstance(refused, Refusal) and refused.reason == "rpm"
        assert refused.retry_after is not None and 1 <= refused.retry_after <= 60


async def test_budget_holds_under_concurrency_across_replicas(
    replicas: list[RedisCounters],
) -> None:
    key = _key(budget=3.5)
    outcomes = await asyncio.gather(*(_reserve(replicas[n % 2], key, n) for n in range(20)))
    admitted = [o for o in outcomes if isinstance(o, Reservation)]
    assert len(admitted) == 3  # a fourth reservation of 1.0 would pass 3.5
    assert {o.reason for o in outcomes if isinstance(o, Refusal)} == {"budget"}
    pending = replicas[0].adjust(admitted[0], -1.0, 0)  # refused upstream: reservation goes
    assert pending is not None
    await pending
    assert isinstance(await _reserve(replicas[1], key, 50), Reservation)
    refused = await _reserve(replicas[0], key, 51)
    assert isinstance(refused, Refusal) and refused.spent == pytest.approx(3.0)


async def test_budget_admits_what_fits_exactly(replicas: list[RedisCounters]) -> None:
    """0.009 three times is 0.027000000000000003 in floats: the third still fits 0.027."""
    key = _key(budget=0.027)
    outcomes = [await _reserve(replicas[n % 2], key, n, cost=0.009) for n in range(4)]
    assert [isinstance(o, Reservation) for o in outcomes] == [True, True, True, False]


async def test_tokens_leave_the_window(replicas: list[RedisCounters]) -> None:
    """The window's token sum is kept as admissions come, settle and leave."""
    key = _key(tpm=100)
    old = await replicas[0].reserve(key, time.time() - 120, 0.0, 10, "old")
    assert isinstance(old, Reservation)
    pending = replicas[0].adjust(old, 0.0, 500)
    assert pending is not None
    await pending
    now = time.time()
    assert isinstance(await replicas[1].reserve(key, now, 0.0, 100, "new"), Reservation)
    refused = await replicas[0].reserve(key, now, 0.0, 1, "more")
    assert isinstance(refused, Refusal) and refused.reason == "tpm"


async def test_tpm_counts_settled_tokens(replicas: list[RedisCounters]) -> None:
    key = _key(tpm=100)
    first = await replicas[0].reserve(key, time.time(), 0.0, 10, "a")
    assert isinstance(first, Reservation)
    replicas[0].adjust(first, 0.0, 150)  # the real usage was larger than reserved
    await replicas[0].flush()
    refused = await replicas[1].reserve(key, time.time(), 0.0, 10, "b")
    assert isinstance(refused, Refusal) and refused.reason == "tpm"


async def test_budget_starts_from_stored_rows(
    replicas: list[RedisCounters], keys: KeyStore, tmp_path: Path
) -> None:
    key = _key(budget=3.0, period="month")
    async with await Store.open(tmp_path / "hub.db") as store:
        session = await store.create_session("s", active=True)
        row = RequestRecord(
            session_id=session.id, created_at=time.time(), model_key="m", provider="p",
            upstream_model="m", stream=False, prompt_tokens=1, completion_tokens=1,
            usage_source="upstream", prompt_estimate=1, ttfb_ms=1.0, total_ms=1.0,
            status="ok", http_status=200, error=None, cost=5.0, key_id=key.id,
        )  # fmt: skip
        await store.insert_request(row)
    refused = await _reserve(replicas[0], key, 1)
    assert isinstance(refused, Refusal) and refused.reason == "budget"
    assert replicas[0].spent(key, time.time()) == pytest.approx(5.0)


async def test_redis_down_admits_and_warns(
    keys: KeyStore, caplog: pytest.LogCaptureFixture
) -> None:
    client = redis.asyncio.Redis.from_url("redis://127.0.0.1:9", socket_connect_timeout=0.5)
    try:
        counters = RedisCounters(client, keys, Leases(client, keys, "test", "r", "R"))
        for n in range(2):
            assert isinstance(await _reserve(counters, _key(rpm=1), n), Reservation)
    finally:
        await client.aclose()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "Redis injoignable" in warnings[0].getMessage()


async def test_a_dead_replicas_reservations_are_settled_once_to_its_rows(
    replicas: list[RedisCounters], keys: KeyStore, redis_url: str, tmp_path: Path
) -> None:
    """r0 reserved three requests and died (its lease gone); one of them has a row. Two
    survivors release at once: the budget and the tokens are the rows', counted once."""
    key = _key(budget=10.0, tpm=1000)
    for n in range(3):
        assert isinstance(await _reserve(replicas[0], key, n), Reservation)
    async with await Store.open(tmp_path / "hub.db") as store:
        session = await store.create_session("s", active=True)
        row = RequestRecord(
            session_id=session.id, created_at=time.time(), model_key="m", provider="p",
            upstream_model="m", stream=False, prompt_tokens=5, completion_tokens=2,
            usage_source="upstream", prompt_estimate=5, ttfb_ms=1.0, total_ms=1.0,
            status="ok", http_status=200, error=None, cost=0.25, key_id=key.id,
            request_id="m1",
        )  # fmt: skip
        await store.insert_request(row)
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        await client.delete(lease_key("test", "r0"))  # what its expiry does
        survivors = [Leases(client, keys, "test", f"s{n}", f"S{n}") for n in range(2)]
        async with survivors[0].running(), survivors[1].running():
            for _ in range(100):
                if not await client.exists(held_key(key.id)):
                    break
                await asyncio.sleep(0.05)
        budget, _, tokens, used = limit_keys(key.id, 0)
        assert float(str(await client.get(budget))) == pytest.approx(0.25)
        assert await client.hgetall(tokens) == {"m0": "0", "m1": "7", "m2": "0"}
        assert float(str(await client.get(used))) == 7
        assert not await client.hexists(replicas_key("test"), "r0")
    finally:
        await client.aclose()
