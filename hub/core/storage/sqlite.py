"""SQLite behind the ``Database`` interface: one aiosqlite connection, WAL."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from hub.core.storage.database import DatabaseUnavailable, Dialect, Executor, Row, SqlParam


class SqliteDatabase:
    """Writes take a lock so one coroutine's transaction never swallows another's statement."""

    dialect: Dialect = "sqlite"

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._conn = _Connection(db)
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> SqliteDatabase:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(str(path), isolation_level=None)  # autocommit
        try:
            db.row_factory = aiosqlite.Row
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute("PRAGMA foreign_keys=ON")
        except BaseException:
            await db.close()  # its thread would keep the process alive
            raise
        return cls(db)

    async def fetch_all(self, sql: str, params: Sequence[SqlParam] = ()) -> list[Row]:
        return await self._conn.fetch_all(sql, params)

    async def fetch_one(self, sql: str, params: Sequence[SqlParam] = ()) -> Row | None:
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):  # ... RETURNING
            async with self._write_lock:
                return await self._conn.fetch_one(sql, params)
        return await self._conn.fetch_one(sql, params)

    async def execute(self, sql: str, params: Sequence[SqlParam] = ()) -> int:
        async with self._write_lock:
            return await self._conn.execute(sql, params)

    async def execute_many(self, sql: str, rows: Sequence[Sequence[SqlParam]]) -> None:
        async with self.transaction() as tx:
            await tx.execute_many(sql, rows)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        async with self._write_lock:
            await self._db.execute("BEGIN")
            try:
                yield self._conn
            except BaseException:
                await self._db.rollback()
                raise
            await self._db.commit()

    async def schema_version(self) -> int:
        try:
            row = await self._conn.fetch_one("PRAGMA user_version")
        except (sqlite3.Error, ValueError) as exc:  # ValueError: connection closed
            raise DatabaseUnavailable(type(exc).__name__) from exc
        return int(row[0]) if row else 0

    async def migrate(self, scripts: Sequence[str]) -> None:
        current = await self.schema_version()
        for version, script in enumerate(scripts[current:], start=current + 1):
            async with self._write_lock:
                await self._db.executescript(
                    f"BEGIN;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;"
                )

    async def close(self) -> None:
        await self._db.close()


class _Connection:
    """Plain statements on the connection; ``SqliteDatabase`` decides about the lock."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def fetch_all(self, sql: str, params: Sequence[SqlParam] = ()) -> list[Row]:
        async with self._db.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetch_one(self, sql: str, params: Sequence[SqlParam] = ()) -> Row | None:
        async with self._db.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def execute(self, sql: str, params: Sequence[SqlParam] = ()) -> int:
        async with self._db.execute(sql, params) as cursor:
            return cursor.rowcount

    async def execute_many(self, sql: str, rows: Sequence[Sequence[SqlParam]]) -> None:
        await self._db.executemany(sql, rows)
