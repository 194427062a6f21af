"""Issue #10 finding 8 and issue #15 (CSV): streamed, filtered exports a spreadsheet reads.

Rows are written straight to the store (the export reads the store). The streamed export
goes through a real hub on loopback: that other requests are answered while it streams
needs a transport that streams; the parameter checks are in-process.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, datetime

import httpx2

from hub.api.app import create_app
from hub.api.state import HubState
from hub.config import HubConfig
from hub.services.reporting.exports import EXPORT_PAGE, csv_cell
from tests.support.records import fake_record
from tests.support.servers import serve

DAY1 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC).timestamp()
DAY2 = datetime(2026, 11, 25, 23, 30, tzinfo=UTC).timestamp()


def test_csv_cells_are_spreadsheet_ready() -> None:
    assert csv_cell("created_at", DAY1) == "2026-11-24T10:00:00.000+00:00"
    assert csv_cell("stream", True) == "true" and csv_cell("stream", False) == "false"
    assert csv_cell("cost", 1e-07) == "0.0000001" and csv_cell("cost", 12.5) == "12.5"
    assert csv_cell("error", "=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert csv_cell("http_status", -1) == "-1" and csv_cell("error", None) == ""


async def test_exports_stream_filter_and_format(hub_config: HubConfig) -> None:
    app = create_app(hub_config)
    async with serve(app) as url, httpx2.AsyncClient(base_url=url, timeout=60) as http:
        hub = app.state.hub
        assert isinstance(hub, HubState)
        session = (await http.post("/api/sessions", json={"name": "export"})).json()["id"]
        other = (await http.post("/api/sessions", json={"name": "autre"})).json()["id"]
        rows = [
            replace(fake_record(session, i), created_at=DAY1 + i, cost=1e-07, stream=i % 2 == 0)
            for i in range(EXPORT_PAGE * 2 + 10)
        ]
        rows.append(replace(fake_record(session, 0, "fake/autre"), created_at=DAY2, status="error"))
        rows.append(replace(fake_record(other, 0), created_at=DAY2))
        await hub.store.insert_requests(rows)

        chunks: list[bytes] = []
        async with http.stream("GET", "/api/export/csv?sep=;") as response:
            assert response.status_code == 200
            assert "content-length" not in response.headers  # streamed
            async for chunk in response.aiter_raw():
                chunks.append(chunk)
                if len(chunks) == 1:  # the hub answers others while an export runs
                    assert (await http.get("/health")).status_code == 200
        table = list(csv.DictReader(io.StringIO(b"".join(chunks).decode()), delimiter=";"))
        assert len(table) == len(rows)
        first = table[0]  # oldest first
        assert first["cost"] == "0.0000001" and first["stream"] in ("true", "false")
        assert datetime.fromisoformat(first["created_at"]).tzinfo is not None

        async def count(query: str) -> int:
            text = (await http.get(f"/api/export/csv?{query}")).text
            return len(list(csv.DictReader(io.StringIO(text))))

        assert await count(f"session={other}") == 1
        assert await count("model=fake/autre") == 1
        assert await count("status=error") == 1
        assert await count("from=2026-11-25") == 2
        assert await count("to=2026-11-24") == EXPORT_PAGE * 2 + 10
        assert await count("from=2026-11-25T23:00:00%2B00:00&to=2026-11-26") == 2
        # the journal's filters (hub.api.query): epoch seconds, "failed", provider, tz
        assert await count(f"from={int(DAY2)}") == 2
        assert await count("status=failed") == 1
        assert await count("provider=inconnu") == 0
        assert await count("from=2026-11-26&tz=120") == 2  # local midnight is 22:00 UTC
        exported = (await http.get(f"/api/export/json?session={session}&status=ok")).json()
        assert len(exported["requests"]) == EXPORT_PAGE * 2 + 10
        assert exported["totals"]["requests"] == EXPORT_PAGE * 2 + 10
        assert [s["id"] for s in exported["sessions"]] == [session]
        empty = (await http.get("/api/export/json?model=inconnu")).json()
        assert empty["requests"] == [] and empty["totals"]["requests"] == 0


async def test_bad_export_parameters_are_400_in_french(asgi_http: httpx2.AsyncClient) -> None:
    for query in ("sep=x", "status=bof", "from=hier", "from=2026-11-26&to=2026-11-25",
                  "model=" + "m" * 300, "session=²"):  # fmt: skip
        response = await asgi_http.get(f"/api/export/csv?{query}")
        assert response.status_code == 400, query
        assert "invalide" in response.json()["error"]["message"]
    assert (await asgi_http.get("/api/export/json?session=99")).status_code == 404
    assert json.loads((await asgi_http.get("/api/export/json")).text)["requests"] == []
