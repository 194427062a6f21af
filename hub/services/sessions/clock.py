"""When each session last served a request, to roll auto-sessions over after a pause.

In memory; a session not seen since start asks the store once (its newest row).
"""

from __future__ import annotations

import time

from hub.core.records import SessionRecord
from hub.core.storage.store import Store


class SessionClock:
    def __init__(self, store: Store, inactivity_seconds: float) -> None:
        self._store = store
        self._inactivity = inactivity_seconds
        self._last: dict[int, float] = {}

    def touch(self, session_id: int) -> None:
        self._last[session_id] = time.time()

    async def idle(self, session: SessionRecord) -> bool:
        """True when the session served nothing for longer than the inactivity gap."""
        last = self._last.get(session.id)
        if last is None:
            row = await self._store.last_request(session.id)
            last = row.created_at if row else session.created_at
            self._last[session.id] = last
        return time.time() - last > self._inactivity
