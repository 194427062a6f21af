"""SQLite store (aiosqlite, WAL). One connection, owned by the app's lifespan."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import aiosqlite

from hub.core.migrations import MIGRATIONS
from hub.core.records import RequestRecord, SessionRecord, Totals

SqlParam = str | int | float | bool | bytes | None

_REQUEST_COLUMNS = (
    "session_id, created_at, model_key, provider, upstream_model, stream, prompt_tokens, "
    "completion_tokens, usage_source, prompt_estimate, ttfb_ms, total_ms, status, "
    "http_status, error, cost, attempts, tokens_saved"
)


def _session(row: aiosqlite.Row) -> SessionRecord:
    return SessionRecord(
        id=row["id"],
        name=row["name"],
        created_at=row["created_at"],
        active=bool(row["active"]),
        provider=row["provider"],
        model_key=row["model_key"],
        compaction=bool(row["compaction"]),
    )


def _request(row: aiosqlite.Row) -> RequestRecord:
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


class Store:
    """Typed queries over the hub's SQLite file. Use ``async with Store.open(path)``."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db

    @classmethod
    async def open(cls, path: Path | str) -> Store:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(str(path))
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("PRAGMA foreign_keys=ON")
        store = cls(db)
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
        async with self.db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def migrate(self) -> None:
        """Apply pending migrations, each in its own transaction."""
        current = await self.schema_version()
        for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
            await self.db.executescript(
                f"BEGIN;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;"
            )

    async def fetch_all(self, sql: str, params: Sequence[SqlParam] = ()) -> list[aiosqlite.Row]:
        async with self.db.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetch_one(self, sql: str, params: Sequence[SqlParam] = ()) -> aiosqlite.Row | None:
        async with self.db.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def write(self, sql: str, params: Sequence[SqlParam] = ()) -> int:
        """Run one statement and commit; returns the last row id."""
        async with self.db.execute(sql, params) as cursor:
            row_id = cursor.lastrowid or 0
        await self.db.commit()
        return row_id

    async def insert(self, sql: str, params: Sequence[SqlParam] = ()) -> int | None:
        """Run one INSERT and commit; its row id, or None when it inserted nothing."""
        async with self.db.execute(sql, params) as cursor:
            row_id = cursor.lastrowid if cursor.rowcount > 0 else None
        await self.db.commit()
        return row_id

    # sessions

    async def create_session(self, name: str, *, active: bool) -> SessionRecord:
        if active:
            await self.db.execute("UPDATE sessions SET active = 0 WHERE active = 1")
        session_id = await self.write(
            "INSERT INTO sessions (name, created_at, active) VALUES (?, ?, ?)",
            (name, time.time(), int(active)),
        )
        record = await self.get_session(session_id)
        assert record is not None
        return record

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
        await self.db.execute("UPDATE sessions SET active = (id = ?)", (session_id,))
        await self.db.commit()

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
        async with self.db.execute("DELETE FROM sessions WHERE id = ?", (session_id,)) as cur:
            deleted = cur.rowcount > 0
        await self.db.commit()
        return deleted

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
            " COALESCE(SUM(cost), 0), COALESCE(SUM(status != 'ok'), 0),"
            f" COALESCE(SUM(tokens_saved), 0) FROM requests {where}",
            params,
        )
        assert row is not None
        return Totals(
            requests=row[0],
            prompt_tokens=row[1],
            completion_tokens=row[2],
            cost=float(row[3]),
            errors=row[4],
            tokens_saved=row[5],
        )
