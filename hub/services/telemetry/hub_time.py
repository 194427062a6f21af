"""The hub's own time per request: the request's time minus what it waited on upstreams
(the provider, an upstream MCP server) and, for a stream, on the client reading it.

Always measured (two clock reads per request), read by ``/metrics`` at scrape time; plain
numbers, no lock, like the row counters of ``hub.services.reporting.prometheus``.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field

# The hub adds tens of microseconds to a chat request and a few milliseconds when it
# rewrites a long conversation (docs/BENCHMARKS.md): finer buckets than request durations.
HUB_SECONDS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


@dataclass
class Buckets:
    """A histogram's observations per bucket of ``bounds`` (and one more for +Inf)."""

    bounds: tuple[float, ...]
    counts: list[int] = field(init=False)
    total: float = 0.0

    def __post_init__(self) -> None:
        self.counts = [0] * (len(self.bounds) + 1)

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1  # bucket ``le`` holds values <= le
        self.total += value

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, observations at or below it), the last bound ``inf``."""
        running, pairs = 0, []
        for bound, count in zip((*self.bounds, math.inf), self.counts, strict=True):
            running += count
            pairs.append((bound, running))
        return pairs


class HubTime:
    """Hub time per kind of request: ``chat`` (/chat/completions), ``mcp`` (a tool call)."""

    def __init__(self) -> None:
        self.series: defaultdict[str, Buckets] = defaultdict(lambda: Buckets(HUB_SECONDS))

    def observe(self, kind: str, seconds: float) -> None:
        self.series[kind].observe(max(0.0, seconds))
