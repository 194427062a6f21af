"""The hub's typed queries, over SQLite (default) or PostgreSQL (``[database] url``).

The engine hides behind ``hub.core.database.Database``; the SQL here is written in the
subset both engines share (see that module). Owned by the app's lifespan.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from hub.core.database import Database, Row, SqlParam
from hub.core.migrations import MIGRATIONS, for_dialect
from hub.core.records import RequestRecord, SessionRecord, Totals
from hub.core.sqlite_database import SqliteDatabase

POSTGRESQL_SCHEMES = ("postgresql://", "postgres://")

_REQUEST_COLUMNS = (
    "session_id, created_at, model_key, provider, upstream_model, stream, prompt_tokens, "
    "completion_tokens, usage_source, prompt_estimate, ttfb_ms, total_ms, status, "
    "http_status, error, cost, attempts, tokens_saved"
)


def _session(row: Row) -> SessionRecord:
    return SessionRecord(
        id=row["id"],
        name=row["name"],
        created_at=row["created_at"],
        active=bool(row["active"]),
        provider=row["provider"],
        model_key=row["model_key"],
        compaction=bool(row["compaction"]),
    )


def _request(row: Row) -> RequestRecord:
    return RequestRecord(
        id=row["id"],
        session_id=row["session_id"],
        created_at=row["created_at"],
        model_key=row["model_key"],
        provider=row["provider"],
        upstream_model=row["upstream_model"],
        stream=bool(row["stream"]),
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        usage_source=row["usage_source"],
        prompt_estimate=row["prompt_estimate"],
        ttfb_ms=row["ttfb_ms"],
        total_ms=row["total_ms"],
        status=row["status"],
        http_status=row["http_status"],
        error=row["error"],
        cost=row["cost"],
        attempts=row["attempts"],
        tokens_saved=row["tokens_saved"],
    )


async def _open_database(target: Path | str, pool_size: int) -> Database:
    if not str(target).startswith(POSTGRESQL_SCHEMES):
        return await SqliteDatabase.open(target)
    try:  # team mode only: asyncpg is the optional [team] extra
        from hub.core.pg_database import PostgresDatabase
    except ImportError as exc:
        raise RuntimeError(
            "PostgreSQL demandé ([database] url) mais asyncpg n'est pas installé :"
            " pip install 'kimi-proxy-hub[team]'"
        ) from exc
    return await PostgresDatabase.open(str(target), pool_size=pool_size)


class Store:
    """Typed queries over the hub's database. Use ``async with await Store.open(target)``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @classmethod
    async def open(cls, target: Path | str, *, pool_size: int = 10) -> Store:
        """``target``: a SQLite file path, or a ``postgresql://`` URL."""
        store = cls(await _open_database(target, pool_size))
        await store.migrate()
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

    async def create_session(self, name: str, *, active: bool) -> SessionRecord:
        async with self.db.transaction() as tx:
            if active:
                await tx.execute("UPDATE sessions SET active = 0 WHERE active = 1")
            row = await tx.fetch_one(
                "INSERT INTO sessions (name, created_at, active) VALUES (?, ?, ?) RETURNING *",
                (name, time.time(), int(active)),
            )
        assert row is not None
        return _session(row)

    async def get_session(self, session_id: int) -> SessionRecord | None:
        row = await self.fetch_one("SELECT * FROM sessions WHERE id = ?", (session_id,))
        return _session(row) if row else None

    async def active_session(self) -> SessionRecord | None:
        row = await self.fetch_one("SELECT * FROM sessions WHERE active = 1 LIMIT 1")
        return _session(row) if row else None

    async def list_sessions(self) -> list[SessionRecord]:
        return [_session(r) for r in await self.fetch_all("SELECT * FROM sessions ORDER BY id")]

    async def count_sessions(self) -> int:
        row = await self.fetch_one("SELECT COUNT(*) FROM sessions")
        return int(row[0]) if row else 0

    async def activate_session(self, session_id: int) -> None:
        await self.db.execute(
            "UPDATE sessions SET active = CASE WHEN id = ? THEN 1 ELSE 0 END", (session_id,)
        )

    async def update_session(
        self,
        session_id: int,
        *,
        name: str | None = None,
        provider: str | None = None,
        model_key: str | None = None,
        compaction: bool | None = None,
    ) -> None:
        changes: dict[str, SqlParam] = {
            k: v
            for k, v in (
                ("name", name),
                ("provider", provider),
                ("model_key", model_key),
                ("compaction", None if compaction is None else int(compaction)),
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
        return await self.db.execute("DELETE FROM sessions WHERE id = ?", (session_id,)) > 0

    # requests

    async def insert_request(self, r: RequestRecord) -> int | None:
        """Store one request row; None if its session was deleted while it ran.

        Rows are written after the response, so a deletion can come first: the row then
        goes the way of the session's other rows (``ON DELETE CASCADE``).
        """
        row = (
            r.session_id, r.created_at, r.model_key, r.provider, r.upstream_model,
            int(r.stream), r.prompt_tokens, r.completion_tokens, r.usage_source,
            r.prompt_estimate, r.ttfb_ms, r.total_ms, r.status, r.http_status, r.error,
            r.cost, r.attempts, r.tokens_saved,
        )  # fmt: skip
        return await self.insert(
            f"INSERT INTO requests ({_REQUEST_COLUMNS}) SELECT {', '.join('?' * len(row))}"
            " WHERE EXISTS (SELECT 1 FROM sessions WHERE id = ?)",
            (*row, r.session_id),
        )

    async def list_requests(
        self, session_id: int | None = None, *, limit: int = 100, before_id: int | None = None
    ) -> list[RequestRecord]:
        """Newest first; ``before_id`` pages back through older rows."""
        clauses, params = [], list[SqlParam]()
        if session_id is not None:
            clauses.append("session_id = ?")
            params.append(session_id)
        if before_id is not None:
            clauses.append("id < ?")
            params.append(before_id)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self.fetch_all(
            f"SELECT * FROM requests {where} ORDER BY id DESC LIMIT ?", (*params, limit)
        )
        return [_request(r) for r in rows]

    async def last_request(self, session_id: int) -> RequestRecord | None:
        found = await self.list_requests(session_id, limit=1)
        return found[0] if found else None

    async def totals(self, session_id: int | None = None) -> Totals:
        where, params = ("WHERE session_id = ?", (session_id,)) if session_id else ("", ())
        row = await self.fetch_one(
            "SELECT COUNT(*), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0),"
            " COALESCE(SUM(cost), 0), COALESCE(SUM(CASE WHEN status <> 'ok' THEN 1 ELSE 0 END), 0),"
            f" COALESCE(SUM(tokens_saved), 0) FROM requests {where}",
            params,
        )
        assert row is not None
        return Totals(  # int(): PostgreSQL sums integers as numeric
            requests=int(row[0]),
            prompt_tokens=int(row[1]),
            completion_tokens=int(row[2]),
            cost=float(row[3]),
            errors=int(row[4]),
            tokens_saved=int(row[5]),
        )
