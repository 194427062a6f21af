"""Connections open under each virtual key, so that revoking the key ends them at once.

The HTTP middleware registers every request and WebSocket a virtual key opens (a chat
stream, an MCP stream…) with a callback that ends it; ``KeyService`` calls ``end`` when
the key is revoked here, on another replica (cluster link) or in the database (reload).
"""

from __future__ import annotations

from collections.abc import Callable


class LiveConnections:
    def __init__(self) -> None:
        self._open: dict[str, set[Callable[[], None]]] = {}
        self._ended: set[str] = set()  # keys whose connections were ended (row texts)

    def watch(self, key_id: str, end: Callable[[], None]) -> Callable[[], None]:
        """Call ``end`` if the key is revoked; returns what forgets the connection."""
        ends = self._open.setdefault(key_id, set())
        ends.add(end)

        def forget() -> None:
            ends.discard(end)
            if not ends and self._open.get(key_id) is ends:
                del self._open[key_id]

        return forget

    def end(self, key_id: str) -> int:
        """End every connection open under ``key_id``; how many there were."""
        self._ended.add(key_id)
        ends = self._open.pop(key_id, set())
        for end in list(ends):
            end()
        return len(ends)

    def ended(self, key_id: str | None) -> bool:
        return key_id in self._ended
