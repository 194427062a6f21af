"""Where a key's counters live: this process (default) or Redis (team mode, redis_counters.py).

Both answer the same question atomically: may this key start one more request now, and
if so, count it (a reservation, adjusted when the request ends). A budget admits a
request when the spend so far (reservations of requests in flight included) plus its
own reservation is within the budget. Spend per period is read back from the stored
rows the first time a key is seen in a period.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

from hub.core.records import RequestRecord
from hub.core.storage.keys import KeyRecord, KeyStore, Period

WINDOW_SECONDS = 60.0
# Float sums of costs drift by ~1e-16 relative: a request that fits exactly must not be
# refused for it.
TOLERANCE = 1e-9
Reason = Literal["budget", "rpm", "tpm"]


def period_start(period: Period, now: float) -> float:
    if period == "total":
        return 0.0
    day = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (day if period == "day" else day.replace(day=1)).timestamp()


def over_budget(spent: float, cost: float, budget: float) -> bool:
    return spent + cost > budget + TOLERANCE * max(1.0, budget)


@dataclass(frozen=True)
class Refusal:
    reason: Reason
    retry_after: int | None = None
    spent: float = 0.0  # the period's spend when refused (budget refusals say what is left)


@dataclass
class WindowEntry:
    """One admission in a key's last minute; ``tokens`` settled in place."""

    at: float
    tokens: float
    counted: bool = True  # False once it left the window


@dataclass(frozen=True)
class Reservation:
    """What one admitted request counted; ``member`` names it in Redis, ``entry`` in memory."""

    key_id: str
    start: float
    member: str = ""
    entry: WindowEntry | None = None


class Counters(Protocol):
    async def reserve(
        self, key: KeyRecord, now: float, cost: float, tokens: float, member: str
    ) -> Reservation | Refusal: ...

    def adjust(
        self, reservation: Reservation, cost: float, tokens: float, final: bool = False
    ) -> asyncio.Task[None] | None:
        """Add ``cost`` to the period's spend, set the request's tokens. Never waits: a
        write still on its way (Redis) is returned for whoever must wait for it.
        ``final``: the request leaves no row (Redis: no longer held, redis_leases.py)."""

    def stored(self, record: RequestRecord) -> None:
        """A request's final row is stored: what it counted is final."""

    def spent(self, key: KeyRecord, now: float) -> float:
        """The period's spend as last seen here (metrics, /api/keys)."""


@dataclass
class _Budget:
    start: float
    spent: float


@dataclass
class _Window:
    """Admissions of the last minute and the sum of their tokens, kept as they change."""

    entries: deque[WindowEntry] = field(default_factory=deque)
    used: float = 0.0

    def prune(self, now: float) -> None:
        while self.entries and self.entries[0].at <= now - WINDOW_SECONDS:
            entry = self.entries.popleft()
            entry.counted = False
            self.used -= entry.tokens

    def wait_for(self, now: float, excess: float) -> int:
        """Seconds until ``excess`` tokens (or one request when 0) leave the window."""
        freed = 0.0
        for entry in self.entries:
            freed += entry.tokens
            if freed >= excess:
                return max(1, math.ceil(entry.at + WINDOW_SECONDS - now))
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
        # From here on nothing awaits: the check and the count are one step.
        if budget is not None and limits.budget is not None:
            if over_budget(budget.spent, cost, limits.budget):
                return Refusal("budget", spent=budget.spent)
        window = self._windows.setdefault(key.id, _Window())
        window.prune(now)
        if limits.rpm is not None and len(window.entries) >= limits.rpm:
            return Refusal("rpm", window.wait_for(now, 0))
        if limits.tpm is not None and window.used >= limits.tpm:
            return Refusal("tpm", window.wait_for(now, window.used - limits.tpm + 1))
        entry = WindowEntry(now, tokens)
        window.entries.append(entry)
        window.used += tokens
        if budget is not None:
            budget.spent += cost
        start = budget.start if budget is not None else 0.0
        return Reservation(key.id, start, member, entry)

    def adjust(
        self, reservation: Reservation, cost: float, tokens: float, final: bool = False
    ) -> None:
        entry = reservation.entry
        if entry is not None:
            window = self._windows.get(reservation.key_id)
            if entry.counted and window is not None:
                window.used += tokens - entry.tokens
            entry.tokens = tokens
        budget = self._budgets.get(reservation.key_id)
        if budget is not None and budget.start == reservation.start:
            budget.spent += cost

    def stored(self, record: RequestRecord) -> None:
        """Nothing to do: one process holds nothing another could have to release."""

    def spent(self, key: KeyRecord, now: float) -> float:
        budget = self._budgets.get(key.id)
        start = period_start(key.limits.period, now)
        return budget.spent if budget is not None and budget.start == start else 0.0
