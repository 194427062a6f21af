"""Team mode: what a client was answered reaches PostgreSQL before the answer leaves.

A replica's journal is a local file: if the replica never runs again (a container
replaced, a VM gone), the rows waiting in it are lost. So in team mode the row the
journal would replay (start facts + answer facts: status, upstream usage, cost, key)
is also inserted as a *provisional* row before the answer's last byte; the final row
(tiktoken estimates, bodies, events) replaces it later (``Store.insert_requests``).

Requests answered at the same instant share one ``INSERT`` (group commit); at most
``PARALLEL`` batches are in flight. A request waits ``WAIT`` seconds at most, and not at
all while the last batch failed: when PostgreSQL is down or slow, the answer leaves
anyway and its row waits in the local journal, as in single-process mode
(docs/decisions/0033-durable-before-the-answer.md).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from hub.core.jsontypes import JSONObject
from hub.core.records import INTERRUPTED, RequestRecord, request_from_json
from hub.core.storage.database import DatabaseUnavailable
from hub.core.storage.store import Store

logger = logging.getLogger("hub.rows")
WAIT = 2.0  # seconds an answer waits for its provisional row, at most
PARALLEL = 4  # batches in flight (each holds one pooled connection)


class DurableRows:
    """Group commit of provisional rows; ``write`` returns whether the row is stored."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._waiting: list[tuple[RequestRecord, asyncio.Future[bool]]] = []
        self._batches: set[asyncio.Task[None]] = set()
        self._failing = False

    def start(self, start_facts: JSONObject, answer_facts: JSONObject) -> asyncio.Future[bool]:
        """Queue the row a journal replay would give; the future says if it was stored."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        row = request_from_json({**INTERRUPTED, **start_facts, **answer_facts})
        if row is None:  # pragma: no cover - facts come from ``Call``, always complete
            future.set_result(False)
            return future
        self._waiting.append((row, future))
        self._launch()
        return future

    async def wait(self, future: asyncio.Future[bool]) -> bool:
        """Until the row is stored, failed, or ``WAIT`` passed (then the journal has it).

        While the last batch failed, answers do not wait: a PostgreSQL that hangs would
        hold every answer ``WAIT`` seconds. The row is still written when it can be.
        """
        if self._failing:
            return future.done() and future.result()
        try:
            return await asyncio.wait_for(asyncio.shield(future), WAIT)
        except TimeoutError:
            return False

    def _launch(self) -> None:
        if self._waiting and len(self._batches) < PARALLEL:
            batch, self._waiting = self._waiting, []
            task = asyncio.create_task(self._write(batch))
            self._batches.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._batches.discard(task)
        if not task.cancelled() and task.exception() is not None:  # a session deleted
            logger.warning("Lignes provisoires refusées : %s", task.exception())
        self._launch()

    async def _write(self, batch: list[tuple[RequestRecord, asyncio.Future[bool]]]) -> None:
        ok = False
        try:
            await self._store.insert_provisional([row for row, _ in batch])
            ok = True
        except (sqlite3.Error, OSError, DatabaseUnavailable) as exc:
            if not self._failing:
                logger.error(
                    "Lignes provisoires non écrites (%s) : elles attendent dans le journal local.",
                    exc,
                )
        finally:  # any other error too: no answer waits longer than it must
            if ok and self._failing:
                logger.warning("Lignes provisoires de nouveau écrites avant les réponses.")
            self._failing = not ok
            for _, future in batch:
                if not future.done():
                    future.set_result(ok)

    async def close(self) -> None:
        """Shutdown: let the batches in flight finish (their rows are also journaled)."""
        while self._batches:
            await asyncio.gather(*list(self._batches), return_exceptions=True)
