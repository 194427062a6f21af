"""Sealed OAuth tokens of upstream MCP servers, one row per server (never in clear)."""

from __future__ import annotations

import time

from hub.core.storage.store import Store


class SealedTokens:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def load(self, server: str) -> tuple[str | None, str] | None:
        """(issuer, sealed) stored for ``server``, if any."""
        row = await self._store.fetch_one(
            "SELECT issuer, sealed FROM oauth_tokens WHERE server = ?", (server,)
        )
        return None if row is None else (row["issuer"], row["sealed"])

    async def save(self, server: str, issuer: str | None, sealed: str) -> None:
        await self._store.write(
            "INSERT INTO oauth_tokens (server, issuer, sealed, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (server) DO UPDATE SET issuer = excluded.issuer,"
            " sealed = excluded.sealed, updated_at = excluded.updated_at",
            (server, issuer, sealed, time.time()),
        )
