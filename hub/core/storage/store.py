"""The hub's typed queries, over SQLite (default) or PostgreSQL (``[database] url``).

The engine hides behind ``hub.core.storage.database.Database``; the SQL here is written in the
subset both engines share (see that module). Owned by the app's lifespan.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from hub.core.errors import missing_team_extra
from hub.core.records import RequestRecord, SessionRecord, Totals
from hub.core.storage.database import (
    Database,
    DatabaseUnavailable,
    Executor,
    Row,
    SqlParam,
    from_row,
)
from hub.core.storage.migrations import MIGRATIONS, for_dialect
from hub.core.storage.pages import filter_clauses
from hub.core.storage.sqlite import SqliteDatabase

POSTGRESQL_SCHEMES = ("postgresql://", "postgres://")

_REQUEST_COLUMNS = (
    "session_id, created_at, model_key, provider, upstream_model, stream, prompt_tokens, "
    "completion_tokens, usage_source, prompt_estimate, ttfb_ms, total_ms, status, "
    "http_status, error, cost, attempts, tokens_saved, request_id, key_id, cached_tokens"
)
_REQUEST_WIDTH = _REQUEST_COLUMNS.count(",") + 1
# A final row replaces the provisional one written before the answer left (team mode),
# never a final one (a journal replayed twice).
_UNLESS_PROVISIONAL = (
    "ON CONFLICT (request_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _REQUEST_COLUMNS.split(", "))
    + ", provisional = 0 WHERE requests.provisional = 1"
)
AUTO_SESSION_LOCK = 0x4B494D4901  # pg_advisory_xact_lock key: opening an auto-session
BATCH_ROWS = 200  # rows per INSERT (SQLite allows 32 766 parameters, PostgreSQL 65 535)


def _session(row: Row) -> SessionRecord:
    return from_row(
        SessionRecord,
        row,
        active=bool(row["active"]),
        compaction=bool(row["compaction"]),
        auto=bool(row["auto"]),
    )


def _filters(session_id: int | None, key_id: str | None) -> tuple[list[str], list[SqlParam]]:
    """WHERE clauses for request rows of one session and/or one virtual key."""
    return filter_clauses((("session_id", session_id), ("key_id", key_id)), None, None, ())


def request_record(row: Row) -> RequestRecord:
    return from_row(RequestRecord, row, stream=bool(row["stream"]))


# int(): PostgreSQL sums integers as numeric
TOTALS_COLUMNS = (
    "COUNT(*), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0),"
    " COALESCE(SUM(cost), 0), COALESCE(SUM(CASE WHEN status <> 'ok' THEN 1 ELSE 0 END), 0),"
    " COALESCE(SUM(tokens_saved), 0), COALESCE(SUM(cached_tokens), 0)"
)


def totals_of(row: Row, first: int = 0) -> Totals:
    """The ``Totals`` of ``TOTALS_COLUMNS`` read from ``row[first:]``."""
    values = [row[first + i] for i in range(7)]
    return Totals(
        int(values[0]),
        int(values[1]),
        int(values[2]),
        float(values[3]),
        int(values[4]),
        int(values[5]),
        int(values[6]),
    )


def _request_params(r: RequestRecord) -> tuple[SqlParam, ...]:
    return (
        r.session_id,
        r.created_at,
        r.model_key,
        r.provider,
        r.upstream_model,
        int(r.stream),
        r.prompt_tokens,
        r.completion_tokens,
        r.usage_source,
        r.prompt_estimate,
        r.ttfb_ms,
        r.total_ms,
        r.status,
        r.http_status,
        r.error,
        r.cost,
        r.attempts,
        r.tokens_saved,
        r.request_id,
        r.key_id,
        r.cached_tokens,
    )


async def _open_database(target: Path | str, pool_size: int) -> Database:
    if not str(target).startswith(POSTGRESQL_SCHEMES):
        return await SqliteDatabase.open(target)
    try:  # team mode only
        from hub.core.storage.postgres import PostgresDatabase
    except ImportError as exc:
        raise missing_team_extra("[database] url", "asyncpg") from exc
    return await PostgresDatabase.open(str(target), pool_size=pool_size)


async def _insert_rows(
    db: Executor, batch: Sequence[RequestRecord], provisional: bool
) -> dict[str, int]:
    """One multi-row INSERT; the ids of the rows it stored, by request id."""
    row = "(" + ", ".join("?" * (_REQUEST_WIDTH + 1)) + ")"
    stored = await db.fetch_all(
        f"INSERT INTO requests ({_REQUEST_COLUMNS}, provisional) VALUES "
        f"{', '.join([row] * len(batch))} "
        f"{'ON CONFLICT DO NOTHING' if provisional else _UNLESS_PROVISIONAL}"
        " RETURNING id, request_id",
        [param for record in batch for param in (*_request_params(record), int(provisional))],
    )
    return {str(item["request_id"]): int(item["id"]) for item in stored}


class StoreOpenError(Exception):
    """The database cannot be opened or migrated; the message is French."""


def _open_failed(target: Path | str, exc: BaseException) -> str:
    where = "PostgreSQL" if str(target).startswith(POSTGRESQL_SCHEMES) else str(target)
    return f"Impossible d'ouvrir la base de données {where} : {exc}"


class Store:
    """Typed queries over the hub's database. Use ``async with await Store.open(target)``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @classmethod
    async def open(cls, target: Path | str, *, pool_size: int = 10) -> Store:
        """``target``: a SQLite file path, or a ``postgresql://`` URL.

        ``StoreOpenError`` (French) if it cannot serve; nothing is left open then (a
        half-open SQLite connection kept the process alive after a failed start-up).
        """
        try:
            database = await _open_database(target, pool_size)
        except (sqlite3.Error, OSError, DatabaseUnavailable) as exc:
            raise StoreOpenError(_open_failed(target, exc)) from exc
        store = cls(database)
        try:
            await store.migrate()
        except (sqlite3.Error, OSError, DatabaseUnavailable) as exc:
            await database.close()
            raise StoreOpenError(_open_failed(target, exc)) from exc
        return store

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self.db.close()

    async def schema_version(self) -> int:
        return await self.db.schema_version()

    async def migrate(self) -> None:
        """Apply pending migrations, each in its own transaction."""
        await self.db.migrate([for_dialect(step, self.db.dialect) for step in MIGRATIONS])

    async def fetch_all(self, sql: str, params: Sequence[SqlParam] = ()) -> list[Row]:
        return await self.db.fetch_all(sql, params)

    async def fetch_one(self, sql: str, params: Sequence[SqlParam] = ()) -> Row | None:
        return await self.db.fetch_one(sql, params)

    async def write(self, sql: str, params: Sequence[SqlParam] = ()) -> int:
        """Run one statement (committed); how many rows it changed."""
        return await self.db.execute(sql, params)

    async def insert(self, sql: str, params: Sequence[SqlParam] = ()) -> int | None:
        """Run one INSERT into a table with an ``id``; that id, or None if nothing went in."""
        row = await self.db.fetch_one(f"{sql} RETURNING id", params)
        return int(row[0]) if row else None

    # sessions

    async def create_session(
        self, name: str, *, active: bool, auto: bool = False, key_id: str | None = None
    ) -> SessionRecord:
        async with self.db.transaction() as tx:
            if active:
                await tx.execute("UPDATE sessions SET active = 0 WHERE active = 1")
            row = await tx.fetch_one(
                "INSERT INTO sessions (name, created_at, active, auto, key_id)"
                " VALUES (?, ?, ?, ?, ?) RETURNING *",
                (name, time.time(), int(active), int(auto), key_id),
            )
        assert row is not None
        return _session(row)

    async def open_auto_session(
        self, name: str, *, active: bool, key_id: str | None, replacing: int | None
    ) -> tuple[SessionRecord, bool]:
        """Open the session the request path needs, unless another process just did.

        ``replacing``: the current session as the caller saw it (None: none). Under a
        lock (PostgreSQL: a transaction-scoped advisory lock; SQLite: its write lock),
        if the current one (the active session; with ``key_id``, the key's newest) is no
        longer that one, it is returned instead: two replicas receiving a conversation's
        first requests at the same instant open one session. True when it was created.
        """
        current_sql = (
            "SELECT * FROM sessions WHERE active = 1 AND deleted_at IS NULL LIMIT 1"
            if key_id is None
            else "SELECT * FROM sessions WHERE key_id = ? AND deleted_at IS NULL"
            " ORDER BY id DESC LIMIT 1"
        )
        async with self.db.transaction() as tx:
            if self.db.dialect == "postgresql":
                await tx.execute("SELECT pg_advisory_xact_lock(?)", (AUTO_SESSION_LOCK,))
            found = await tx.fetch_one(current_sql, () if key_id is None else (key_id,))
            if found is not None and int(found["id"]) != replacing:
                return _session(found), False
            if active:
                await tx.execute("UPDATE sessions SET active = 0 WHERE active = 1")
            row = await tx.fetch_one(
                "INSERT INTO sessions (name, created_at, active, auto, key_id)"
                " VALUES (?, ?, ?, 1, ?) RETURNING *",
                (name, time.time(), int(active), key_id),
            )
        assert row is not None
        return _session(row), True

    # A deleted session keeps its row (``deleted_at``) for its requests' sake; it is no
    # longer a session anyone sees.

    async def get_session(self, session_id: int) -> SessionRecord | None:
        row = await self.fetch_one(
            "SELECT * FROM sessions WHERE id = ? AND deleted_at IS NULL", (session_id,)
        )
        return _session(row) if row else None

    async def active_session(self) -> SessionRecord | None:
        row = await self.fetch_one(
            "SELECT * FROM sessions WHERE active = 1 AND deleted_at IS NULL LIMIT 1"
        )
        return _session(row) if row else None

    async def list_sessions(self) -> list[SessionRecord]:
        rows = await self.fetch_all("SELECT * FROM sessions WHERE deleted_at IS NULL ORDER BY id")
        return [_session(r) for r in rows]

    async def count_sessions(self) -> int:
        row = await self.fetch_one("SELECT COUNT(*) FROM sessions WHERE deleted_at IS NULL")
        return int(row[0]) if row else 0

    async def activate_session(self, session_id: int) -> None:
        await self.db.execute(
            "UPDATE sessions SET active = CASE WHEN id = ? THEN 1 ELSE 0 END,"
            " auto = CASE WHEN id = ? THEN 0 ELSE auto END",  # a person chose it: it stays
            (session_id, session_id),
        )

    async def update_session(
        self,
        session_id: int,
        *,
        name: str | None = None,
        provider: str | None = None,
        model_key: str | None = None,
        compaction: bool | None = None,
        auto: bool | None = None,
    ) -> None:
        changes: dict[str, SqlParam] = {
            k: v
            for k, v in (
                ("name", name),
                ("provider", provider),
                ("model_key", model_key),
                ("compaction", None if compaction is None else int(compaction)),
                ("auto", None if auto is None else int(auto)),
            )
            if v is not None
        }
        if changes:
            assignments = ", ".join(f"{column} = ?" for column in changes)
            await self.write(
                f"UPDATE sessions SET {assignments} WHERE id = ?",
                (*changes.values(), session_id),
            )

    async def delete_session(self, session_id: int) -> bool:
        """Hide a session; its request rows stay (the ledger), its last messages go."""
        async with self.db.transaction() as tx:
            hidden = await tx.execute(
                "UPDATE sessions SET deleted_at = ?, active = 0"
                " WHERE id = ? AND deleted_at IS NULL",
                (time.time(), session_id),
            )
            await tx.execute("DELETE FROM session_messages WHERE session_id = ?", (session_id,))
        return hidden > 0

    # requests

    async def insert_request(self, r: RequestRecord) -> int | None:
        """Store one request row; None if its session was deleted (or the row is known)."""
        return (await self.insert_requests([r]))[0]

    async def insert_requests(
        self, records: Sequence[RequestRecord], *, provisional: bool = False
    ) -> list[int | None]:
        """Store rows in one transaction; each one's id, or None when it was not stored.

        Rows are written after the response: a session deleted meanwhile is only hidden,
        so its rows are stored all the same (a row whose session row does not exist at
        all is dropped). A row whose ``request_id`` is already stored (a journal replayed
        twice) is skipped, unless the stored one is ``provisional`` (team mode: what the
        client was answered, written before the answer left; its final row replaces it).
        """
        keyed = [r if r.request_id else replace(r, request_id=uuid.uuid4().hex) for r in records]
        ids: dict[str, int] = {}
        if not keyed:
            return []
        async with self.db.transaction() as tx:
            wanted = sorted({r.session_id for r in keyed})
            found = await tx.fetch_all(
                f"SELECT id FROM sessions WHERE id IN ({', '.join('?' * len(wanted))})", wanted
            )
            live = {int(row[0]) for row in found}
            kept = [r for r in keyed if r.session_id in live]
            for start in range(0, len(kept), BATCH_ROWS):
                batch = kept[start : start + BATCH_ROWS]
                ids.update(await _insert_rows(tx, batch, provisional))
        return [ids.get(str(r.request_id)) for r in keyed]

    async def insert_provisional(self, records: Sequence[RequestRecord]) -> None:
        """Provisional rows (``insert_requests``) in one statement, on the answer's path.

        One round trip instead of a transaction's four. No check of the sessions: a row
        whose session was deleted meanwhile fails the statement (foreign key), and the
        batch's rows then reach the store by the row writer, as in single-process mode.
        """
        for start in range(0, len(records), BATCH_ROWS):
            await _insert_rows(self.db, records[start : start + BATCH_ROWS], True)

    async def list_requests(
        self,
        session_id: int | None = None,
        *,
        limit: int = 100,
        before_id: int | None = None,
        key_id: str | None = None,
    ) -> list[RequestRecord]:
        """Newest first; ``before_id`` pages back through older rows."""
        clauses, params = _filters(session_id, key_id)
        if before_id is not None:
            clauses.append("id < ?")
            params.append(before_id)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self.fetch_all(
            f"SELECT * FROM requests {where} ORDER BY id DESC LIMIT ?", (*params, limit)
        )
        return [request_record(r) for r in rows]

    async def last_request(self, session_id: int) -> RequestRecord | None:
        found = await self.list_requests(session_id, limit=1)
        return found[0] if found else None

    async def totals(self, session_id: int | None = None, key_id: str | None = None) -> Totals:
        clauses, params = _filters(session_id, key_id)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        row = await self.fetch_one(f"SELECT {TOTALS_COLUMNS} FROM requests {where}", params)
        assert row is not None
        return totals_of(row)
