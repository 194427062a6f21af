"""The time one request spends waiting on an upstream, wherever in the call it waits.

The tool gate opens a ``Stopwatch`` around an MCP call (``timing``); the upstream
connection adds its round trip to it (``waiting``). A ContextVar carries it down the
awaits of that one request, instead of an argument threaded through every layer in
between; outside a ``timing`` block, ``waiting`` measures nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class Stopwatch:
    upstream: float = 0.0  # seconds spent waiting on upstreams


_CURRENT: ContextVar[Stopwatch | None] = ContextVar("kimi_stopwatch", default=None)


@contextmanager
def timing() -> Iterator[Stopwatch]:
    """A call inside another (the search tool's ``tool_call``): its wait is the outer's too."""
    outer = _CURRENT.get()
    watch = Stopwatch()
    token = _CURRENT.set(watch)
    try:
        yield watch
    finally:
        _CURRENT.reset(token)
        if outer is not None:
            outer.upstream += watch.upstream


@contextmanager
def waiting() -> Iterator[None]:
    watch = _CURRENT.get()
    if watch is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        watch.upstream += time.perf_counter() - started
