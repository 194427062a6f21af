"""PostgreSQL behind the ``Database`` interface (team mode): an asyncpg pool.

Several replicas may start at once on an empty database: migrations run under a
session-level advisory lock, so one replica applies them and the others wait, then
find nothing left to do. A dead server, a refused connection or a pool exhausted past
its timeout surface as ``DatabaseUnavailable`` (the API turns that into a French 503).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from hub.core.storage.database import (
    DatabaseUnavailable,
    Dialect,
    Executor,
    Row,
    SqlParam,
    numbered_placeholders,
)

MIGRATION_LOCK = 0x4B494D49  # "KIMI": the advisory lock key every replica agrees on

_UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.OperatorInterventionError,
    asyncpg.TooManyConnectionsError,
)


@contextmanager
def _reporting_outage() -> Iterator[None]:
    try:
        yield
    except _UNAVAILABLE as exc:
        raise DatabaseUnavailable(f"PostgreSQL injoignable ({type(exc).__name__})") from exc


def _rowcount(status: str) -> int:
    """asyncpg answers ``"UPDATE 3"``, ``"INSERT 0 1"``: the last word is the count."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def _params(params: Sequence[SqlParam]) -> list[SqlParam]:
    """PostgreSQL's TEXT refuses NUL: it becomes U+FFFD (byte-exact data goes in BYTEA)."""
    return [
        p.replace("\x00", "\ufffd") if isinstance(p, str) and "\x00" in p else p for p in params
    ]


class _Connection:
    def __init__(self, conn: PoolConnectionProxy) -> None:
        self._conn = conn

    async def fetch_all(self, sql: str, params: Sequence[SqlParam] = ()) -> list[Row]:
        return list(await self._conn.fetch(numbered_placeholders(sql), *_params(params)))

    async def fetch_one(self, sql: str, params: Sequence[SqlParam] = ()) -> Row | None:
        return await self._conn.fetchrow(numbered_placeholders(sql), *_params(params))

    async def execute(self, sql: str, params: Sequence[SqlParam] = ()) -> int:
        return _rowcount(await self._conn.execute(numbered_placeholders(sql), *_params(params)))

    async def execute_many(self, sql: str, rows: Sequence[Sequence[SqlParam]]) -> None:
        await self._conn.executemany(numbered_placeholders(sql), [_params(r) for r in rows])


class PostgresDatabase:
    dialect: Dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool, acquire_timeout: float) -> None:
        self._pool = pool
        self._acquire_timeout = acquire_timeout

    @classmethod
    async def open(cls, url: str, *, pool_size: int = 10, wait: float = 5.0) -> PostgresDatabase:
        """``wait``: how long to wait for a connection before reporting an outage."""
        with _reporting_outage():
            pool = await asyncpg.create_pool(
                url, min_size=1, max_size=pool_size, timeout=wait, command_timeout=30
            )
        return cls(pool, wait)

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[_Connection]:
        with _reporting_outage():
            async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
                yield _Connection(conn)

    async def fetch_all(self, sql: str, params: Sequence[SqlParam] = ()) -> list[Row]:
        async with self._connection() as conn:
            return await conn.fetch_all(sql, params)

    async def fetch_one(self, sql: str, params: Sequence[SqlParam] = ()) -> Row | None:
        async with self._connection() as conn:
            return await conn.fetch_one(sql, params)

    async def execute(self, sql: str, params: Sequence[SqlParam] = ()) -> int:
        async with self._connection() as conn:
            return await conn.execute(sql, params)

    async def execute_many(self, sql: str, rows: Sequence[Sequence[SqlParam]]) -> None:
        async with self.transaction() as tx:
            await tx.execute_many(sql, rows)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        with _reporting_outage():
            async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
                async with conn.transaction():
                    yield _Connection(conn)

    async def schema_version(self) -> int:
        async with self._connection() as conn:
            row = await conn.fetch_one("SELECT COALESCE(MAX(version), 0) FROM schema_version")
        return int(row[0]) if row else 0

    async def migrate(self, scripts: Sequence[str]) -> None:
        with _reporting_outage():
            async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
                await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
                try:
                    await conn.execute(
                        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
                    )
                    current = await conn.fetchval(
                        "SELECT COALESCE(MAX(version), 0) FROM schema_version"
                    )
                    for version, script in enumerate(scripts[current:], start=current + 1):
                        async with conn.transaction():
                            await conn.execute(script)
                            await conn.execute("INSERT INTO schema_version VALUES ($1)", version)
                finally:
                    await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)

    async def close(self) -> None:
        await self._pool.close()
