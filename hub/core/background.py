"""Work that outlives the request that started it, within its owner's lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import TypeVarTuple

import anyio
from anyio.abc import TaskGroup

Args = TypeVarTuple("Args")


class Background:
    """A task group open while ``running()`` is: its tasks end with their owner."""

    def __init__(self) -> None:
        self._group: TaskGroup | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with anyio.create_task_group() as group:
            self._group = group
            try:
                yield
            finally:
                self._group = None
                group.cancel_scope.cancel()

    @property
    def open(self) -> bool:
        return self._group is not None

    def start_soon(
        self, work: Callable[[*Args], Coroutine[object, object, None]], *args: *Args
    ) -> None:
        if self._group is None:
            raise RuntimeError("tâche de fond démarrée hors de running()")
        self._group.start_soon(work, *args)
