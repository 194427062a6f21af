"""Masked originals, kept in the store by content hash, with a retention limit."""

from __future__ import annotations

import time
from collections.abc import Sequence

from hub.core.storage.store import Store


class MaskStore:
    """``get(hash)`` gives back a masked original byte for byte (REST and MCP use it)."""

    def __init__(self, store: Store, retention: int) -> None:
        self._store = store
        self._retention = retention

    async def put(self, items: Sequence[tuple[str, str, int]]) -> None:
        """Store ``(hash, text, tokens)``; a known hash is only marked as used again.

        Clients resend the whole history every turn, so most hashes are known: their
        text is not sent to the database again.
        """
        if not items:
            return
        now = time.time()
        hashes = list(dict.fromkeys(digest for digest, _, _ in items))
        marks = ", ".join("?" * len(hashes))
        known = {
            row[0]
            for row in await self._store.fetch_all(
                f"SELECT hash FROM masks WHERE hash IN ({marks})", hashes
            )
        }
        fresh = {
            d: (d, text.encode(), tokens, now, now) for d, text, tokens in items if d not in known
        }
        async with self._store.db.transaction() as tx:
            await tx.execute(
                f"UPDATE masks SET used_at = ? WHERE hash IN ({marks})", (now, *hashes)
            )
            if fresh:
                await tx.execute_many(
                    "INSERT INTO masks (hash, content, tokens, created_at, used_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    list(fresh.values()),
                )
                # retention: keep the most recently used originals
                await tx.execute(
                    "DELETE FROM masks WHERE hash NOT IN"
                    " (SELECT hash FROM masks ORDER BY used_at DESC, created_at DESC LIMIT ?)",
                    (self._retention,),
                )

    async def get(self, digest: str) -> str | None:
        row = await self._store.fetch_one("SELECT content FROM masks WHERE hash = ?", (digest,))
        if row is None:
            return None
        content = row[0]  # bytes since migration 3; rows written before it are text
        return bytes(content).decode() if isinstance(content, bytes | memoryview) else str(content)

    async def count(self) -> int:
        row = await self._store.fetch_one("SELECT COUNT(*) FROM masks")
        return int(row[0]) if row else 0
