"""Analytics over a date range, the searchable journal and one request's inspection.

Shared by the REST routes (``hub/api/routes/analytics.py``); every read flushes the
recorder first so a request that just finished is counted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from hub.core.errors import NotFoundError
from hub.core.jsontypes import JSON, JSONObject
from hub.core.records import Totals
from hub.core.storage.bodies import BodyStore
from hub.core.storage.queries import GroupRow, RequestFilter, RequestQueries
from hub.core.storage.store import Store
from hub.services.recording.recorder import RequestRecorder

PERCENTILES = (0.5, 0.9, 0.99)


def _sum(rows: Iterable[GroupRow]) -> JSONObject:
    total = sum((row.totals for row in rows), Totals.of(()))
    data = total.to_json()
    data["error_rate"] = round(total.errors / total.requests, 4) if total.requests else None
    return data


def _grouped(rows: list[GroupRow], key: str) -> list[JSON]:
    groups: dict[str, list[GroupRow]] = defaultdict(list)
    for row in rows:
        groups[str(getattr(row, key))].append(row)
    result: list[JSON] = []
    for name, members in groups.items():
        result.append({key: name, **_sum(members)})
    return result


class AnalyticsService:
    def __init__(
        self, store: Store, recorder: RequestRecorder, bodies: BodyStore, store_bodies: bool
    ) -> None:
        self._queries = RequestQueries(store)
        self._recorder = recorder
        self._bodies = bodies
        self._store_bodies = store_bodies

    async def analytics(self, where: RequestFilter, utc_offset_s: int) -> JSONObject:
        """Totals, per day, per model and per provider, latency percentiles, error rate."""
        await self._recorder.flush()
        rows = await self._queries.groups(where, utc_offset_s)
        by_model = _grouped(rows, "model_key")
        for entry in by_model:  # the provider of each model, for the table
            if isinstance(entry, dict):
                name = entry["model_key"]
                entry["provider"] = next(r.provider for r in rows if r.model_key == name)
        return {
            "totals": _sum(rows),
            "days": _grouped(rows, "day"),
            "by_model": sorted(by_model, key=_cost_then_tokens, reverse=True),
            "by_provider": sorted(_grouped(rows, "provider"), key=_cost_then_tokens, reverse=True),
            "latency_ms": dict(await self._queries.latency(where, PERCENTILES)),
        }

    async def search(self, where: RequestFilter, limit: int, before: int | None) -> JSONObject:
        """One page of the journal, newest first, with the total matching count."""
        await self._recorder.flush()
        page = await self._queries.search(where, limit=limit + 1, before_id=before)
        more = len(page) > limit
        page = page[:limit]
        return {
            "requests": [r.to_json() for r in page],
            "total": await self._queries.count(where),
            "next_before": page[-1].id if more and page else None,
        }

    async def inspect(self, request_id: int) -> JSONObject:
        """The row, its session, and the stored bodies when ``store_bodies`` kept them."""
        await self._recorder.flush()
        record = await self._queries.get(request_id)
        if record is None:
            raise NotFoundError(f"Requête n° {request_id} introuvable.", code="request_not_found")
        session = await self._queries.session_name(record.session_id)
        bodies = await self._bodies.get(request_id)
        return {
            "request": record.to_json(),
            "session": {"id": record.session_id, "name": session},
            "bodies": {
                "enabled": self._store_bodies,
                "stored": bodies is not None,
                **(bodies.to_json() if bodies else {"client": None, "forwarded": None}),
            },
        }


def _cost_then_tokens(entry: JSON) -> tuple[float, float]:
    if not isinstance(entry, dict):
        return (0.0, 0.0)
    cost, tokens = entry.get("cost"), entry.get("total_tokens")
    return (
        float(cost) if isinstance(cost, int | float) else 0.0,
        float(tokens) if isinstance(tokens, int | float) else 0.0,
    )
