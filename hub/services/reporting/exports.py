"""CSV and JSON exports, streamed page by page: memory stays flat whatever the journal's
size, and the event loop gets control back between pages.

Rows come oldest first, filtered in SQL by the journal's ``RequestFilter`` (session,
virtual key, model, provider, status, error text, ``[since, until)`` of ``created_at``).
CSV cells are what a spreadsheet reads without help: ISO 8601 UTC timestamps,
``true``/``false``, plain decimals (never ``1e-07``), and a chosen separator (``;`` for
locales whose decimal mark is a comma).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from hub.core.jsontypes import JSON, JSONObject
from hub.core.records import RequestRecord, Totals
from hub.core.storage.pages import export_pages
from hub.core.storage.queries import RequestFilter, RequestQueries
from hub.core.storage.store import Store
from hub.services.recording.recorder import RequestRecorder
from hub.services.sessions.service import SessionService

EXPORT_COLUMNS = (
    "id",
    "session_id",
    "created_at",
    "model_key",
    "provider",
    "upstream_model",
    "stream",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "usage_source",
    "prompt_estimate",
    "ttfb_ms",
    "total_ms",
    "status",
    "http_status",
    "error",
    "cost",
    "attempts",
    "tokens_saved",
    "cached_tokens",
    "key_id",
)
EXPORT_PAGE = 1000


def csv_cell(column: str, value: JSON) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if column == "created_at" and isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).isoformat(timespec="milliseconds")
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")  # 1e-07 → 0.0000001
    text = str(value)
    # A leading =, +, - or @ would run as a formula in a spreadsheet (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not isinstance(value, int) else text


class Exportable(Protocol):
    def to_json(self) -> JSONObject: ...


async def csv_text(
    pages: AsyncIterator[Sequence[Exportable]],
    columns: Sequence[str],
    separator: str,
    cell: Callable[[str, JSON], str] = csv_cell,
) -> AsyncIterator[str]:
    """A header, then one CSV text per page (memory stays flat)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator)
    writer.writerow(columns)
    async for page in pages:
        for row in page:
            data = row.to_json()
            writer.writerow([cell(c, data.get(c)) for c in columns])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()  # the header alone when nothing matched


class Exporter:
    def __init__(self, store: Store, sessions: SessionService, recorder: RequestRecorder) -> None:
        self._store = store
        self._queries = RequestQueries(store)
        self._sessions = sessions
        self._recorder = recorder

    async def pages(self, where: RequestFilter) -> AsyncIterator[list[RequestRecord]]:
        """The matching rows, oldest first, one bounded page at a time, up to the newest
        row when the export started (rows written meanwhile belong to the next one)."""
        await self._recorder.flush()
        newest = await self._store.list_requests(where.session_id, limit=1)
        if not newest or newest[0].id is None:
            return
        last = newest[0].id

        async def fetch(after: int) -> list[RequestRecord]:
            return await self._queries.oldest_after(
                where, after_id=after, up_to_id=last, limit=EXPORT_PAGE
            )

        async for page in export_pages(fetch, EXPORT_PAGE):
            yield page

    def csv(self, where: RequestFilter, separator: str = ",") -> AsyncIterator[str]:
        return csv_text(self.pages(where), EXPORT_COLUMNS, separator)

    async def json(self, where: RequestFilter) -> AsyncIterator[str]:
        """``{"sessions": […], "requests": […], "totals": {…}}``; totals of the rows sent."""
        sessions: list[JSON] = [
            s.to_json()
            for s in await self._sessions.list()
            if (where.session_id is None or s.id == where.session_id)
            and (where.key_id is None or s.key_id == where.key_id)
        ]
        yield '{"sessions": ' + json.dumps(sessions, ensure_ascii=False) + ', "requests": ['
        totals = Totals.of(())
        separator = ""
        async for page in self.pages(where):
            texts = [json.dumps(row.to_json(), ensure_ascii=False) for row in page]
            yield separator + ", ".join(texts)
            separator = ", "
            totals += Totals.of(page)
        yield '], "totals": ' + json.dumps(totals.to_json()) + "}"
