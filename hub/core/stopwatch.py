"""The time one request spends waiting on an upstream, wherever in the call it waits.

The tool gate opens a ``Timing`` around an MCP call; the upstream connection adds its
round trip to it (``waited``, from the time it measures for its own status anyway). A
ContextVar carries it down the awaits of that one request, instead of an argument
threaded through every layer in between; outside a ``Timing`` block, ``waited`` adds
nothing. A plain class rather than a generator context manager: every tool call pays it,
traced or not.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from types import TracebackType


class Stopwatch:
    __slots__ = ("upstream",)

    def __init__(self) -> None:
        self.upstream = 0.0  # seconds spent waiting on upstreams


_CURRENT: ContextVar[Stopwatch | None] = ContextVar("kimi_stopwatch", default=None)


class Timing:
    """A call inside another (the search tool's ``tool_call``): its wait is the outer's too."""

    __slots__ = ("_outer", "_token", "watch")

    def __enter__(self) -> Stopwatch:
        self._outer = _CURRENT.get()
        self.watch = Stopwatch()
        self._token: Token[Stopwatch | None] = _CURRENT.set(self.watch)
        return self.watch

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _CURRENT.reset(self._token)
        if self._outer is not None:
            self._outer.upstream += self.watch.upstream


def waited(seconds: float) -> None:
    """``seconds`` spent waiting on an upstream, for the request being timed (if any)."""
    watch = _CURRENT.get()
    if watch is not None:
        watch.upstream += seconds
