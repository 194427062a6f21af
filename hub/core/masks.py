"""Masked originals, kept in SQLite by content hash, with a retention limit."""

from __future__ import annotations

import time
from collections.abc import Sequence

from hub.core.store import Store


class MaskStore:
    """``get(hash)`` gives back a masked original byte for byte (REST and MCP use it)."""

    def __init__(self, store: Store, retention: int) -> None:
        self._store = store
        self._retention = retention

    async def put(self, items: Sequence[tuple[str, str, int]]) -> None:
        """Store ``(hash, text, tokens)``; a known hash is only marked as used again.

        Clients resend the whole history every turn, so most hashes are known: their
        text is not sent to SQLite again.
        """
        if not items:
            return
        now = time.time()
        db = self._store.db
        hashes = list(dict.fromkeys(digest for digest, _, _ in items))
        marks = ", ".join("?" * len(hashes))
        known = {
            row[0]
            for row in await self._store.fetch_all(
                f"SELECT hash FROM masks WHERE hash IN ({marks})", hashes
            )
        }
        await db.execute(f"UPDATE masks SET used_at = ? WHERE hash IN ({marks})", (now, *hashes))
        await db.executemany(
            "INSERT OR IGNORE INTO masks (hash, content, tokens, created_at, used_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [(d, text, tokens, now, now) for d, text, tokens in items if d not in known],
        )
        if len(known) < len(hashes):  # retention: keep the most recently used originals
            await db.execute(
                "DELETE FROM masks WHERE hash NOT IN"
                " (SELECT hash FROM masks ORDER BY used_at DESC, created_at DESC LIMIT ?)",
                (self._retention,),
            )
        await db.commit()

    async def get(self, digest: str) -> str | None:
        row = await self._store.fetch_one("SELECT content FROM masks WHERE hash = ?", (digest,))
        return str(row[0]) if row else None

    async def count(self) -> int:
        row = await self._store.fetch_one("SELECT COUNT(*) FROM masks")
        return int(row[0]) if row else 0
