"""Session state shared by replicas: this replica's memory, kept in step through the link.

``MemorySessionState`` answers every read (no network on the request path). Each
change made here is applied locally, then sent to the other replicas, which apply it to
their own memory: an activation is published before ``activate`` returns, so a session
activated on replica A is the active one for B's next request. ``replace_all`` (the
periodic reload from the database) stays local: every replica reloads on its own, which
also repairs whatever was missed while Redis was away.
"""

from __future__ import annotations

from dataclasses import replace

from hub.core.jsontypes import JSON, as_int, as_object, as_str
from hub.core.records import SessionRecord
from hub.services.cluster.protocol import ClusterLink
from hub.services.sessions.state import MemorySessionState

KIND = "session_state"


def _session(data: JSON) -> SessionRecord | None:
    """A ``SessionRecord.to_json()`` read back, or None if it is not one."""
    raw = as_object(data)
    if raw is None:
        return None
    session_id, name, created = (
        as_int(raw.get("id")),
        as_str(raw.get("name")),
        raw.get("created_at"),
    )
    if session_id is None or name is None or not isinstance(created, int | float):
        return None
    return SessionRecord(
        id=session_id,
        name=name,
        created_at=float(created),
        active=raw.get("active") is True,
        provider=as_str(raw.get("provider")),
        model_key=as_str(raw.get("model_key")),
        compaction=raw.get("compaction") is not False,
        key_id=as_str(raw.get("key_id")),  # whose session: the other replicas check it too
        auto=raw.get("auto") is True,
    )


class SharedSessionState:
    def __init__(self, local: MemorySessionState, link: ClusterLink) -> None:
        self._local = local
        self._link = link
        link.on(KIND, self._apply)

    async def get(self, session_id: int) -> SessionRecord | None:
        return await self._local.get(session_id)

    async def active(self) -> SessionRecord | None:
        return await self._local.active()

    async def all(self) -> list[SessionRecord]:
        return await self._local.all()

    async def replace_all(self, sessions: list[SessionRecord]) -> None:
        await self._local.replace_all(sessions)

    async def _merge(self, session: SessionRecord) -> SessionRecord:
        """A session's model, once known, is kept: the store gets it after the first
        request (off the request path), so a copy read from the store may lack it."""
        known = await self._local.get(session.id)
        if session.model_key is None and known is not None and known.model_key is not None:
            return replace(session, provider=known.provider, model_key=known.model_key)
        return session

    async def put(self, session: SessionRecord) -> None:
        session = await self._merge(session)
        await self._local.put(session)
        message: JSON = {"op": "put", "session": session.to_json()}
        if session.active:  # an activation: the other replicas must know before we answer
            await self._link.publish(KIND, message)
        else:
            self._link.send(KIND, message)

    async def activate(self, session_id: int) -> None:
        await self._local.activate(session_id)
        await self._link.publish(KIND, {"op": "activate", "id": session_id})

    async def remove(self, session_id: int) -> None:
        await self._local.remove(session_id)
        self._link.send(KIND, {"op": "remove", "id": session_id})

    async def _apply(self, data: JSON) -> None:
        """A change made on another replica."""
        message = as_object(data) or {}
        op, session_id = message.get("op"), as_int(message.get("id"))
        if op == "put":
            session = _session(message.get("session"))
            if session is not None:
                await self._local.put(await self._merge(session))
        elif op == "activate" and session_id is not None:
            await self._local.activate(session_id)
        elif op == "remove" and session_id is not None:
            await self._local.remove(session_id)
