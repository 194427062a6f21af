"""Run CPU work inline when it is small, in a worker thread when it is not.

A thread hop costs more than tokenising or hashing a few kilobytes, so small inputs stay
inline; large ones (a 100k-token history) must leave the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import anyio.to_thread

from hub.core.jsontypes import JSON

INLINE_CHARS = 16_384
T = TypeVar("T")


def json_chars(values: Sequence[JSON]) -> int:
    """Characters of text in a JSON value: cheap (one walk, ``len`` is O(1))."""
    total = 0
    stack: list[JSON] = list(values)
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            total += len(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        else:
            total += 8
    return total


async def run_sized(size: int, work: Callable[[], T]) -> T:
    """``work()`` on the loop below ``INLINE_CHARS`` characters, else in a thread."""
    if size <= INLINE_CHARS:
        return work()
    return await anyio.to_thread.run_sync(work)
