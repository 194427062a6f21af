"""Where a key's counters live: this process (default) or Redis (team mode, redis_counters.py).

Both answer the same question atomically: may this key start one more request now, and
if so, count it (a reservation, adjusted when the request ends). Spend per period is
read back from the stored rows the first time a key is seen in a period.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

from hub.core.storage.keys import KeyRecord, KeyStore, Period

WINDOW_SECONDS = 60.0
Reason = Literal["budget", "rpm", "tpm"]


def period_start(period: Period, now: float) -> float:
    if period == "total":
        return 0.0
    day = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (day if period == "day" else day.replace(day=1)).timestamp()


@dataclass(frozen=True)
class Refusal:
    reason: Reason
    retry_after: int | None = None


@dataclass(frozen=True)
class Reservation:
    """What one admitted request counted; ``member`` names it in Redis, ``entry`` in memory."""

    key_id: str
    start: float
    member: str = ""
    entry: list[float] = field(default_factory=list)


class Counters(Protocol):
    async def reserve(
        self, key: KeyRecord, now: float, cost: float, tokens: float, member: str
    ) -> Reservation | Refusal: ...

    def adjust(self, reservation: Reservation, cost: float, tokens: float) -> None:
        """Add ``cost`` to the period's spend, set the request's tokens (never waits)."""

    def spent(self, key: KeyRecord, now: float) -> float:
        """The period's spend as last seen here (metrics, /api/keys)."""


@dataclass
class _Budget:
    start: float
    spent: float


@dataclass
class _Window:
    """Admissions of the last minute: [time, tokens], tokens settled in place."""

    entries: deque[list[float]] = field(default_factory=deque)

    def prune(self, now: float) -> None:
        while self.entries and self.entries[0][0] <= now - WINDOW_SECONDS:
            self.entries.popleft()

    def wait_for(self, now: float, excess: float) -> int:
        """Seconds until ``excess`` tokens (or one request when 0) leave the window."""
        freed = 0.0
        for at, tokens in self.entries:
            freed += tokens
            if freed >= excess:
                return max(1, math.ceil(at + WINDOW_SECONDS - now))
        return int(WINDOW_SECONDS)


class MemoryCounters:
    """One process: a dict per key; the event loop makes each check-and-count atomic."""

    def __init__(self, store: KeyStore) -> None:
        self._store = store
        self._budgets: dict[str, _Budget] = {}
        self._windows: dict[str, _Window] = {}
        self._loading: dict[str, asyncio.Lock] = {}

    async def _budget(self, key: KeyRecord, now: float) -> _Budget:
        start = period_start(key.limits.period, now)
        budget = self._budgets.get(key.id)
        if budget is not None and budget.start == start:
            return budget
        async with self._loading.setdefault(key.id, asyncio.Lock()):
            budget = self._budgets.get(key.id)
            if budget is None or budget.start != start:
                budget = _Budget(start, await self._store.spent_since(key.id, start))
                self._budgets[key.id] = budget
        return budget

    async def reserve(
        self, key: KeyRecord, now: float, cost: float, tokens: float, member: str
    ) -> Reservation | Refusal:
        limits = key.limits
        budget = await self._budget(key, now) if limits.budget is not None else None
        if budget is not None and limits.budget is not None and budget.spent >= limits.budget:
            return Refusal("budget")
        window = self._windows.setdefault(key.id, _Window())
        window.prune(now)
        if limits.rpm is not None and len(window.entries) >= limits.rpm:
            return Refusal("rpm", window.wait_for(now, 0))
        used = sum(entry[1] for entry in window.entries)
        if limits.tpm is not None and used >= limits.tpm:
            return Refusal("tpm", window.wait_for(now, used - limits.tpm + 1))
        entry = [now, tokens]
        window.entries.append(entry)
        if budget is not None:
            budget.spent += cost
        start = budget.start if budget is not None else 0.0
        return Reservation(key.id, start, member, entry)

    def adjust(self, reservation: Reservation, cost: float, tokens: float) -> None:
        if reservation.entry:
            reservation.entry[1] = tokens
        budget = self._budgets.get(reservation.key_id)
        if budget is not None and budget.start == reservation.start:
            budget.spent += cost

    def spent(self, key: KeyRecord, now: float) -> float:
        budget = self._budgets.get(key.id)
        start = period_start(key.limits.period, now)
        return budget.spent if budget is not None and budget.start == start else 0.0
