"""``GET /metrics``: Prometheus counters of this process, fed by each stored request row.

Counters move when a row is stored (``RequestRecorder.observers``), so they match the
rows this replica wrote since it started; they are plain numbers turned into metrics when
Prometheus scrapes, like MCP upstream state and per-key budgets, read then. One registry
per hub (no global default registry).

Label values come from the configuration, never from clients: configured models and
providers, known keys, configured MCP servers. Anything else (``provider/<any name>``)
is counted under ``autre``, so the series stay bounded whatever clients send.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from hub.core.jsontypes import as_int, as_str
from hub.core.records import RequestRecord
from hub.features.mcp_hub import UpstreamHub
from hub.services.access.budgets import LimitService
from hub.services.access.keys import KeyService
from hub.services.telemetry import Buckets, HubTime, Telemetry

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SECONDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
NO_KEY = "aucune"
OTHER = "autre"
STATES = ("starting", "ready", "degraded", "down", "disabled")


class _Live(Collector):
    """What is read at scrape time: MCP upstreams and what each key has left."""

    def __init__(self, upstreams: UpstreamHub, keys: KeyService, limits: LimitService) -> None:
        self._upstreams = upstreams
        self._keys = keys
        self._limits = limits

    def collect(self) -> Iterable[Metric]:
        state = GaugeMetricFamily(
            "kimi_mcp_upstream_state",
            "État des serveurs MCP amont (1 = état courant)",
            labels=["server", "state"],
        )
        calls = CounterMetricFamily(
            "kimi_mcp_tool_calls", "Appels d'outils MCP amont", labels=["server", "result"]
        )
        seconds = CounterMetricFamily(
            "kimi_mcp_tool_call_seconds",
            "Durée cumulée des appels d'outils MCP amont",
            labels=["server"],
        )
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
        budget = GaugeMetricFamily(
            "kimi_key_budget_remaining",
            "Budget restant par clé sur la période en cours",
            labels=["key", "name"],
        )
        for key in self._keys.known():
            remaining = self._limits.remaining(key)
            if remaining is not None and key.revoked_at is None:
                budget.add_metric([key.id, key.name], remaining)
        return [state, calls, seconds, budget]


@dataclass
class _Tally:
    """One label set's counters: plain numbers, turned into metrics only when scraped."""

    requests: int = 0
    prompt: int = 0
    completion: int = 0
    cached: int = 0
    cost: float = 0.0


def _seconds() -> Buckets:
    return Buckets(SECONDS)


def _histogram(family: HistogramMetricFamily, labels: list[str], buckets: Buckets) -> None:
    bounds, counts = zip(*buckets.cumulative(), strict=True)
    pairs = list(zip(map(floatToGoString, bounds), map(float, counts), strict=True))
    family.add_metric(labels, pairs, buckets.total)


class _Rows(Collector):
    """Counters and histograms of the stored request rows.

    A row moves plain numbers (``observe``); ``prometheus_client``'s own ``Counter`` and
    ``Histogram`` take a lock on every increment, which every proxied request would pay
    (measured in docs/BENCHMARKS.md).
    """

    def __init__(
        self, models: Collection[str], providers: Collection[str], keys: KeyService
    ) -> None:
        self._models = frozenset(models)
        self._providers = frozenset(providers)
        self._keys = keys
        self.tallies: defaultdict[tuple[str, str, str, str], _Tally] = defaultdict(_Tally)
        self.latency: defaultdict[tuple[str, str], Buckets] = defaultdict(_seconds)
        self.ttfb: defaultdict[tuple[str, str], Buckets] = defaultdict(_seconds)
        self.retries: defaultdict[str, int] = defaultdict(int)
        self.saved: defaultdict[str, int] = defaultdict(int)

    def observe(self, row: RequestRecord) -> None:
        """One stored request row."""
        model = row.model_key if row.model_key in self._models else OTHER
        provider = row.provider if row.provider in self._providers else OTHER
        key = (
            NO_KEY if row.key_id is None else row.key_id if self._keys.knows(row.key_id) else OTHER
        )
        tally = self.tallies[model, provider, key, row.status]
        tally.requests += 1
        tally.prompt += row.prompt_tokens
        tally.completion += row.completion_tokens
        tally.cached += row.cached_tokens
        tally.cost += row.cost
        self.latency[model, provider].observe(row.total_ms / 1000)
        if row.ttfb_ms is not None:
            self.ttfb[model, provider].observe(row.ttfb_ms / 1000)
        if row.attempts > 1:
            self.retries[provider] += row.attempts - 1
        if row.tokens_saved:
            self.saved[model] += row.tokens_saved

    def collect(self) -> Iterable[Metric]:
        who = ["model", "provider", "key"]
        requests = CounterMetricFamily(
            "kimi_requests", "Requêtes de chat proxifiées", labels=[*who, "status"]
        )
        tokens = CounterMetricFamily(
            "kimi_tokens", "Tokens par type (prompt, completion, cached)", labels=[*who, "kind"]
        )
        cost = CounterMetricFamily("kimi_cost", "Coût des requêtes (devise des prix)", labels=who)
        costs: dict[tuple[str, str, str], float] = {}
        for (model, provider, key, status), tally in self.tallies.items():
            requests.add_metric([model, provider, key, status], tally.requests)
            for kind, value in (
                ("prompt", tally.prompt),
                ("completion", tally.completion),
                ("cached", tally.cached),
            ):
                tokens.add_metric([model, provider, key, kind], value)
            costs[model, provider, key] = costs.get((model, provider, key), 0.0) + tally.cost
        for labels, spent in costs.items():
            cost.add_metric(list(labels), spent)
        latency = HistogramMetricFamily(
            "kimi_request_duration_seconds",
            "Durée totale des requêtes",
            labels=["model", "provider"],
        )
        ttfb = HistogramMetricFamily(
            "kimi_time_to_first_byte_seconds",
            "Délai jusqu'au premier octet du fournisseur",
            labels=["model", "provider"],
        )
        for family, series in ((latency, self.latency), (ttfb, self.ttfb)):
            for (model, provider), buckets in series.items():
                _histogram(family, [model, provider], buckets)
        retries = CounterMetricFamily(
            "kimi_upstream_retries", "Nouvelles tentatives vers le fournisseur", labels=["provider"]
        )
        for provider, count in self.retries.items():
            retries.add_metric([provider], count)
        saved = CounterMetricFamily(
            "kimi_tokens_saved", "Tokens économisés (masquage, compaction)", labels=["model"]
        )
        for model, count in self.saved.items():
            saved.add_metric([model], count)
        return [requests, tokens, cost, latency, ttfb, retries, saved]


class _HubTime(Collector):
    """The hub's own time per request (hub.services.telemetry.hub_time), read at scrape."""

    def __init__(self, hub_time: HubTime) -> None:
        self._hub_time = hub_time

    def collect(self) -> Iterable[Metric]:
        family = HistogramMetricFamily(
            "kimi_hub_overhead_seconds",
            "Temps propre du hub par requête (durée moins l'attente du fournisseur, "
            "du serveur MCP amont et du client)",
            labels=["kind"],
        )
        for kind, buckets in sorted(self._hub_time.series.items()):
            _histogram(family, [kind], buckets)
        return [family]


class PrometheusMetrics:
    def __init__(
        self,
        upstreams: UpstreamHub,
        keys: KeyService,
        limits: LimitService,
        labels: tuple[Collection[str], Collection[str]],
        telemetry: Telemetry,
    ) -> None:
        """``labels``: the configured model keys and provider names."""
        self.registry = CollectorRegistry(auto_describe=True)
        self._rows = _Rows(*labels, keys)
        self.registry.register(self._rows)
        self.registry.register(_Live(upstreams, keys, limits))
        self.registry.register(_HubTime(telemetry.hub_time))

    def observe(self, row: RequestRecord) -> None:
        """One stored request row."""
        self._rows.observe(row)

    def render(self) -> bytes:
        return generate_latest(self.registry)
