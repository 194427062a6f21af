"""Queries over the request journal: filtered search with keyset pages, daily aggregates,
latency percentiles. Every filter column has an index (migration 4), so 100 000 rows stay
fast; the error-text search is the one full scan (a LIKE over the filtered rows).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from hub.core.jsontypes import JSONObject
from hub.core.offload import run_sized
from hub.core.records import RequestRecord, Totals
from hub.core.storage.database import Row, SqlParam
from hub.core.storage.pages import filter_clauses, newest_first, oldest_after
from hub.core.storage.store import TOTALS_COLUMNS, Store, request_record, totals_of

EPOCH = date(1970, 1, 1)
# failed: anything but ok
STATUSES = ("ok", "error", "partial", "cancelled", "interrupted", "failed")


@dataclass(frozen=True)
class RequestFilter:
    since: float | None = None  # epoch seconds, inclusive
    until: float | None = None  # epoch seconds, exclusive
    model: str | None = None
    provider: str | None = None
    session_id: int | None = None
    key_id: str | None = None  # virtual key (``/api/keys``)
    status: str | None = None
    text: str | None = None  # substring of the error text

    def where(self, *extra: tuple[str, SqlParam]) -> tuple[str, list[SqlParam]]:
        """The WHERE clause (empty when nothing filters), with ``extra`` clauses ANDed."""
        clauses, params = filter_clauses(
            (
                ("model_key", self.model),
                ("provider", self.provider),
                ("session_id", self.session_id),
                ("key_id", self.key_id),
            ),
            self.since,
            self.until,
            extra,
        )
        if self.status == "failed":
            clauses.append("status != 'ok'")
        elif self.status is not None:
            clauses.append("status = ?")
            params.append(self.status)
        if self.text:  # % and _ taken literally; each engine folds case on both sides
            escaped = self.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append("LOWER(error) LIKE LOWER(?) ESCAPE '\\'")
            params.append(f"%{escaped}%")
        return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params


@dataclass(frozen=True)
class GroupRow:
    """One (day, model, provider) group of the analytics query."""

    day: str  # YYYY-MM-DD in the caller's time zone
    model_key: str
    provider: str
    totals: Totals


class RequestQueries:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def search(
        self, where: RequestFilter, *, limit: int, before_id: int | None = None
    ) -> list[RequestRecord]:
        """Newest first; ``before_id`` is the keyset cursor of the next page."""
        rows = await newest_first(self._store, "requests", where, limit, before_id)
        return [request_record(r) for r in rows]

    async def oldest_after(
        self, where: RequestFilter, *, after_id: int, up_to_id: int, limit: int
    ) -> list[RequestRecord]:
        """Oldest first, ids in ``(after_id, up_to_id]``: the pages of a streamed export."""
        rows = await oldest_after(self._store, "requests", where, after_id, up_to_id, limit)
        return [request_record(r) for r in rows]

    async def get(self, request_id: int) -> RequestRecord | None:
        row = await self._store.fetch_one("SELECT * FROM requests WHERE id = ?", (request_id,))
        return request_record(row) if row else None

    async def session_name(self, session_id: int) -> str | None:
        """None once the session is deleted (the inspector says « supprimée »)."""
        row = await self._store.fetch_one(
            "SELECT name FROM sessions WHERE id = ? AND deleted_at IS NULL", (session_id,)
        )
        return str(row[0]) if row else None

    async def count(self, where: RequestFilter) -> int:
        sql, params = where.where()
        row = await self._store.fetch_one(f"SELECT COUNT(*) FROM requests {sql}", params)
        return int(row[0]) if row else 0

    async def groups(self, where: RequestFilter, utc_offset_s: int) -> list[GroupRow]:
        # Days as whole-day numbers, the same SQL on SQLite and PostgreSQL (no date()).
        sql, params = where.where()
        rows = await self._store.fetch_all(
            "SELECT (CAST(created_at AS BIGINT) + ?) / 86400 AS day, model_key, provider,"
            f" {TOTALS_COLUMNS} FROM requests {sql} GROUP BY 1, model_key, provider ORDER BY 1",
            (utc_offset_s, *params),
        )
        return [_group(r) for r in rows]

    async def latency(
        self, where: RequestFilter, ranks: tuple[float, ...]
    ) -> dict[str, JSONObject]:
        """Nearest-rank percentiles of ``total_ms`` and ``ttfb_ms``: one read, sorted here.

        Measured on 100 000 rows, reading both columns once and sorting them in a worker
        thread costs less than half of one ``ROW_NUMBER()`` sort per column in SQL.
        """
        sql, params = where.where()
        rows = await self._store.fetch_all(f"SELECT total_ms, ttfb_ms FROM requests {sql}", params)

        def ranked() -> dict[str, JSONObject]:
            totals = sorted(float(r[0]) for r in rows if r[0] is not None)
            ttfb = sorted(float(r[1]) for r in rows if r[1] is not None)
            return {"total": nearest_rank(totals, ranks), "ttfb": nearest_rank(ttfb, ranks)}

        return await run_sized(len(rows), ranked)


def nearest_rank(values: list[float], ranks: tuple[float, ...]) -> JSONObject:
    """``{"p50": …}`` from sorted ``values``; None for each rank when there are none."""
    result: JSONObject = {}
    for rank in ranks:
        index = max(1, min(len(values), math.ceil(rank * len(values)))) - 1
        result[f"p{round(rank * 100)}"] = round(values[index], 1) if values else None
    return result


def _group(row: Row) -> GroupRow:
    day = (EPOCH + timedelta(days=int(row[0]))).isoformat()
    return GroupRow(day, str(row[1]), str(row[2]), totals_of(row, 3))
