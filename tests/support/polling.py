"""Waiting for something to become true, with a deadline that guards against hangs."""

from __future__ import annotations

from collections.abc import Callable

import anyio


async def until(predicate: Callable[[], bool], limit: float = 20.0) -> None:
    """Poll ``predicate`` until true; fail after ``limit`` seconds (a hang guard, not a
    timing assertion)."""
    with anyio.fail_after(limit):
        while True:
            if predicate():
                return
            await anyio.sleep(0.02)
