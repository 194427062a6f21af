"""Per-key budgets and rates: reserve before the upstream call, settle at the real cost.

A request is admitted when the key's period spend (settled costs plus the reservations
of the requests in flight) plus its own reservation stays within the budget, and while
fewer than ``rpm`` requests / ``tpm`` tokens were admitted in the last 60 seconds (a
sliding window). The reservation is the most the request can cost: its prompt
(tiktoken) plus its completion ceiling at the model's prices. The ceiling is
``max_tokens`` / ``max_completion_tokens`` (at most the model's ``max_output``), else
the model's ``max_output``, else ``[limits] default_max_output``. Its real cost replaces
the reservation as soon as it is known: when the answer's usage is read, before the
client gets the end of the answer, else when the row is built. Check and count are one
atomic step (the event loop in memory, one Lua script in Redis): see counters.py.

A key with a budget may only use models with a price (``ModelConfig.priced``): an
unpriced model would spend nothing, so it would never run out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hub.config import LimitsConfig
from hub.core.errors import HubError
from hub.core.jsontypes import JSON, JSONObject, as_list
from hub.core.money import money
from hub.core.records import RequestRecord
from hub.core.storage.keys import KeyRecord
from hub.core.tokens import TokenCounter
from hub.proxy.routing import Route
from hub.services.access.counters import Counters, Refusal, Reservation
from hub.services.access.keys import matches
from hub.services.access.live import LiveConnections


class LimitExceeded(HubError):
    def __init__(self, message: str, code: str, retry_after: int | None = None) -> None:
        super().__init__(message, status=429, error_type="rate_limit_error", code=code)
        self.retry_after = retry_after


@dataclass
class Admission:
    """One admitted request's reservation; settled once, at its real cost or released."""

    key_id: str
    key_name: str
    cost: float
    reservation: Reservation
    counters: Counters
    live: LiveConnections
    recording: bool = False
    done: bool = False
    _pending: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def request_id(self) -> str:
        """The id of the request's row: its reservation is named by it."""
        return self.reservation.member

    def settle(self, cost: float, tokens: int) -> None:
        """Replace the reservation by the real cost (the row's); only the first call counts."""
        if not self.done:
            self.done = True
            self._pending = self.counters.adjust(self.reservation, cost - self.cost, tokens)

    @property
    def revoked(self) -> bool:
        """The key was revoked while the request ran (its connection was ended)."""
        return self.live.ended(self.key_id)

    async def settled(self) -> None:
        """Until the settlement is counted where every replica sees it (Redis)."""
        if self._pending is not None:
            await asyncio.shield(self._pending)

    def release(self) -> None:
        """The request ended before any row was written (refused by the hub itself)."""
        if not (self.done or self.recording):
            self.done = True
            self.counters.adjust(self.reservation, -self.cost, 0, final=True)


class LimitService:
    def __init__(
        self,
        counters: Counters,
        counter: TokenCounter,
        config: LimitsConfig,
        live: LiveConnections,
        new_id: Callable[[], str],
    ) -> None:
        self._counters = counters
        self._live = live
        self._counter = counter
        self._default_output = config.default_max_output
        self._new_id = new_id  # the request's row id, unique across replicas

    def row_stored(self, record: RequestRecord) -> None:
        """A recorder observer: the row's reservation is final (counters.py)."""
        self._counters.stored(record)

    def remaining(self, key: KeyRecord) -> float | None:
        """Budget left in the current period as last seen (None: no budget)."""
        if key.limits.budget is None:
            return None
        return money(key.limits.budget - self._counters.spent(key, time.time()))

    def check_model(self, key: KeyRecord, route: Route, asked: str) -> None:
        """403 unless one of the model's names matches the key's patterns.

        The names: the one the client used, the configured key and ``provider/model``:
        all designate the same upstream model at the same prices.
        """
        patterns = key.limits.models
        if not any(matches(name, patterns) for name in (asked, *route.names)):
            raise HubError(
                f"Le modèle « {asked[:200]} » n'est pas autorisé pour cette clé.",
                status=403,
                error_type="permission_error",
                code="model_not_allowed",
                param="model",
            )
        if key.limits.budget is not None and not (route.model and route.model.priced):
            raise HubError(
                f"Le modèle « {asked[:200]} » n'a pas de prix : une clé avec budget ne peut "
                "pas l'utiliser. Donnez-lui input_price et output_price dans une section "
                "[models] de config.toml (0 pour un modèle gratuit).",
                status=403,
                error_type="permission_error",
                code="model_not_priced",
                param="model",
            )

    def ceiling(self, route: Route, payload: JSONObject) -> int:
        """The most completion tokens this request can be billed for (``n`` answers)."""
        most = route.model.max_output if route.model else None
        asked = _positive(payload, "max_completion_tokens") or _positive(payload, "max_tokens")
        one = (min(asked, most) if most else asked) if asked else most or self._default_output
        return one * (_positive(payload, "n") or 1)

    async def admit(self, key: KeyRecord, route: Route, payload: JSONObject) -> Admission:
        """Reserve this chat payload's most expensive outcome on the key, or refuse (429)."""
        limits, now = key.limits, time.time()
        prompt = 0
        if limits.budget is not None or limits.tpm is not None:
            tools: list[JSON] = as_list(payload.get("tools"))
            prompt = await self._counter.count_chat_async(as_list(payload.get("messages")), tools)
        completion = self.ceiling(route, payload)
        model = route.model
        cost = (prompt * model.input_price + completion * model.output_price) / 1e6 if model else 0
        member = self._new_id()
        outcome = await self._counters.reserve(key, now, cost, prompt + completion, member)
        if isinstance(outcome, Refusal):
            raise _refused(key, outcome, cost, completion)
        return Admission(key.id, key.name, cost, outcome, self._counters, self._live)


def _refused(key: KeyRecord, refusal: Refusal, cost: float, completion: int) -> LimitExceeded:
    limits = key.limits
    if refusal.reason == "budget" and limits.budget is not None:
        left = max(0.0, limits.budget - refusal.spent)
        return LimitExceeded(
            f"Budget de la clé insuffisant : il reste {money(left):g} sur {limits.budget:g} "
            f"(période « {limits.period} ») et cette requête peut coûter jusqu'à "
            f"{money(cost):g} (son prompt et au plus {completion} tokens de réponse). "
            "Un max_tokens plus petit réserve moins ; sinon, attendre la période suivante.",
            "budget_exceeded",
        )
    what = f"{limits.rpm} requêtes" if refusal.reason == "rpm" else f"{limits.tpm} tokens"
    return LimitExceeded(
        f"Limite de {what} par minute atteinte pour cette clé.",
        "rate_limit_exceeded",
        refusal.retry_after,
    )


def _positive(payload: JSONObject, name: str) -> int:
    value = payload.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
