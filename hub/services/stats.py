"""Totals, per-session statistics and exports, shared by REST and MCP."""

from __future__ import annotations

import csv
import io

from hub.core.jsontypes import JSON, JSONObject
from hub.core.records import RequestRecord
from hub.core.store import Store
from hub.services.metrics import MetricRecorder
from hub.services.savings import SavingsService
from hub.services.sessions import SessionService

EXPORT_COLUMNS = (
    "id", "session_id", "created_at", "model_key", "provider", "upstream_model", "stream",
    "prompt_tokens", "completion_tokens", "total_tokens", "usage_source", "prompt_estimate",
    "ttfb_ms", "total_ms", "status", "http_status", "error", "cost", "attempts", "tokens_saved",
    "cached_tokens", "key_id",
)  # fmt: skip
EXPORT_PAGE = 1000


def _csv_cell(value: JSON) -> str:
    text = "" if value is None else str(value)
    # A leading =, +, - or @ would run as a formula in a spreadsheet (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class StatsService:
    def __init__(
        self,
        store: Store,
        sessions: SessionService,
        recorder: MetricRecorder,
        savings: SavingsService,
    ) -> None:
        self._store = store
        self._sessions = sessions
        self._recorder = recorder
        self._savings = savings

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

    async def all_requests(
        self, session_id: int | None = None, key_id: str | None = None
    ) -> list[RequestRecord]:
        """Every row, oldest first, read page by page."""
        await self._recorder.flush()
        rows: list[RequestRecord] = []
        before: int | None = None
        while True:
            page = await self._store.list_requests(
                session_id, limit=EXPORT_PAGE, before_id=before, key_id=key_id
            )
            rows.extend(page)
            if len(page) < EXPORT_PAGE:
                break
            before = page[-1].id
        rows.reverse()
        return rows

    async def export_json(
        self, session_id: int | None = None, key_id: str | None = None
    ) -> JSONObject:
        rows = await self.all_requests(session_id, key_id)
        used = {r.session_id for r in rows}
        sessions = [s.to_json() for s in await self._sessions.list()
                    if (session_id is None or s.id == session_id)
                    and (key_id is None or s.key_id == key_id or s.id in used)]  # fmt: skip
        requests: list[JSON] = [r.to_json() for r in rows]
        totals = await self._store.totals(session_id, key_id)
        return {"sessions": list[JSON](sessions), "requests": requests, "totals": totals.to_json()}

    async def export_csv(self, session_id: int | None = None, key_id: str | None = None) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_COLUMNS)
        for record in await self.all_requests(session_id, key_id):
            data = record.to_json()
            writer.writerow([_csv_cell(data.get(column)) for column in EXPORT_COLUMNS])
        return buffer.getvalue()
