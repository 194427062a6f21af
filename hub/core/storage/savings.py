"""Cached compactions, savings events and each session's last messages, in the store."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

from hub.core.jsontypes import JSON, JSONObject, as_list
from hub.core.offload import json_chars, run_sized
from hub.core.storage.store import Store


@dataclass(frozen=True)
class CachedCompaction:
    prefix_hash: str
    replaced: int  # how many original messages the replacement stands for
    replacement: list[JSON]
    summariser: str
    tokens_before: int
    tokens_after: int


class SavingsStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def find_compaction(self, hashes: Sequence[str]) -> CachedCompaction | None:
        """The cached compaction of the longest prefix among ``hashes``."""
        if not hashes:
            return None
        marks = ", ".join("?" * len(hashes))
        row = await self._store.fetch_one(
            f"SELECT * FROM compactions WHERE prefix_hash IN ({marks})"
            " ORDER BY replaced DESC LIMIT 1",
            tuple(hashes),
        )
        if row is None:
            return None
        await self._store.write(
            "UPDATE compactions SET hits = hits + 1 WHERE prefix_hash = ?", (row["prefix_hash"],)
        )
        return CachedCompaction(
            prefix_hash=row["prefix_hash"],
            replaced=row["replaced"],
            replacement=as_list(json.loads(row["replacement"])),
            summariser=row["summariser"],
            tokens_before=row["tokens_before"],
            tokens_after=row["tokens_after"],
        )

    async def save_compaction(self, session_id: int | None, cached: CachedCompaction) -> None:
        await self._store.write(
            "INSERT INTO compactions (prefix_hash, session_id, replaced, replacement,"
            " summariser, tokens_before, tokens_after, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (prefix_hash) DO UPDATE SET session_id = excluded.session_id,"
            " replaced = excluded.replaced, replacement = excluded.replacement,"
            " summariser = excluded.summariser, tokens_before = excluded.tokens_before,"
            " tokens_after = excluded.tokens_after, created_at = excluded.created_at, hits = 0",
            (
                cached.prefix_hash,
                session_id,
                cached.replaced,
                json.dumps(cached.replacement, ensure_ascii=False),
                cached.summariser,
                cached.tokens_before,
                cached.tokens_after,
                time.time(),
            ),
        )

    async def add_event(
        self, session_id: int | None, kind: str, before: int, after: int, detail: JSONObject
    ) -> int | None:
        """The event's id; None if its session was deleted meanwhile (events go with it)."""
        return await self._store.insert(
            "INSERT INTO savings_events (session_id, created_at, kind, tokens_before,"
            " tokens_after, detail) SELECT ?, ?, ?, ?, ?, ?"
            " WHERE CAST(? AS BIGINT) IS NULL OR EXISTS (SELECT 1 FROM sessions WHERE id = ?)",
            (
                session_id,
                time.time(),
                kind,
                before,
                after,
                json.dumps(detail, ensure_ascii=False),
                session_id,
                session_id,
            ),
        )

    async def events(self, session_id: int | None = None, limit: int = 50) -> list[JSONObject]:
        where, params = ("WHERE session_id = ?", (session_id,)) if session_id else ("", ())
        rows = await self._store.fetch_all(
            f"SELECT * FROM savings_events {where} ORDER BY id DESC LIMIT ?", (*params, limit)
        )
        return [
            {
                "id": r["id"],
                "session_id": r["session_id"],
                "created_at": r["created_at"],
                "kind": r["kind"],
                "tokens_before": r["tokens_before"],
                "tokens_after": r["tokens_after"],
                "detail": json.loads(r["detail"]),
            }
            for r in rows
        ]

    async def totals(self, session_id: int | None = None) -> JSONObject:
        """Events and tokens saved per kind (masking, compaction)."""
        where, params = ("WHERE session_id = ?", (session_id,)) if session_id else ("", ())
        rows = await self._store.fetch_all(
            "SELECT kind, COUNT(*), COALESCE(SUM(tokens_before - tokens_after), 0)"
            f" FROM savings_events {where} GROUP BY kind",
            params,
        )
        by_kind: JSONObject = {r[0]: {"events": int(r[1]), "tokens_saved": int(r[2])} for r in rows}
        return {
            "masking": by_kind.get("masking", {"events": 0, "tokens_saved": 0}),
            "compaction": by_kind.get("compaction", {"events": 0, "tokens_saved": 0}),
        }

    async def save_messages(self, session_id: int, model_key: str, messages: list[JSON]) -> None:
        """Keep the session's last messages; nothing if the session was deleted meanwhile."""
        # A long history is megabytes of JSON: encode it off the event loop.
        encoded = await run_sized(
            json_chars(messages), lambda: json.dumps(messages, ensure_ascii=False)
        )
        await self._store.write(
            "INSERT INTO session_messages (session_id, model_key, messages, updated_at)"
            " SELECT id, ?, ?, ? FROM sessions WHERE id = ? AND deleted_at IS NULL"
            " ON CONFLICT (session_id) DO UPDATE SET model_key = excluded.model_key,"
            " messages = excluded.messages, updated_at = excluded.updated_at",
            (model_key, encoded, time.time(), session_id),
        )

    async def last_messages(self, session_id: int) -> tuple[str, list[JSON]] | None:
        row = await self._store.fetch_one(
            "SELECT model_key, messages FROM session_messages WHERE session_id = ?", (session_id,)
        )
        if row is None:
            return None
        return str(row[0]), as_list(json.loads(row[1]))
