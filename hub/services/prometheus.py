"""``GET /metrics``: Prometheus counters of this process, fed by each stored request row.

Counters move when a row is stored (``MetricRecorder.observers``), so they match the
rows this replica wrote since it started; MCP upstream state and per-key budgets are
read when Prometheus scrapes. One registry per hub (no global default registry).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hub.core.jsontypes import as_int, as_str
from hub.core.records import RequestRecord
from hub.features.mcp_hub import UpstreamHub
from hub.services.keys import KeyService
from hub.services.limits import LimitService

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SECONDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
NO_KEY = "aucune"
STATES = ("starting", "ready", "degraded", "down", "disabled")


class _Live(Collector):
    """What is read at scrape time: MCP upstreams and what each key has left."""

    def __init__(self, upstreams: UpstreamHub, keys: KeyService, limits: LimitService) -> None:
        self._upstreams = upstreams
        self._keys = keys
        self._limits = limits

    def collect(self) -> Iterable[Metric]:
        state = GaugeMetricFamily(
            "kimi_mcp_upstream_state", "État des serveurs MCP amont (1 = état courant)",
            labels=["server", "state"],
        )  # fmt: skip
        calls = CounterMetricFamily("kimi_mcp_tool_calls", "Appels d'outils MCP amont",
                                    labels=["server", "result"])  # fmt: skip
        seconds = CounterMetricFamily(
            "kimi_mcp_tool_call_seconds", "Durée cumulée des appels d'outils MCP amont",
            labels=["server"],
        )  # fmt: skip
        for status in self._upstreams.statuses():
            name = as_str(status.get("name")) or "?"
            for value in STATES:
                state.add_metric([name, value], 1.0 if status.get("state") == value else 0.0)
            total, errors = as_int(status.get("calls")) or 0, as_int(status.get("errors")) or 0
            calls.add_metric([name, "ok"], total - errors)
            calls.add_metric([name, "error"], errors)
            average = status.get("latency_ms_avg")
            if isinstance(average, int | float):
                seconds.add_metric([name], average * total / 1000)
        budget = GaugeMetricFamily("kimi_key_budget_remaining",
                                   "Budget restant par clé sur la période en cours",
                                   labels=["key", "name"])  # fmt: skip
        for key in self._keys.known():
            remaining = self._limits.remaining(key)
            if remaining is not None and key.revoked_at is None:
                budget.add_metric([key.id, key.name], remaining)
        return [state, calls, seconds, budget]


@dataclass(frozen=True)
class _Series:
    requests: Counter
    prompt: Counter
    completion: Counter
    cached: Counter
    cost: Counter
    latency: Histogram
    ttfb: Histogram


class HubMetrics:
    def __init__(self, upstreams: UpstreamHub, keys: KeyService, limits: LimitService) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        who = ["model", "provider", "key"]
        self._requests = Counter("kimi_requests", "Requêtes de chat proxifiées",
                                 [*who, "status"], registry=r)  # fmt: skip
        self._tokens = Counter("kimi_tokens", "Tokens par type (prompt, completion, cached)",
                               [*who, "kind"], registry=r)  # fmt: skip
        self._cost = Counter("kimi_cost", "Coût des requêtes (devise des prix)", who, registry=r)
        self._latency = Histogram("kimi_request_duration_seconds", "Durée totale des requêtes",
                                  ["model", "provider"], buckets=SECONDS, registry=r)  # fmt: skip
        self._ttfb = Histogram("kimi_time_to_first_byte_seconds",
                               "Délai jusqu'au premier octet du fournisseur",
                               ["model", "provider"], buckets=SECONDS, registry=r)  # fmt: skip
        self._retries = Counter("kimi_upstream_retries", "Nouvelles tentatives vers le fournisseur",
                                ["provider"], registry=r)  # fmt: skip
        self._saved = Counter("kimi_tokens_saved", "Tokens économisés (masquage, compaction)",
                              ["model"], registry=r)  # fmt: skip
        r.register(_Live(upstreams, keys, limits))
        self._series: dict[tuple[str, str, str, str], _Series] = {}

    def observe(self, row: RequestRecord) -> None:
        """One stored request row."""
        series = self._of(row.model_key, row.provider, row.key_id or NO_KEY, row.status)
        series.requests.inc()
        series.prompt.inc(row.prompt_tokens)
        series.completion.inc(row.completion_tokens)
        series.cached.inc(row.cached_tokens)
        series.cost.inc(row.cost)
        series.latency.observe(row.total_ms / 1000)
        if row.ttfb_ms is not None:
            series.ttfb.observe(row.ttfb_ms / 1000)
        if row.attempts > 1:
            self._retries.labels(row.provider).inc(row.attempts - 1)
        if row.tokens_saved:
            self._saved.labels(row.model_key).inc(row.tokens_saved)

    def _of(self, model: str, provider: str, key: str, status: str) -> _Series:
        """A row's label children, looked up once per label set (``labels()`` is slow)."""
        found = self._series.get((model, provider, key, status))
        if found is None:
            who = (model, provider, key)
            found = _Series(
                self._requests.labels(*who, status),
                self._tokens.labels(*who, "prompt"),
                self._tokens.labels(*who, "completion"),
                self._tokens.labels(*who, "cached"),
                self._cost.labels(*who),
                self._latency.labels(model, provider),
                self._ttfb.labels(model, provider),
            )
            self._series[model, provider, key, status] = found
        return found

    def render(self) -> bytes:
        return generate_latest(self.registry)
