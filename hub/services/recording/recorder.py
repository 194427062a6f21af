"""Recording of request rows off the response path, and the context gauge.

``begin`` journals a request before its upstream call (see ``row_writer``); ``submit``
finishes it once its row is built (the prompt estimate may still be running when the
response is sent); the ``RowWriter`` stores rows in batches and calls back here to
publish ``metric`` events and ``alert`` gauges.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager

from hub.config import ModelConfig, SessionsConfig
from hub.core.jsontypes import JSONObject
from hub.core.money import money
from hub.core.records import RequestRecord, SessionRecord
from hub.core.storage.bodies import BodyStore, CapturedBodies
from hub.core.storage.database import DatabaseUnavailable
from hub.core.storage.journal import Journal
from hub.core.storage.store import Store
from hub.services.events import EventBus
from hub.services.recording.durable import DurableRows
from hub.services.recording.row_writer import RowWriter, StorageHealth


def cost_of(
    model: ModelConfig | None, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0
) -> float:
    """Price per million tokens; cached prompt tokens at ``cached_input_price`` when set.

    Rounded (``hub.core.money``): the row, the ledger budgets are rebuilt from, holds
    the cost people read."""
    if model is None:
        return 0.0
    cached = min(max(cached_tokens, 0), prompt_tokens)
    cached_price = (
        model.input_price if model.cached_input_price is None else model.cached_input_price
    )
    prompt = (prompt_tokens - cached) * model.input_price + cached * cached_price
    return money((prompt + completion_tokens * model.output_price) / 1e6)


def gauge_level(ratio: float, thresholds: tuple[float, ...]) -> int:
    """How many thresholds the ratio has reached (0 = below all of them)."""
    return sum(1 for t in thresholds if ratio >= t)


MAX_UNSAVED_BODIES = 1000
logger = logging.getLogger(__name__)


class RequestRecorder:
    """One row per request, in batches; ``flush`` gives read-your-writes."""

    def __init__(
        self,
        store: Store,
        bus: EventBus,
        config: SessionsConfig,
        models: Mapping[str, ModelConfig],
        journal: Journal | None = None,
        queue_limit: int = 10_000,
        bodies: BodyStore | None = None,
        durable: DurableRows | None = None,
    ) -> None:
        self._durable = durable  # team mode: rows in PostgreSQL before answers leave
        self._bodies = bodies  # [logging] store_bodies: None when off
        self._unsaved_bodies: dict[str, CapturedBodies] = {}  # request_id → until stored
        self._store = store
        self._bus = bus
        self._thresholds = config.thresholds
        self._models = models
        self._pending: set[asyncio.Task[None]] = set()  # bodies being saved after their rows
        self._levels: dict[int, int] = {}
        self._rows = RowWriter(store, journal, self._stored, queue_limit)
        self.observers: list[Callable[[RequestRecord], None]] = []  # e.g. Prometheus counters
        self._id_prefix = uuid.uuid4().hex[:16] + "-"
        self._ids = itertools.count(1)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The batch writer's task; on exit, every row that can be written is."""
        writer = asyncio.create_task(self._rows.run())
        try:
            yield
        finally:
            if self._durable is not None:
                await self._durable.close()
            await self.flush()
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
            self._rows.close()

    def health(self) -> StorageHealth:
        return self._rows.health()

    def new_request_id(self) -> str:
        """Unique across processes and restarts: a random prefix per process, then a counter."""
        return f"{self._id_prefix}{next(self._ids):x}"

    def begin(self, request_id: str, facts: JSONObject) -> None:
        """Journal the row a request leaves if the hub dies; 503 if storage cannot."""
        self._rows.begin(request_id, facts)

    def capture(self, client: JSONObject, forwarded: JSONObject) -> CapturedBodies | None:
        """References to both bodies when they are kept; stored after the row (``submit``)."""
        return CapturedBodies(client, forwarded) if self._bodies else None

    def answered(
        self, request_id: str, start: JSONObject, facts: JSONObject
    ) -> asyncio.Future[bool] | None:
        """Journal a request's outcome before its client sees it (one ``os.write``).

        Team mode: also queue its provisional row; await ``durable`` with the returned
        future before the answer's last byte leaves. ``start``: its ``begin`` facts.
        """
        self._rows.answered(request_id, facts)
        return None if self._durable is None else self._durable.start(start, facts)

    async def durable(self, pending: asyncio.Future[bool] | None) -> None:
        """Until an ``answered`` row is in PostgreSQL (or waits in the journal: bounded)."""
        if pending is not None and self._durable is not None:
            await self._durable.wait(pending)

    def submit(
        self,
        record: Awaitable[RequestRecord],
        bodies: CapturedBodies | None = None,
        *,
        journal: bool,
    ) -> None:
        """A request's final row, built by the writer task; never awaited by the request.

        Captured bodies wait under the row's request id until ``_stored`` has its id.
        """
        if bodies is not None:
            record = self._with_bodies(record, bodies)
        self._rows.finish(record, journal=journal)

    async def _with_bodies(
        self, pending: Awaitable[RequestRecord], bodies: CapturedBodies
    ) -> RequestRecord:
        record = await pending
        if record.request_id:
            self._unsaved_bodies[record.request_id] = bodies
            while len(self._unsaved_bodies) > MAX_UNSAVED_BODIES:  # rows that were dropped
                del self._unsaved_bodies[next(iter(self._unsaved_bodies))]
        return record

    async def flush(self) -> None:
        await self._rows.drained()
        while self._pending:  # the bodies of the rows just written
            await asyncio.gather(*list(self._pending))

    def _stored(self, record: RequestRecord) -> None:
        bodies = self._unsaved_bodies.pop(record.request_id or "", None)
        if bodies is not None and self._bodies is not None and record.id is not None:
            task = asyncio.create_task(self._save_bodies(self._bodies, record.id, bodies))
            self._pending.add(task)  # a body always comes after its row
            task.add_done_callback(self._pending.discard)
        if self._bus.listened:  # no dashboard open: no event to build (a dict of 23 fields)
            self._bus.publish("metric", {"request": record.to_json()})
        for observe in self.observers:
            observe(record)
        self._check_gauge(record)

    @staticmethod
    async def _save_bodies(store: BodyStore, row_id: int, bodies: CapturedBodies) -> None:
        """The inspector's copy: losing it must never fail a read that flushes."""
        try:
            await store.save(row_id, bodies)
        except (sqlite3.Error, OSError, DatabaseUnavailable) as exc:
            logger.warning("Corps de la requête n° %d non conservé : %s", row_id, exc)

    def max_context(self, model_key: str | None) -> int | None:
        model = self._models.get(model_key or "")
        return model.max_context if model else None

    def _check_gauge(self, record: RequestRecord) -> None:
        max_context = self.max_context(record.model_key)
        if not max_context or record.status == "error":
            return
        ratio = record.prompt_tokens / max_context
        level = gauge_level(ratio, self._thresholds)
        previous = self._levels.get(record.session_id, 0)
        self._levels[record.session_id] = level
        if level > previous:
            threshold = self._thresholds[level - 1]
            self._bus.publish(
                "alert",
                {
                    "session_id": record.session_id,
                    "level": level,
                    "threshold": threshold,
                    "ratio": round(ratio, 4),
                    "message": f"Contexte à {ratio:.0%} de la limite ({threshold:.0%} atteint).",
                },
            )

    async def gauge(self, session: SessionRecord) -> JSONObject:
        """Last prompt size against the model's window, for the dashboard and MCP."""
        await self.flush()
        last = await self._store.last_request(session.id)
        max_context = self.max_context(session.model_key)
        used = last.prompt_tokens if last else 0
        ratio = used / max_context if max_context else None
        return {
            "session_id": session.id,
            "prompt_tokens": used,
            "max_context": max_context,
            "ratio": None if ratio is None else round(ratio, 4),
            "level": 0 if ratio is None else gauge_level(ratio, self._thresholds),
            "thresholds": list(self._thresholds),
        }
