"""Typed rows of the store, and the JSON shape the API gives them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, astuple, dataclass
from typing import Literal

from hub.core.jsontypes import JSONObject
from hub.core.money import money

# ``interrupted``: the hub died (kill -9, crash) while the request ran; found in the
# journal at the next start.
RequestStatus = Literal["ok", "error", "partial", "cancelled", "interrupted"]
STATUSES: tuple[RequestStatus, ...] = ("ok", "error", "partial", "cancelled", "interrupted")
UsageSource = Literal["upstream", "estimated"]


@dataclass(frozen=True)
class SessionRecord:
    id: int
    name: str
    created_at: float
    active: bool
    provider: str | None
    model_key: str | None
    compaction: bool
    key_id: str | None = None
    auto: bool = False  # opened by the request path, not by a person

    def to_json(self) -> JSONObject:
        data: JSONObject = dict(asdict(self))
        return data


@dataclass
class RequestRecord:
    """One proxied chat request, whatever its outcome.

    A value: never changed once built. Not ``frozen`` because a frozen ``__init__`` sets
    each field through ``object.__setattr__``, about three times the cost, paid by every
    request and every row read back.
    """

    session_id: int
    created_at: float
    model_key: str
    provider: str
    upstream_model: str
    stream: bool
    prompt_tokens: int
    completion_tokens: int
    usage_source: UsageSource
    prompt_estimate: int
    ttfb_ms: float | None
    total_ms: float
    status: RequestStatus
    http_status: int
    error: str | None
    cost: float
    attempts: int = 1
    tokens_saved: int = 0
    request_id: str | None = None  # unique per request; makes journal replay idempotent
    key_id: str | None = None  # the virtual key that made it (hub/services/access/keys.py)
    cached_tokens: int = 0
    id: int | None = None

    def to_json(self) -> JSONObject:
        # Every field is a scalar: a shallow copy is asdict() without its deep copies, paid
        # three times per request (journal start, end, metric event).
        data: JSONObject = dict(vars(self))
        data["total_tokens"] = self.prompt_tokens + self.completion_tokens
        data["cost"] = money(self.cost)  # rows stored before costs were rounded
        return data

    def stored_as(self, row_id: int) -> RequestRecord:
        """This row with its database id: ``dataclasses.replace`` without its cost.

        ``replace`` re-runs ``__init__`` with every field as a keyword argument; copying the
        instance dictionary is several times cheaper. The original stays unchanged.
        """
        copy = object.__new__(RequestRecord)
        copy.__dict__.update(vars(self), id=row_id)
        return copy


# The row of a request that never ended (the hub died while it ran). A journal's start
# line carries only what differs from it (``Call.start_facts``): encoding the whole row
# before every upstream call was a large share of the hub's overhead.
INTERRUPTED: JSONObject = {
    "prompt_tokens": 0,
    "completion_tokens": 0,
    "usage_source": "estimated",
    "prompt_estimate": 0,
    "ttfb_ms": None,
    "total_ms": 0.0,
    "status": "interrupted",
    "http_status": 0,
    "error": "interrompue : le hub s'est arrêté pendant la requête",
    "cost": 0.0,
    "attempts": 1,
    "cached_tokens": 0,
}


def request_from_json(data: JSONObject) -> RequestRecord | None:
    """A row as ``to_json`` wrote it (the journal); None if a field is missing or mistyped."""

    def number(name: str) -> float:
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(name)
        return float(value)

    def text(name: str) -> str:
        value = data.get(name)
        if not isinstance(value, str):
            raise TypeError(name)
        return value

    def optional_text(name: str) -> str | None:
        return None if data.get(name) is None else text(name)

    status = next((s for s in STATUSES if s == data.get("status")), None)
    usage: UsageSource = "upstream" if data.get("usage_source") == "upstream" else "estimated"
    try:
        if status is None:
            raise TypeError("status")
        return RequestRecord(
            session_id=int(number("session_id")),
            created_at=number("created_at"),
            model_key=text("model_key"),
            provider=text("provider"),
            upstream_model=text("upstream_model"),
            stream=data.get("stream") is True,
            prompt_tokens=int(number("prompt_tokens")),
            completion_tokens=int(number("completion_tokens")),
            usage_source=usage,
            prompt_estimate=int(number("prompt_estimate")),
            ttfb_ms=None if data.get("ttfb_ms") is None else number("ttfb_ms"),
            total_ms=number("total_ms"),
            status=status,
            http_status=int(number("http_status")),
            error=optional_text("error"),
            cost=number("cost"),
            attempts=int(number("attempts")),
            tokens_saved=int(number("tokens_saved")),
            request_id=optional_text("request_id"),
            key_id=optional_text("key_id"),
            cached_tokens=int(number("cached_tokens")),
        )
    except TypeError:
        return None


@dataclass(frozen=True)
class Totals:
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost: float
    errors: int
    tokens_saved: int
    cached_tokens: int = 0

    @classmethod
    def of(cls, rows: Sequence[RequestRecord]) -> Totals:
        """The totals of some request rows (what the store's ``totals`` sums in SQL)."""
        return cls(
            len(rows),
            sum(r.prompt_tokens for r in rows),
            sum(r.completion_tokens for r in rows),
            sum((r.cost for r in rows), 0.0),
            sum(r.status != "ok" for r in rows),
            sum(r.tokens_saved for r in rows),
            sum(r.cached_tokens for r in rows),
        )

    def __add__(self, other: Totals) -> Totals:
        return Totals(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))

    def to_json(self) -> JSONObject:
        data: JSONObject = dict(asdict(self))
        data["total_tokens"] = self.prompt_tokens + self.completion_tokens
        data["cost"] = money(self.cost)  # a sum of rounded costs is not rounded
        return data
