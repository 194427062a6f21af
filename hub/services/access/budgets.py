"""Per-key budgets and rates: reserve before the upstream call, settle on the stored row.

A request is admitted while the key's period spend (settled costs plus what the requests
in flight reserved) is below its budget, and while fewer than ``rpm`` requests / ``tpm``
tokens were admitted in the last 60 seconds (a sliding window). The reservation is the
prompt (tiktoken) plus ``max_tokens`` at the model's prices; the row's real cost replaces
it when the request ends, a stream when its last byte is relayed. So N concurrent
requests can overspend by at most what each of them costs beyond its reservation.

Counters live in memory (one process) or in Redis (team mode): hub/services/access/counters.py.
"""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import dataclass

from hub.core.errors import HubError
from hub.core.jsontypes import JSON, JSONObject, as_list
from hub.core.records import RequestRecord
from hub.core.storage.keys import KeyRecord
from hub.core.tokens import TokenCounter
from hub.proxy.routing import ModelRouter
from hub.services.access.counters import Counters, Refusal, Reservation
from hub.services.access.keys import matches


class LimitExceeded(HubError):
    def __init__(self, message: str, code: str, retry_after: int | None = None) -> None:
        super().__init__(message, status=429, error_type="rate_limit_error", code=code)
        self.retry_after = retry_after


@dataclass
class Admission:
    """One admitted request's reservation; settled once, by its row or by ``release``."""

    key_id: str
    key_name: str
    cost: float
    reservation: Reservation
    counters: Counters
    recording: bool = False
    done: bool = False

    def settle(self, record: RequestRecord) -> None:
        if not self.done:
            self.done = True
            tokens = record.prompt_tokens + record.completion_tokens
            self.counters.adjust(self.reservation, record.cost - self.cost, tokens)

    def release(self) -> None:
        """The request ended before any row was written (refused by the hub itself)."""
        if not (self.done or self.recording):
            self.done = True
            self.counters.adjust(self.reservation, -self.cost, 0)


class LimitService:
    def __init__(self, counters: Counters, router: ModelRouter, counter: TokenCounter) -> None:
        self._counters = counters
        self._router = router
        self._counter = counter
        self._ids = itertools.count(1)
        self._prefix = uuid.uuid4().hex[:12]  # members are unique across replicas

    def remaining(self, key: KeyRecord) -> float | None:
        """Budget left in the current period as last seen (None: no budget)."""
        if key.limits.budget is None:
            return None
        return key.limits.budget - self._counters.spent(key, time.time())

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
        model = route.model
        cost = (prompt * model.input_price + completion * model.output_price) / 1e6 if model else 0
        member = f"{self._prefix}-{next(self._ids)}"
        outcome = await self._counters.reserve(key, now, cost, prompt + completion, member)
        if isinstance(outcome, Refusal):
            raise _refused(key, outcome)
        return Admission(key.id, key.name, cost, outcome, self._counters)


def _refused(key: KeyRecord, refusal: Refusal) -> LimitExceeded:
    limits = key.limits
    if refusal.reason == "budget":
        return LimitExceeded(
            f"Budget de la clé épuisé ({limits.budget:g} par période « {limits.period} »).",
            "budget_exceeded",
        )
    what = f"{limits.rpm} requêtes" if refusal.reason == "rpm" else f"{limits.tpm} tokens"
    return LimitExceeded(
        f"Limite de {what} par minute atteinte pour cette clé.",
        "rate_limit_exceeded",
        refusal.retry_after,
    )


def _max_tokens(payload: JSONObject) -> int:
    for name in ("max_completion_tokens", "max_tokens"):
        value = payload.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return 0
