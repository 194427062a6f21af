"""Sessions: which one a request belongs to, and the REST/MCP operations on them.

The request path (``for_request``) reads ``SessionState`` (memory); every change is
written to the store first, then to the state (write-through), so a request never
queries the database for its session, except to create one (its id comes from the
database). REST and MCP reads go to the store and refresh the state, and the state
is reloaded every second: ``kimi-proxy mcp`` may change sessions in the same file.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from hub.config import SessionsConfig
from hub.core.errors import HubError, NotFoundError
from hub.core.ids import MAX_DIGITS, ascii_int
from hub.core.records import SessionRecord
from hub.core.storage.database import DatabaseUnavailable
from hub.core.storage.store import Store
from hub.proxy.routing import Route
from hub.services.access.caller import LOCAL, Caller
from hub.services.events import EventBus
from hub.services.sessions.clock import SessionClock
from hub.services.sessions.state import SessionState

MAX_NAME_LENGTH = 200
REFRESH_SECONDS = 1.0
logger = logging.getLogger("hub.sessions")


def default_name(prefix: str = "Session") -> str:
    return f"{prefix} du {time.strftime('%d/%m/%Y %H:%M')}"


def _not_found(session_id: int) -> NotFoundError:
    return NotFoundError(f"Session {session_id} introuvable.", code="session_not_found")


def parse_session_id(value: str) -> int:
    """A session id from a header, a query or a path segment, or a 400 in French."""
    session_id = ascii_int(value)
    if session_id is None or session_id == 0:
        raise HubError(
            f"Identifiant de session invalide : « {value[:40]} » "
            f"(entier positif d'au plus {MAX_DIGITS} chiffres attendu).",
            code="invalid_session_id",
            param="X-Kimi-Session",
        )
    return session_id


class SessionService:
    def __init__(
        self, store: Store, state: SessionState, bus: EventBus, config: SessionsConfig
    ) -> None:
        self._store = store
        self._state = state
        self._writes: set[asyncio.Task[None]] = set()
        self._bus = bus
        self._auto = config.auto_session
        self._clock = SessionClock(store, config.inactivity_minutes * 60)
        self._by_key: dict[str, int] = {}  # virtual key -> its current session
        self._lock = asyncio.Lock()  # two first requests must not open two sessions
        self._write_lock = asyncio.Lock()  # a store write and its state update, together

    def _publish(self, action: str, session: SessionRecord | None, session_id: int) -> None:
        self._bus.publish(
            "session",
            {
                "action": action,
                "session_id": session_id,
                "session": session.to_json() if session else None,
            },
        )

    async def refresh(self) -> list[SessionRecord]:
        """Reload the state from the store: changes made by another process on the file."""
        async with self._write_lock:
            await self._flush_writes()
            sessions = await self._store.list_sessions()
            await self._state.replace_all(sessions)
        return sessions

    @asynccontextmanager
    async def running(self, period: float = REFRESH_SECONDS) -> AsyncIterator[None]:
        """Refresh the state every ``period`` (another process may share the database)."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(period)
                try:
                    await self.refresh()
                except (sqlite3.Error, DatabaseUnavailable) as exc:
                    logger.debug("sessions non relues : %s", exc)  # /health reports storage

        task = asyncio.create_task(loop())
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await self._flush_writes()

    async def get(self, session_id: int) -> SessionRecord:
        """From the store (REST, MCP), and into the state."""
        async with self._write_lock:
            session = await self._store.get_session(session_id)
            if session is None:
                await self._state.remove(session_id)
            else:
                await self._state.put(session)
        if session is None:
            raise _not_found(session_id)
        return session

    async def owned(self, session_id: int, caller: Caller) -> SessionRecord:
        """The session if ``caller`` may see it; another key's answers like an unknown one."""
        session = await self.get(session_id)
        if not caller.owns(session.key_id):
            raise _not_found(session_id)
        return session

    async def list(self, caller: Caller = LOCAL) -> list[SessionRecord]:
        return [s for s in await self.refresh() if caller.owns(s.key_id)]

    async def active(self) -> SessionRecord | None:
        await self.refresh()
        return await self._state.active()

    async def current(self, caller: Caller) -> SessionRecord | None:
        """The session a caller's requests go to: the active one, or a key's own."""
        if caller.key_id is None:
            return await self.active()
        await self.refresh()
        return await self._key_session(caller.key_id)

    async def _key_session(self, key_id: str) -> SessionRecord | None:
        known = self._by_key.get(key_id)
        current = await self._state.get(known) if known is not None else None
        if current is None:
            owned = [s for s in await self._state.all() if s.key_id == key_id]
            current = owned[-1] if owned else None
        return current

    async def create(
        self, name: str | None = None, *, activate: bool = True, key_id: str | None = None
    ) -> SessionRecord:
        clean = (name or "").strip()[:MAX_NAME_LENGTH] or default_name()
        async with self._write_lock:
            session = await self._store.create_session(clean, active=activate, key_id=key_id)
            await self._state.put(session)
        self._publish("created", session, session.id)
        return session

    async def create_as(self, caller: Caller, name: str | None, *, activate: bool) -> SessionRecord:
        """A key's session is its own, and « active » only for that key's requests."""
        if caller.key_id is None:
            return await self.create(name, activate=activate)
        session = await self.create(name, activate=False, key_id=caller.key_id)
        if activate:
            self._by_key[caller.key_id] = session.id
        return session

    async def activate_as(self, caller: Caller, session_id: int) -> SessionRecord:
        """The admin activates for everyone; a key picks where its own requests go."""
        if caller.key_id is None:
            return await self.activate(session_id)
        session = await self.owned(session_id, caller)
        if session.auto:  # chosen: it no longer rolls over after a pause
            await self._store.update_session(session_id, auto=False)
            session = await self.get(session_id)
        self._by_key[caller.key_id] = session.id
        return session

    async def activate(self, session_id: int) -> SessionRecord:
        await self.get(session_id)
        async with self._write_lock:
            await self._store.activate_session(session_id)
            await self._state.activate(session_id)
        session = await self.get(session_id)
        self._publish("activated", session, session_id)
        return session

    async def rename(self, session_id: int, name: str, caller: Caller = LOCAL) -> SessionRecord:
        clean = name.strip()[:MAX_NAME_LENGTH]
        if not clean:
            raise HubError("Le nom de session ne peut pas être vide.", code="invalid_name")
        await self.owned(session_id, caller)
        await self._store.update_session(session_id, name=clean)
        session = await self.get(session_id)
        self._publish("renamed", session, session_id)
        return session

    async def set_compaction(self, session_id: int, enabled: bool) -> SessionRecord:
        await self.get(session_id)
        await self._store.update_session(session_id, compaction=enabled)
        return await self.get(session_id)

    async def delete(self, session_id: int, caller: Caller = LOCAL) -> None:
        """Hide the session; its request rows stay in the journal (budgets, exports)."""
        await self.owned(session_id, caller)
        async with self._write_lock:
            await self._flush_writes()
            deleted = await self._store.delete_session(session_id)
            await self._state.remove(session_id)
        if not deleted:
            raise _not_found(session_id)
        self._publish("deleted", None, session_id)

    async def _seen(self, key_id: str | None) -> SessionRecord | None:
        """The current session in memory: the active one, or the key's own."""
        if key_id is None:
            return await self._state.active()
        return await self._key_session(key_id)

    async def _current(self, seen: SessionRecord | None) -> SessionRecord | None:
        """The session to go on with; None: open one.

        A session a person created or activated stays; one the request path opened
        (``auto``) is replaced after ``inactivity_minutes`` without a request.
        """
        if seen is None or not (self._auto and seen.auto):
            return seen
        return None if await self._clock.idle(seen) else seen

    async def _open_auto(
        self, name: str, key_id: str | None, seen: SessionRecord | None
    ) -> SessionRecord:
        """A new auto-session, or the one another replica opened an instant ago."""
        async with self._write_lock:
            session, created = await self._store.open_auto_session(
                name,
                active=key_id is None,  # a key's session is not the dashboard's
                key_id=key_id,
                replacing=None if seen is None else seen.id,
            )
            await self._state.put(session)
        if created:
            self._publish("created", session, session.id)
        return session

    async def for_request(
        self, header: str | None, route: Route, key_id: str | None = None, key_name: str = ""
    ) -> SessionRecord:
        """The session a chat request is recorded in, from memory.

        An explicit ``X-Kimi-Session`` wins (a virtual key's own sessions only). Otherwise
        the active session, or with a virtual key that key's own session (never made
        active: it is not the dashboard's).
        """
        async with self._lock:
            if header is not None:
                session_id = parse_session_id(header)
                known = await self._state.get(session_id)
                session = known if known is not None else await self.get(session_id)
                if key_id is not None and session.key_id != key_id:
                    raise _not_found(session_id)
            else:
                seen = await self._seen(key_id)
                current = await self._current(seen)
                if current is None:
                    label = f"Auto · {key_name or route.model_key} ·"
                    current = await self._open_auto(default_name(label), key_id, seen)
                session = current
                if key_id is not None:
                    self._by_key[key_id] = session.id
            self._clock.touch(session.id)
            if session.model_key is None:
                session = replace(session, provider=route.provider.name, model_key=route.model_key)
                await self._state.put(session)
                self._write_later(session)
            return session

    def _write_later(self, session: SessionRecord) -> None:
        """A session's first model, stored off the request path."""

        async def write() -> None:
            try:
                await self._store.update_session(
                    session.id, provider=session.provider, model_key=session.model_key
                )
            except (sqlite3.Error, DatabaseUnavailable) as exc:  # memory keeps it meanwhile
                logger.warning("Modèle de la session %d non enregistré : %s", session.id, exc)

        task = asyncio.create_task(write())
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _flush_writes(self) -> None:
        while self._writes:
            await asyncio.gather(*list(self._writes))

    async def flush(self) -> None:
        """Wait for the background session writes (tests, read-your-writes)."""
        await self._flush_writes()
