"""The audit of MCP tool calls (``tool_audit``): one row per call, allowed or refused.

Rows are written in batches by ``hub.services.recording.audit.AuditLog`` (off the
response path) and read newest first with keyset pages on ``id``, like the request
journal; every filter column has an index (migration 9).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hub.core.jsontypes import JSON, JSONObject
from hub.core.storage.database import Row, SqlParam, from_row
from hub.core.storage.pages import filter_clauses, newest_first, oldest_after
from hub.core.storage.store import Store

DECISIONS = ("allowed", "denied", "unknown", "unavailable")
AUDIT_FIELDS = (
    "created_at",
    "caller",
    "key_id",
    "endpoint",
    "via",
    "server",
    "tool",
    "decision",
    "reason",
    "duration_ms",
    "result_chars",
    "is_error",
    "flags",
)
BATCH_ROWS = 500  # 13 parameters a row: well under both engines' limits


@dataclass(frozen=True)
class AuditRecord:
    created_at: float
    caller: str  # admin, key, stdio, local
    key_id: str | None
    endpoint: str  # /mcp, /profiles/NAME/mcp, /servers/NAME/mcp, stdio
    via: str | None  # "tool_call": through the search-mode meta-tool
    server: str | None  # None: one of the hub's own tools
    tool: str  # as its owner knows it (unprefixed)
    decision: str  # one of DECISIONS
    reason: str | None  # French: why it was refused, or what failed
    duration_ms: float | None
    result_chars: int | None  # characters of text, data and structured strings returned
    is_error: bool
    flags: tuple[str, ...] = ()  # injection_result, injection_description
    id: int | None = None

    def params(self) -> tuple[SqlParam, ...]:
        return (
            self.created_at,
            self.caller,
            self.key_id,
            self.endpoint,
            self.via,
            self.server,
            self.tool,
            self.decision,
            self.reason,
            self.duration_ms,
            self.result_chars,
            int(self.is_error),
            ",".join(self.flags),
        )

    def to_json(self) -> JSONObject:
        return {
            "id": self.id,
            "created_at": self.created_at,
            "caller": self.caller,
            "key_id": self.key_id,
            "endpoint": self.endpoint,
            "via": self.via,
            "server": self.server,
            "tool": self.tool,
            "decision": self.decision,
            "reason": self.reason,
            "duration_ms": self.duration_ms,
            "result_chars": self.result_chars,
            "is_error": self.is_error,
            "flags": list[JSON](self.flags),
        }


def _record(row: Row) -> AuditRecord:
    flags = str(row["flags"] or "")
    return from_row(
        AuditRecord,
        row,
        is_error=bool(row["is_error"]),
        flags=tuple(flags.split(",")) if flags else (),
    )


@dataclass(frozen=True)
class AuditFilter:
    since: float | None = None  # epoch seconds, inclusive
    until: float | None = None  # exclusive
    caller: str | None = None
    key_id: str | None = None
    server: str | None = None
    tool: str | None = None
    decision: str | None = None  # "refused": anything but allowed
    flagged: bool | None = None

    def where(self, *extra: tuple[str, SqlParam]) -> tuple[str, list[SqlParam]]:
        equal = (
            ("caller", self.caller),
            ("key_id", self.key_id),
            ("server", self.server),
            ("tool", self.tool),
            ("decision", None if self.decision == "refused" else self.decision),
        )
        clauses, params = filter_clauses(equal, self.since, self.until, extra)
        if self.decision == "refused":
            clauses.append("decision <> 'allowed'")
        if self.flagged is not None:
            clauses.append("flags <> ''" if self.flagged else "flags = ''")
        return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params


class AuditStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def insert(self, records: Sequence[AuditRecord]) -> None:
        row = "(" + ", ".join("?" * len(AUDIT_FIELDS)) + ")"
        async with self._store.db.transaction() as tx:
            for start in range(0, len(records), BATCH_ROWS):
                batch = records[start : start + BATCH_ROWS]
                await tx.execute(
                    f"INSERT INTO tool_audit ({', '.join(AUDIT_FIELDS)}) VALUES "
                    + ", ".join([row] * len(batch)),
                    [param for record in batch for param in record.params()],
                )

    async def search(
        self, where: AuditFilter, *, limit: int, before_id: int | None = None
    ) -> list[AuditRecord]:
        """Newest first; ``before_id`` is the keyset cursor of the next page."""
        rows = await newest_first(self._store, "tool_audit", where, limit, before_id)
        return [_record(r) for r in rows]

    async def oldest_after(
        self, where: AuditFilter, *, after_id: int, up_to_id: int, limit: int
    ) -> list[AuditRecord]:
        """Oldest first, ids in ``(after_id, up_to_id]``: the pages of an export."""
        rows = await oldest_after(self._store, "tool_audit", where, after_id, up_to_id, limit)
        return [_record(r) for r in rows]

    async def newest_id(self) -> int:
        row = await self._store.fetch_one("SELECT MAX(id) FROM tool_audit")
        return int(row[0]) if row and row[0] is not None else 0
