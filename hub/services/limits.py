"""Per-key budgets and rates: reserve before the upstream call, settle on the stored row.

A request is admitted while the key's period spend (settled costs plus what the requests
in flight reserved) is below its budget, and while fewer than ``rpm`` requests / ``tpm``
tokens were admitted in the last 60 seconds (a sliding window). The reservation is the
prompt (tiktoken) plus ``max_tokens`` at the model's prices; the row's real cost replaces
it when the request ends, a stream when its last byte is relayed. So N concurrent
requests can overspend by at most what each of them costs beyond its reservation.

Counters live in memory, per process; a budget's spend is read back from the stored rows
the first time a key is seen in a period (at start, or when a new day or month begins).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hub.core.errors import HubError
from hub.core.jsontypes import JSON, JSONObject, as_list
from hub.core.keys_store import KeyRecord, KeyStore, Period
from hub.core.records import RequestRecord
from hub.core.tokens import TokenCounter
from hub.proxy.routing import ModelRouter
from hub.services.keys import matches

WINDOW_SECONDS = 60.0


def period_start(period: Period, now: float) -> float:
    if period == "total":
        return 0.0
    day = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (day if period == "day" else day.replace(day=1)).timestamp()


class LimitExceeded(HubError):
    def __init__(self, message: str, code: str, retry_after: int | None = None) -> None:
        super().__init__(message, status=429, error_type="rate_limit_error", code=code)
        self.retry_after = retry_after


@dataclass
class _Budget:
    start: float
    spent: float


@dataclass
class _Window:
    """Admissions of the last minute: (time, tokens), tokens settled in place."""

    entries: deque[list[float]] = field(default_factory=deque)

    def prune(self, now: float) -> None:
        while self.entries and self.entries[0][0] <= now - WINDOW_SECONDS:
            self.entries.popleft()

    def tokens(self) -> float:
        return sum(entry[1] for entry in self.entries)

    def wait_for(self, now: float, excess: float) -> int:
        """Seconds until ``excess`` tokens (or one request when 0) leave the window."""
        freed = 0.0
        for at, tokens in self.entries:
            freed += tokens
            if freed >= excess:
                return max(1, math.ceil(at + WINDOW_SECONDS - now))
        return int(WINDOW_SECONDS)


@dataclass
class Admission:
    """One admitted request's reservation; settled once, by its row or by ``release``."""

    key_id: str
    cost: float
    entry: list[float]
    budget: _Budget | None
    key_name: str = ""
    recording: bool = False
    done: bool = False

    def settle(self, record: RequestRecord) -> None:
        if self.done:
            return
        self.done = True
        self.entry[1] = record.prompt_tokens + record.completion_tokens
        if self.budget is not None:
            self.budget.spent += record.cost - self.cost

    def release(self) -> None:
        """The request ended before any row was written (refused by the hub itself)."""
        if self.done or self.recording:
            return
        self.done = True
        self.entry[1] = 0
        if self.budget is not None:
            self.budget.spent -= self.cost


class LimitService:
    def __init__(self, store: KeyStore, router: ModelRouter, counter: TokenCounter) -> None:
        self._store = store
        self._router = router
        self._counter = counter
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

    def remaining(self, key: KeyRecord) -> float | None:
        """Budget left in the current period as last seen (None: no budget)."""
        if key.limits.budget is None:
            return None
        budget = self._budgets.get(key.id)
        start = period_start(key.limits.period, time.time())
        spent = budget.spent if budget is not None and budget.start == start else 0.0
        return key.limits.budget - spent

    async def admit(self, key: KeyRecord, payload: JSONObject) -> Admission:
        """Check the key's model, budget and rates for this chat payload; reserve or refuse."""
        route = self._router.resolve(str(payload.get("model")))
        if not matches(route.model_key, key.limits.models):
            raise HubError(
                f"Le modèle « {route.model_key} » n'est pas autorisé pour cette clé.",
                status=403,
                error_type="permission_error",
                code="model_not_allowed",
                param="model",
            )
        limits, now = key.limits, time.time()
        prompt = 0
        if limits.budget is not None or limits.tpm is not None:
            tools: list[JSON] = as_list(payload.get("tools"))
            prompt = await self._counter.count_chat_async(as_list(payload.get("messages")), tools)
        completion = _max_tokens(payload)
        budget = await self._budget(key, now) if limits.budget is not None else None
        if budget is not None and limits.budget is not None and budget.spent >= limits.budget:
            raise LimitExceeded(
                f"Budget de la clé épuisé ({limits.budget:g} par période « {limits.period} »).",
                "budget_exceeded",
            )
        window = self._windows.setdefault(key.id, _Window())
        window.prune(now)
        if limits.rpm is not None and len(window.entries) >= limits.rpm:
            raise LimitExceeded(
                f"Limite de {limits.rpm} requêtes par minute atteinte pour cette clé.",
                "rate_limit_exceeded",
                window.wait_for(now, 0),
            )
        used = window.tokens()
        if limits.tpm is not None and used >= limits.tpm:
            raise LimitExceeded(
                f"Limite de {limits.tpm} tokens par minute atteinte pour cette clé.",
                "rate_limit_exceeded",
                window.wait_for(now, used - limits.tpm + 1),
            )
        model = route.model
        cost = (prompt * model.input_price + completion * model.output_price) / 1e6 if model else 0
        entry = [now, float(prompt + completion)]
        window.entries.append(entry)
        if budget is not None:
            budget.spent += cost
        return Admission(key.id, cost, entry, budget, key.name)


def _max_tokens(payload: JSONObject) -> int:
    for name in ("max_completion_tokens", "max_tokens"):
        value = payload.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return 0
