"""One interface over the two storage engines: SQLite (default) and PostgreSQL (team mode).

Queries are written once, in the SQL both engines share: ``?`` placeholders (the
PostgreSQL side turns them into ``$n``), ``INSERT ... ON CONFLICT``, ``RETURNING``,
``CASE`` rather than boolean arithmetic, ``CAST(? AS BIGINT)`` where PostgreSQL cannot
infer a parameter's type, and ``int(...)`` around ``SUM`` of integers (PostgreSQL gives
``numeric``). Outside ``transaction()`` every statement commits on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import fields
from functools import cache
from typing import TYPE_CHECKING, Literal, Protocol, TypeAlias, TypeVar

from hub.core.errors import HubError

if TYPE_CHECKING:
    import aiosqlite
    import asyncpg
    from _typeshed import DataclassInstance

SqlParam = str | int | float | bool | bytes | None
Row: TypeAlias = "aiosqlite.Row | asyncpg.Record"
Dialect = Literal["sqlite", "postgresql"]
D = TypeVar("D", bound="DataclassInstance")


@cache
def _field_names(cls: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def from_row(cls: type[D], row: Row, **converted: object) -> D:
    """The dataclass ``cls`` from the columns of the same names; ``converted`` gives the
    fields whose column needs a conversion (``active=bool(row["active"])``) or that are
    not columns."""
    names = _field_names(cls)
    return cls(**{n: converted[n] if n in converted else row[n] for n in names})


class DatabaseUnavailable(HubError):
    """The engine did not answer (PostgreSQL down, pool exhausted past its timeout).

    A ``HubError``: routes answer a French 503 (OpenAI-shaped, or JSON-RPC on MCP).
    """

    def __init__(self, detail: str) -> None:
        super().__init__(
            "La base de données du hub est injoignable ; réessayez dans un instant.",
            status=503,
            error_type="server_error",
            code="database_unavailable",
        )
        self.detail = detail


class Executor(Protocol):
    async def fetch_all(self, sql: str, params: Sequence[SqlParam] = ()) -> list[Row]: ...

    async def fetch_one(self, sql: str, params: Sequence[SqlParam] = ()) -> Row | None: ...

    async def execute(self, sql: str, params: Sequence[SqlParam] = ()) -> int:
        """Run one statement; how many rows it changed."""
        ...

    async def execute_many(self, sql: str, rows: Sequence[Sequence[SqlParam]]) -> None: ...


class Database(Executor, Protocol):
    dialect: Dialect

    def transaction(self) -> AbstractAsyncContextManager[Executor]:
        """Statements run through the yielded executor commit together, or not at all."""
        ...

    async def migrate(self, scripts: Sequence[str]) -> None:
        """Apply the scripts past the stored version, each in its own transaction."""
        ...

    async def schema_version(self) -> int: ...

    async def close(self) -> None: ...


def numbered_placeholders(sql: str) -> str:
    """``?`` → ``$1, $2…`` outside quoted literals (PostgreSQL's parameter syntax)."""
    out: list[str] = []
    count, quote = 0, ""
    for char in sql:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "?":
            count += 1
            out.append(f"${count}")
            continue
        out.append(char)
    return "".join(out)
