"""Keyset pages on ``id``, shared by the request journal and the tool-call audit.

A filter says its WHERE clause (``filter_clauses`` builds the common part: equality on
columns, a ``[since, until)`` range of ``created_at``); pages are newest first below a
cursor (``before_id``) for lists, or oldest first within ``(after_id, up_to_id]`` for
exports, so rows written during an export belong to the next one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

from hub.core.storage.database import Row, SqlParam


class Reader(Protocol):
    async def fetch_all(self, sql: str, params: Sequence[SqlParam] = ()) -> list[Row]: ...


class Filter(Protocol):
    def where(self, *extra: tuple[str, SqlParam]) -> tuple[str, list[SqlParam]]: ...


class Identified(Protocol):
    @property
    def id(self) -> int | None: ...


Record = TypeVar("Record", bound=Identified)


def filter_clauses(
    equal: Sequence[tuple[str, SqlParam]],
    since: float | None,
    until: float | None,
    extra: Sequence[tuple[str, SqlParam]],
) -> tuple[list[str], list[SqlParam]]:
    """``extra`` clauses, ``column = ?`` for each value that is not None, the time range."""
    clauses = [clause for clause, _ in extra]
    params = [param for _, param in extra]
    for column, value in equal:
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if since is not None:
        clauses.append("created_at >= ?")
        params.append(since)
    if until is not None:
        clauses.append("created_at < ?")
        params.append(until)
    return clauses, params


async def newest_first(
    store: Reader, table: str, where: Filter, limit: int, before_id: int | None
) -> list[Row]:
    """Newest first; ``before_id`` is the keyset cursor of the next page."""
    sql, params = where.where(*([("id < ?", before_id)] if before_id is not None else []))
    return await store.fetch_all(
        f"SELECT * FROM {table} {sql} ORDER BY id DESC LIMIT ?", (*params, limit)
    )


async def oldest_after(
    store: Reader, table: str, where: Filter, after_id: int, up_to_id: int, limit: int
) -> list[Row]:
    """Oldest first, ids in ``(after_id, up_to_id]``: the pages of a streamed export."""
    sql, params = where.where(("id > ?", after_id), ("id <= ?", up_to_id))
    return await store.fetch_all(
        f"SELECT * FROM {table} {sql} ORDER BY id LIMIT ?", (*params, limit)
    )


async def export_pages(
    fetch: Callable[[int], Awaitable[list[Record]]], size: int
) -> AsyncIterator[list[Record]]:
    """Every page ``fetch(after_id)`` gives, until a short one."""
    after = 0
    while True:
        page = await fetch(after)
        if page:
            yield page
        last = page[-1].id if page else None
        if len(page) < size or last is None:
            return
        after = last
