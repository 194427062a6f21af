"""Totals, per-session statistics and exports, shared by REST and MCP."""

from __future__ import annotations

from hub.core.jsontypes import JSONObject
from hub.core.storage.store import Store
from hub.services.recording.recorder import RequestRecorder
from hub.services.reporting.exports import Exporter
from hub.services.savings.service import SavingsService
from hub.services.sessions.service import SessionService


class StatsService:
    def __init__(
        self,
        store: Store,
        sessions: SessionService,
        recorder: RequestRecorder,
        savings: SavingsService,
    ) -> None:
        self._store = store
        self._sessions = sessions
        self._recorder = recorder
        self._savings = savings
        self.exports = Exporter(store, sessions, recorder)

    async def session_stats(self, session_id: int, *, last: int = 20) -> JSONObject:
        session = await self._sessions.get(session_id)
        await self._recorder.flush()
        totals = await self._store.totals(session_id)
        recent = await self._store.list_requests(session_id, limit=last)
        return {
            "session": session.to_json(),
            "totals": totals.to_json(),
            "gauge": await self._recorder.gauge(session),
            "requests": [r.to_json() for r in recent],
            "savings": await self._savings.totals(session_id),
        }

    async def global_stats(self) -> JSONObject:
        await self._recorder.flush()
        totals = await self._store.totals()
        active = await self._sessions.active()
        return {
            "totals": totals.to_json(),
            "sessions": await self._store.count_sessions(),
            "active_session": active.to_json() if active else None,
            "gauge": await self._recorder.gauge(active) if active else None,
            "savings": await self._savings.totals(),
        }
