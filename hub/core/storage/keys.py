"""Virtual keys in the database: their limits and a salted hash of the secret, never it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from hub.core.jsontypes import JSONObject
from hub.core.storage.database import Row, SqlParam, from_row
from hub.core.storage.store import Store

Period = Literal["day", "month", "total"]
PERIODS: tuple[Period, ...] = ("day", "month", "total")
# What an empty ``tools`` list means: every tool ("allow", the default) or none ("deny").
ToolsDefault = Literal["allow", "deny"]
TOOLS_DEFAULTS: tuple[ToolsDefault, ...] = ("allow", "deny")


@dataclass(frozen=True)
class KeyLimits:
    """What a key may do; ``None`` means no limit, an empty pattern list means everything."""

    budget: float | None = None
    period: Period = "total"
    rpm: int | None = None
    tpm: int | None = None
    models: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    expires_at: float | None = None
    tools_default: ToolsDefault = "allow"

    def to_json(self) -> JSONObject:
        return {
            "budget": self.budget,
            "period": self.period,
            "rpm": self.rpm,
            "tpm": self.tpm,
            "models": list(self.models),
            "tools": list(self.tools),
            "tools_default": self.tools_default,
            "expires_at": self.expires_at,
        }


@dataclass(frozen=True)
class KeyRecord:
    id: str
    name: str
    salt: str
    secret_hash: str
    created_at: float
    limits: KeyLimits
    revoked_at: float | None = None

    def to_json(self) -> JSONObject:
        """The public view: no salt, no hash."""
        return {
            "id": self.id,
            "name": self.name,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
            **self.limits.to_json(),
        }


def _patterns(text: str) -> tuple[str, ...]:
    parsed = json.loads(text)
    return tuple(str(p) for p in parsed) if isinstance(parsed, list) else ()


def _period(value: str) -> Period:
    for period in PERIODS:
        if value == period:
            return period
    return "total"


def _tools_default(value: str) -> ToolsDefault:
    return "deny" if value == "deny" else "allow"


def _key(row: Row) -> KeyRecord:
    limits = from_row(
        KeyLimits,
        row,
        period=_period(row["period"]),
        models=_patterns(row["models"]),
        tools=_patterns(row["tools"]),
        tools_default=_tools_default(row["tools_default"]),
    )
    return from_row(KeyRecord, row, limits=limits)


def _limit_params(limits: KeyLimits) -> tuple[SqlParam, ...]:
    return (
        limits.budget,
        limits.period,
        limits.rpm,
        limits.tpm,
        json.dumps(list(limits.models)),
        json.dumps(list(limits.tools)),
        limits.expires_at,
        limits.tools_default,
    )


_LIMIT_COLUMNS = (
    "budget",
    "period",
    "rpm",
    "tpm",
    "models",
    "tools",
    "expires_at",
    "tools_default",
)


class KeyStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def insert(self, key: KeyRecord) -> None:
        columns = ("id", "name", "salt", "secret_hash", "created_at", *_LIMIT_COLUMNS)
        await self._store.write(
            f"INSERT INTO api_keys ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            (
                key.id,
                key.name,
                key.salt,
                key.secret_hash,
                key.created_at,
                *_limit_params(key.limits),
            ),
        )

    async def get(self, key_id: str) -> KeyRecord | None:
        row = await self._store.fetch_one("SELECT * FROM api_keys WHERE id = ?", (key_id,))
        return _key(row) if row else None

    async def list(self) -> list[KeyRecord]:
        rows = await self._store.fetch_all("SELECT * FROM api_keys ORDER BY created_at, id")
        return [_key(row) for row in rows]

    async def update(self, key_id: str, name: str, limits: KeyLimits) -> bool:
        assignments = ", ".join(f"{column} = ?" for column in ("name", *_LIMIT_COLUMNS))
        changed = await self._store.write(
            f"UPDATE api_keys SET {assignments} WHERE id = ?",
            (name, *_limit_params(limits), key_id),
        )
        return changed > 0

    async def revoke(self, key_id: str, at: float) -> bool:
        changed = await self._store.write(
            "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (at, key_id)
        )
        return changed > 0

    async def row_usage(self, request_ids: Sequence[str]) -> dict[str, tuple[float, int]]:
        """Cost and tokens of the stored rows among ``request_ids`` (a dead replica's
        reservations are settled to them)."""
        usage: dict[str, tuple[float, int]] = {}
        for first in range(0, len(request_ids), 500):
            chunk = list(request_ids[first : first + 500])
            rows = await self._store.fetch_all(
                "SELECT request_id, cost, prompt_tokens + completion_tokens FROM requests"
                f" WHERE request_id IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
            usage.update({str(r[0]): (float(r[1] or 0), int(r[2] or 0)) for r in rows})
        return usage

    async def spent_since(self, key_id: str, since: float) -> float:
        """What the key's requests cost from ``since`` on (budgets restored at start)."""
        row = await self._store.fetch_one(
            "SELECT COALESCE(SUM(cost), 0) FROM requests WHERE key_id = ? AND created_at >= ?",
            (key_id, since),
        )
        return float(row[0]) if row else 0.0
