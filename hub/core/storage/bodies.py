"""Request bodies for the inspector: what the client sent and what the provider received.

Kept only when ``[logging] store_bodies = true``, in their own table (``request_bodies``,
one row per request row, deleted with it), written by the recorder's background task after
the request row, never on the response path. Provider keys and the hub's key are redacted
before anything is stored; only the ``body_retention`` newest requests keep their bodies.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from hub.core.jsontypes import JSON, JSONObject, as_object
from hub.core.offload import json_chars, run_sized
from hub.core.redact import Redactor
from hub.core.storage.store import Store

PRUNE_EVERY = 64  # inserts between two retention passes


@dataclass(frozen=True)
class CapturedBodies:
    """References taken on the request path (no copy, no serialisation there)."""

    client: JSONObject
    forwarded: JSONObject


@dataclass(frozen=True)
class StoredBodies:
    client: JSON
    forwarded: JSON  # None: the provider received the client's messages unchanged

    def to_json(self) -> JSONObject:
        return {"client": self.client, "forwarded": self.forwarded}


def _texts(bodies: CapturedBodies, redactor: Redactor) -> tuple[str, str | None]:
    client = redactor.text(json.dumps(bodies.client, ensure_ascii=False))
    same = bodies.forwarded.get("messages") == bodies.client.get("messages")
    forwarded = None if same else redactor.text(json.dumps(bodies.forwarded, ensure_ascii=False))
    return client, forwarded


class BodyStore:
    def __init__(self, store: Store, retention: int, redactor: Redactor) -> None:
        self._store = store
        self._retention = retention
        self._redactor = redactor
        self._since_prune = 0
        # A pass every ~1/16 of the retention (at most 64 inserts): never far above it.
        self._prune_every = max(1, min(PRUNE_EVERY, retention // 16))

    async def save(self, request_id: int, bodies: CapturedBodies) -> None:
        size = json_chars([bodies.client.get("messages"), bodies.forwarded.get("messages")])
        client, forwarded = await run_sized(size, lambda: _texts(bodies, self._redactor))
        await self._store.write(
            "INSERT INTO request_bodies (request_id, created_at, client, forwarded)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (request_id) DO UPDATE SET"
            " created_at = excluded.created_at, client = excluded.client,"
            " forwarded = excluded.forwarded",
            (request_id, time.time(), client, forwarded),
        )
        self._since_prune += 1
        if self._since_prune >= self._prune_every:
            await self.prune()

    async def prune(self) -> None:
        """Keep the bodies of the ``retention`` newest requests."""
        self._since_prune = 0
        await self._store.write(
            "DELETE FROM request_bodies WHERE request_id <= (SELECT request_id FROM"
            " request_bodies ORDER BY request_id DESC LIMIT 1 OFFSET ?)",
            (self._retention,),
        )

    async def get(self, request_id: int) -> StoredBodies | None:
        row = await self._store.fetch_one(
            "SELECT client, forwarded FROM request_bodies WHERE request_id = ?", (request_id,)
        )
        if row is None:
            return None
        client: JSON = json.loads(row["client"])
        forwarded: JSON = json.loads(row["forwarded"]) if row["forwarded"] else None
        return StoredBodies(as_object(client) or {}, forwarded)
