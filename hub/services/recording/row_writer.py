"""Request rows: journaled when a request starts and is answered, stored in batches.

Policy when storage fails (docs/decisions/0009-never-answer-unrecorded.md):
- the database fails (full disk, read-only, locked): rows wait in memory (and in the
  journal), the writer retries with backoff, ``/health`` says ``dégradé`` with the
  reason, one log line per incident and one when it ends;
- new requests are refused with a 503 ``storage_unavailable`` (OpenAI-shaped) when the
  start of the request cannot be journaled or the queue holds ``queue_limit`` rows:
  the hub never answers a request it could not record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from hub.core.errors import HubError
from hub.core.jsontypes import JSONObject
from hub.core.records import INTERRUPTED, RequestRecord, request_from_json
from hub.core.storage.database import DatabaseUnavailable
from hub.core.storage.journal import Journal, orphans, replay
from hub.core.storage.store import Store

logger = logging.getLogger("hub.rows")
BATCH = 500
# After the first row of a batch, wait this long for more (unless a reader is waiting):
# one transaction per window instead of one per row (each statement is a hop to the SQLite
# thread, under the GIL).
COALESCE = 0.05
RETRY_MIN, RETRY_MAX = 0.1, 5.0


@dataclass(frozen=True)
class StorageHealth:
    ok: bool
    reason: str | None
    since: float | None
    queued: int
    journal_pending: int


class StorageUnavailable(HubError):
    def __init__(self, reason: str) -> None:
        super().__init__(
            f"Le hub ne peut pas enregistrer la requête ({reason}) : "
            "réessayez quand le stockage sera rétabli.",
            status=503,
            error_type="server_error",
            code="storage_unavailable",
        )


class RowWriter:
    """Owns the queue between requests and the store; run ``run()`` as one task."""

    def __init__(
        self,
        store: Store,
        journal: Journal | None,
        on_stored: Callable[[RequestRecord], None],
        queue_limit: int = 10_000,
    ) -> None:
        self._store = store
        self._journal = journal
        self._on_stored = on_stored
        self._limit = queue_limit
        self._queue: deque[RequestRecord] = deque()
        self._wake = asyncio.Event()
        self._hurry = asyncio.Event()
        self._builds: list[tuple[Awaitable[RequestRecord], bool]] = []
        self._progress = asyncio.Event()
        self._writing = False
        self._incident: str | None = None
        self._since: float | None = None
        self._journal_broken: str | None = None

    def health(self) -> StorageHealth:
        reason = self._incident or self._journal_broken
        return StorageHealth(
            ok=reason is None,
            reason=reason,
            since=self._since,
            queued=len(self._queue),
            journal_pending=self._journal.pending if self._journal else 0,
        )

    def begin(self, request_id: str, facts: JSONObject) -> None:
        """Journal a request's start or refuse it (503).

        ``facts``: what its row would hold if it never ended, beyond ``INTERRUPTED``.
        """
        if len(self._queue) + len(self._builds) >= self._limit:
            raise StorageUnavailable(f"{len(self._queue)} lignes en attente d'écriture")
        if self._journal is None:
            return
        try:
            self._journal.started(request_id, facts)
        except OSError as exc:
            self._journal_failed(exc)
            raise StorageUnavailable(f"journal : {exc.strerror or exc}") from None
        if self._journal_broken is not None:
            logger.warning("Journal des requêtes de nouveau accessible.")
            self._journal_broken = None
            self._since = None if self._incident is None else self._since

    def answered(self, request_id: str, facts: JSONObject) -> None:
        """Journal what the client is about to get; never refuses (the answer exists)."""
        if self._journal is None:
            return
        try:
            self._journal.answered(request_id, facts)
        except OSError as exc:  # the start line stays: ``interrupted`` if the hub dies now
            self._journal_failed(exc)

    def finish(self, build: Awaitable[RequestRecord], *, journal: bool) -> None:
        """A request's final row, built by the writer task (off the response path).

        ``journal``: the row holds more than its ``answered`` line (estimated tokens).
        """
        self._builds.append((build, journal))
        self._wake.set()

    async def _build_all(self) -> None:
        """Build the finished rows, journal them in one write, queue them for the store."""
        builds, self._builds = self._builds, []
        rows: list[RequestRecord] = []
        ended: list[tuple[str, JSONObject]] = []
        for build, journal in builds:
            try:
                row = await build
            except Exception:  # its journaled lines stay: replayed at restart
                logger.exception("Ligne de requête impossible à construire")
                continue
            rows.append(row)
            if journal and row.request_id:
                ended.append((row.request_id, row.to_json()))
        if self._journal is not None:
            try:
                self._journal.ended(ended)
            except OSError as exc:  # the rows are still queued; their start lines are journaled
                self._journal_failed(exc)
        self._queue.extend(rows)

    def hurry(self) -> None:
        """A reader waits (``flush``): skip the coalescing delay."""
        self._hurry.set()
        self._wake.set()

    def _journal_failed(self, exc: OSError) -> None:
        if self._journal_broken is None:
            self._journal_broken = f"journal : {exc.strerror or exc}"
            self._since = self._since or time.time()
            logger.error("Écriture du journal des requêtes impossible : %s", exc)

    def _failed(self, exc: Exception) -> None:
        reason = f"base de données : {exc}"
        if self._incident is None:
            self._since = self._since or time.time()
            logger.error(
                "Écriture des requêtes en échec (%s) ; %d ligne(s) gardées en attente.",
                exc,
                len(self._queue),
            )
        self._incident = reason

    def _recovered(self, written: int) -> None:
        if self._incident is not None:
            logger.warning("Base de données rétablie : %d ligne(s) écrite(s).", written)
            self._incident = None
            self._since = None if self._journal_broken is None else self._since

    async def run(self) -> None:
        """Drain the queue forever; cancelled at shutdown after ``drain``."""
        delay = RETRY_MIN
        while True:
            if not self._queue and not self._builds:
                self._wake.clear()
                await self._wake.wait()
                if len(self._builds) < BATCH and not self._hurry.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._hurry.wait(), COALESCE)
                self._hurry.clear()
                continue
            self._writing = True
            await self._build_all()
            batch = [self._queue[i] for i in range(min(BATCH, len(self._queue)))]
            try:
                ids = await self._store.insert_requests(batch)
            except (sqlite3.Error, OSError, DatabaseUnavailable) as exc:
                self._writing = False
                self._failed(exc)
                self._signal()
                await asyncio.sleep(delay)
                delay = min(RETRY_MAX, delay * 2)
                continue
            delay = RETRY_MIN
            for _ in batch:
                self._queue.popleft()
            self._writing = False
            self._recovered(len(batch))
            self._stored(batch, ids)
            self._signal()

    def _stored(self, batch: list[RequestRecord], ids: list[int | None]) -> None:
        """After a commit. Nothing here may end the writer: every later row would wait."""
        if self._journal is not None:
            try:
                self._journal.committed(r.request_id for r in batch if r.request_id)
            except OSError as exc:  # the rows are stored; their lines are replayed once more
                self._journal_failed(exc)
        for record, row_id in zip(batch, ids, strict=True):
            if row_id is None:
                continue
            try:
                self._on_stored(record.stored_as(row_id))
            except Exception:  # the dashboard misses one event; the row is stored
                logger.exception("Événement de la requête n° %d non publié", row_id)

    def _signal(self) -> None:
        self._progress.set()
        self._progress = asyncio.Event()

    async def drained(self, *, give_up_on_failure: bool = True) -> None:
        """Until every queued row is written (or, by default, the store is failing)."""
        while self._queue or self._builds or self._writing:
            self.hurry()
            if give_up_on_failure and self._incident is not None:
                return
            await self._progress.wait()

    def close(self) -> None:
        """Shutdown: keep the journal of unwritten rows for the next start."""
        if self._journal is not None:
            self._journal.close()


async def recover(store: Store, database: Path) -> int:
    """Store the rows of dead processes' journals (``interrupted`` if never ended).

    Returns how many rows were found; their segments are deleted once stored.
    """
    directory, prefix = Journal.location(database)
    paths = orphans(directory, prefix) if directory.is_dir() else []
    if not paths:
        return 0
    merged = ({**INTERRUPTED, **row} for row in replay(paths))  # start lines are partial
    rows = [r for r in map(request_from_json, merged) if r is not None]
    await store.insert_requests(rows)
    for path in paths:
        path.unlink(missing_ok=True)
    interrupted = sum(1 for r in rows if r.status == "interrupted")
    logger.warning(
        "Journal rejoué : %d requête(s) retrouvée(s), dont %d interrompue(s).",
        len(rows),
        interrupted,
    )
    return len(rows)
