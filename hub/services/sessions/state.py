"""Live session state: which session is active and each session's settings, in memory.

The proxy path reads sessions on every request; reading them from SQLite put two
queries before the first upstream byte (issue #11). ``SessionState`` is the
interface the request path reads; ``MemorySessionState`` loads every session once
at start and is written through by ``SessionService`` (the only writer of the
``sessions`` table) after each store write. A team deployment can back the same
interface with Redis so replicas share it.

A second process on the same database (``kimi-proxy mcp`` over stdio) keeps its own
copy; ``SessionService`` reloads the state from the store every second, and on every
REST/MCP read, so such changes reach the request path within a second.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from hub.core.records import SessionRecord
from hub.core.storage.store import Store


class SessionState(Protocol):
    """What the request path needs to know about sessions, without a database round trip."""

    async def get(self, session_id: int) -> SessionRecord | None: ...

    async def active(self) -> SessionRecord | None: ...

    async def all(self) -> list[SessionRecord]: ...

    async def put(self, session: SessionRecord) -> None:
        """Insert or replace one session (after it was written to the store)."""

    async def activate(self, session_id: int) -> None:
        """Mark one session active and every other inactive."""

    async def remove(self, session_id: int) -> None: ...

    async def replace_all(self, sessions: list[SessionRecord]) -> None:
        """Everything at once, as the store has it (periodic reload)."""


class MemorySessionState:
    """``SessionState`` for one process: a dict, loaded from the store at start."""

    def __init__(self, sessions: list[SessionRecord]) -> None:
        self._sessions: dict[int, SessionRecord] = {}
        self._active: int | None = None
        self._load(sessions)

    def _load(self, sessions: list[SessionRecord]) -> None:
        self._sessions = {s.id: s for s in sessions}
        self._active = next((s.id for s in sessions if s.active), None)

    async def replace_all(self, sessions: list[SessionRecord]) -> None:
        self._load(sessions)

    @classmethod
    async def load(cls, store: Store) -> MemorySessionState:
        return cls(await store.list_sessions())

    async def get(self, session_id: int) -> SessionRecord | None:
        return self._sessions.get(session_id)

    async def active(self) -> SessionRecord | None:
        return None if self._active is None else self._sessions.get(self._active)

    async def all(self) -> list[SessionRecord]:
        return sorted(self._sessions.values(), key=lambda s: s.id)

    async def put(self, session: SessionRecord) -> None:
        self._sessions[session.id] = session
        if session.active:
            await self.activate(session.id)

    async def activate(self, session_id: int) -> None:
        previous = self._sessions.get(self._active) if self._active is not None else None
        if previous is not None and previous.id != session_id:
            self._sessions[previous.id] = replace(previous, active=False)
        current = self._sessions.get(session_id)
        if current is not None:
            self._sessions[session_id] = replace(current, active=True)
            self._active = session_id

    async def remove(self, session_id: int) -> None:
        self._sessions.pop(session_id, None)
        if self._active == session_id:
            self._active = None
