"""Memory counters: the check and the count of one admission, budget and window."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.core.storage.keys import KeyLimits, KeyRecord, KeyStore
from hub.core.storage.store import Store
from hub.services.access.counters import MemoryCounters, Refusal, Reservation


def _key(budget: float | None = None, tpm: int | None = None) -> KeyRecord:
    limits = KeyLimits(budget=budget, tpm=tpm)
    return KeyRecord("0123456789ab", "mémoire", "00", "00", time.time(), limits)


@pytest.fixture
async def counters(tmp_path: Path) -> AsyncIterator[MemoryCounters]:
    async with await Store.open(tmp_path / "hub.db") as store:
        await store.migrate()
        yield MemoryCounters(KeyStore(store))


async def test_what_fits_exactly_is_admitted(counters: MemoryCounters) -> None:
    """0.009 three times is 0.027000000000000003 in floats: the third still fits 0.027."""
    key = _key(budget=0.027)
    outcomes = [await counters.reserve(key, time.time(), 0.009, 1, f"m{n}") for n in range(4)]
    assert [isinstance(o, Reservation) for o in outcomes] == [True, True, True, False]
    refused = outcomes[3]
    assert isinstance(refused, Refusal) and refused.spent == pytest.approx(0.027)


async def test_settling_gives_back_what_was_not_spent(counters: MemoryCounters) -> None:
    key = _key(budget=1.0)
    first = await counters.reserve(key, time.time(), 0.8, 1, "a")
    assert isinstance(first, Reservation)
    assert isinstance(await counters.reserve(key, time.time(), 0.3, 1, "b"), Refusal)
    counters.adjust(first, 0.1 - 0.8, 1)  # it cost 0.1
    assert isinstance(await counters.reserve(key, time.time(), 0.3, 1, "c"), Reservation)
    assert counters.spent(key, time.time()) == pytest.approx(0.4)


async def test_tokens_leave_the_window(counters: MemoryCounters) -> None:
    key = _key(tpm=100)
    old = await counters.reserve(key, time.time() - 120, 0.0, 10, "old")
    assert isinstance(old, Reservation)
    now = time.time()
    assert isinstance(await counters.reserve(key, now, 0.0, 100, "new"), Reservation)
    counters.adjust(old, 0.0, 500)  # settled after it left the window: no longer counted
    refused = await counters.reserve(key, now, 0.0, 1, "more")
    assert isinstance(refused, Refusal) and refused.reason == "tpm"
    assert refused.retry_after is not None and 1 <= refused.retry_after <= 60
