"""Typed rows of the store, and the JSON shape the API gives them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from hub.core.jsontypes import JSONObject

RequestStatus = Literal["ok", "error", "partial", "cancelled"]
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

    def to_json(self) -> JSONObject:
        data: JSONObject = dict(asdict(self))
        return data


@dataclass(frozen=True)
class RequestRecord:
    """One proxied chat request, whatever its outcome."""

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
    id: int | None = None

    def to_json(self) -> JSONObject:
        data: JSONObject = dict(asdict(self))
        data["total_tokens"] = self.prompt_tokens + self.completion_tokens
        return data


@dataclass(frozen=True)
class Totals:
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost: float
    errors: int
    tokens_saved: int

    def to_json(self) -> JSONObject:
        data: JSONObject = dict(asdict(self))
        data["total_tokens"] = self.prompt_tokens + self.completion_tokens
        return data
