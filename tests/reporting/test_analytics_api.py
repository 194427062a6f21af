"""Analytics, journal search and the request inspector over REST (in-process hub, real SQLite)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx2
import pytest
from starlette.applications import Starlette

from hub.api.app import create_app
from hub.config import load_config
from tests.support.asgi import InProcess, in_process
from tests.support.chats import MASK_REF, history
from tests.support.hub_configs import ADMIN, SAVINGS, UPSTREAM_SECRET, keyed_config, write_config
from tests.support.records import fake_record

DAY = 86_400
NOW = time.time()


def _day(offset_days: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(NOW - offset_days * DAY))


async def _fill(app: Starlette, count: int = 120) -> None:
    state = app.state.hub
    session = await state.sessions.create("Analyse", activate=True)
    other = await state.sessions.create("Autre", activate=False)
    for index in range(count):
        failed = index % 10 == 0
        record = replace(
            fake_record(session.id if index % 2 else other.id, index,
                        "fake/echo" if index % 3 else "other/echo"),
            created_at=NOW - (index % 6) * DAY, total_ms=float(index + 1),
            ttfb_ms=float(index) if index % 4 else None, tokens_saved=10,
            provider="fake" if index % 3 else "other",
            status="error" if failed else "ok", http_status=502 if failed else 200,
            error=f"Fournisseur injoignable (essai {index}) 100%_sûr" if failed else None,
        )  # fmt: skip
        await state.store.insert_request(record)


@pytest.fixture
async def filled(asgi_hub: InProcess) -> AsyncIterator[httpx2.AsyncClient]:
    async with asgi_hub.http(timeout=20) as http:
        await _fill(asgi_hub.app)
        yield http


async def test_analytics_per_day_model_provider_latency(filled: httpx2.AsyncClient) -> None:
    data = (await filled.get("/api/analytics", params={"tz": 0})).json()
    assert data["totals"]["requests"] == 120
    assert data["totals"]["errors"] == 12 and data["totals"]["error_rate"] == 0.1
    assert data["totals"]["tokens_saved"] == 1200
    assert sum(d["requests"] for d in data["days"]) == 120
    assert [d["day"] for d in data["days"]] == sorted(d["day"] for d in data["days"])
    models = {m["model_key"]: m for m in data["by_model"]}
    assert models["fake/echo"]["requests"] == 80 and models["other/echo"]["requests"] == 40
    assert models["fake/echo"]["provider"] == "fake"
    assert {p["provider"] for p in data["by_provider"]} == {"fake", "other"}
    # total_ms is 1..120: nearest-rank p50 = 60, p90 = 108, p99 = 119
    assert data["latency_ms"]["total"] == {"p50": 60.0, "p90": 108.0, "p99": 119.0}
    assert data["latency_ms"]["ttfb"]["p50"] is not None


async def test_range_and_filters_change_the_figures(filled: httpx2.AsyncClient) -> None:
    today = (await filled.get("/api/analytics", params={"from": _day(0), "to": _day(0)})).json()
    assert today["totals"]["requests"] == 20 and len(today["days"]) == 1
    two: dict[str, str | int] = {"from": _day(1), "to": _day(0), "tz": 0}
    assert (await filled.get("/api/analytics", params=two)).json()["totals"]["requests"] == 40
    iso = {"from": f"{_day(1)}T00:00:00", "to": f"{_day(0)}T00:00:00+00:00"}  # as exports
    assert (await filled.get("/api/analytics", params=iso)).json()["totals"]["requests"] == 20
    model = (await filled.get("/api/analytics", params={"model": "other/echo"})).json()
    assert model["totals"]["requests"] == 40
    failed = (await filled.get("/api/analytics", params={"status": "failed"})).json()
    assert failed["totals"]["requests"] == 12 and failed["totals"]["error_rate"] == 1.0
    empty = (await filled.get("/api/analytics", params={"model": "nothing"})).json()
    assert empty["totals"]["requests"] == 0 and empty["totals"]["error_rate"] is None
    assert empty["latency_ms"]["total"] == {"p50": None, "p90": None, "p99": None}


async def test_search_pages_with_keyset_cursor_and_total(filled: httpx2.AsyncClient) -> None:
    seen: list[int] = []
    before = None
    while True:
        params = {"limit": 50, **({"before": before} if before else {})}
        page = (await filled.get("/api/requests", params=params)).json()
        assert page["total"] == 120
        seen += [r["id"] for r in page["requests"]]
        before = page["next_before"]
        if before is None:
            break
    assert seen == sorted(seen, reverse=True) and len(set(seen)) == 120
    errors = (await filled.get("/api/requests", params={"q": "injoignable"})).json()
    assert errors["total"] == 12 and all(r["status"] == "error" for r in errors["requests"])
    literal = (await filled.get("/api/requests", params={"q": "100%_sûr"})).json()
    assert literal["total"] == 12  # % and _ are literal, not LIKE wildcards
    assert (await filled.get("/api/requests", params={"q": "0%_s"})).json()["total"] == 12
    assert (await filled.get("/api/requests", params={"q": "x%"})).json()["total"] == 0
    hostile = (await filled.get("/api/requests", params={"q": "' OR 1=1 --"})).json()
    assert hostile["total"] == 0
    sessions = (await filled.get("/api/sessions")).json()["sessions"]
    other = next(s["id"] for s in sessions if s["name"] == "Autre")  # even rows, 12 failed
    only = (await filled.get("/api/requests", params={"session": other, "status": "ok"})).json()
    assert only["total"] == 48 and {r["session_id"] for r in only["requests"]} == {other}


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"from": "2026-13-45"}, "from"),
        ({"from": "demain"}, "from"),
        ({"to": "-5"}, "to"),
        ({"from": "2026-11-20", "to": "2026-11-10"}, "to"),
        ({"tz": "9999"}, "tz"),
        ({"tz": "est"}, "tz"),
        ({"status": "weird"}, "status"),
        ({"limit": "abc"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"limit": "²"}, "limit"),
        ({"limit": "١٢"}, "limit"),
        ({"before": "٣"}, "before"),
        ({"tz": "١٢٠"}, "tz"),
        ({"before": "-1"}, "before"),
        ({"session": "abc"}, None),
        ({"q": "x" * 201}, "q"),
        ({"model": "m" * 300}, "model"),
    ],
)
async def test_bad_filters_are_french_400(
    filled: httpx2.AsyncClient, params: dict[str, str], param: str | None
) -> None:
    for path in ("/api/requests", "/api/analytics"):
        if path == "/api/analytics" and set(params) & {"limit", "before"}:
            continue
        response = await filled.get(path, params=params)
        assert response.status_code == 400, (path, response.text)
        error = response.json()["error"]
        if param:
            assert error["param"] == param
        assert "invalide" in error["message"]


async def test_inspector_without_bodies(filled: httpx2.AsyncClient) -> None:
    row = (await filled.get("/api/requests", params={"limit": 1})).json()["requests"][0]
    data = (await filled.get(f"/api/requests/{row['id']}")).json()
    assert data["request"] == row and data["session"]["name"] in ("Analyse", "Autre")
    assert data["bodies"] == {"enabled": False, "stored": False, "client": None, "forwarded": None}
    missing = await filled.get("/api/requests/999999")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "request_not_found"
    for bad in ("abc", "0", "-3", "1" * 40):
        assert (await filled.get(f"/api/requests/{bad}")).status_code in (400, 404)


BODIES = "\n[logging]\nstore_bodies = true\nbody_retention = 3\n"


async def test_inspector_shows_client_and_forwarded_bodies(
    tmp_path: Path, upstream_url: str
) -> None:
    extra = (
        SAVINGS.format(masking="true", compaction="false", summarise="false", summariser="")
        + BODIES
    )
    config = load_config(
        write_config(tmp_path, upstream_url, extra), {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET}
    )
    async with in_process(create_app(config)) as hub, hub.http() as http:
        async with hub.openai("k") as sdk:
            sent = history(2)
            sent[-1] = {"role": "user", "content": f"ma clé est {UPSTREAM_SECRET}, corrige."}
            await sdk.chat.completions.create(model="fake/wide", messages=sent)
            page = (await http.get("/api/requests", params={"limit": 1})).json()
            data = (await http.get(f"/api/requests/{page['requests'][0]['id']}")).json()
            bodies = data["bodies"]
            assert bodies["enabled"] and bodies["stored"]
            client, forwarded = bodies["client"]["messages"], bodies["forwarded"]["messages"]
            assert client[3]["content"] == sent[3]["content"]  # what the client sent
            assert MASK_REF.search(forwarded[3]["content"])  # what the provider received
            assert forwarded[3]["content"] != client[3]["content"]
            assert UPSTREAM_SECRET not in str(bodies)  # keys never stored
            assert "[secret masqué]" in client[-1]["content"]
            for _ in range(4):  # unchanged requests: forwarded is not stored twice
                await sdk.chat.completions.create(model="fake/echo", messages=[sent[0], sent[1]])
        rows = (await http.get("/api/requests", params={"limit": 10})).json()["requests"]
        kept = [(await http.get(f"/api/requests/{r['id']}")).json()["bodies"] for r in rows]
        assert [b["stored"] for b in kept] == [True, True, True, False, False]  # retention 3
        assert kept[0]["forwarded"] is None


async def test_filter_and_inspect_by_virtual_key(tmp_path: Path, upstream_url: str) -> None:
    config = load_config(keyed_config(tmp_path, upstream_url), {"FAKE_UPSTREAM_KEY": "k"})
    async with in_process(create_app(config)) as hub:
        admin = hub.http(headers={"authorization": f"Bearer {ADMIN}"})
        async with admin:
            created = (await admin.post("/api/keys", json={"name": "Alice"})).json()
            async with hub.openai(created["secret"]) as sdk:
                await sdk.chat.completions.create(model="fake/echo", messages=history(0))
            async with hub.openai(ADMIN) as sdk:
                await sdk.chat.completions.create(model="fake/echo", messages=history(0))
            found = (await admin.get("/api/requests", params={"key": created["id"]})).json()
            assert found["total"] == 1 and found["requests"][0]["key_id"] == created["id"]
            totals = (await admin.get("/api/analytics", params={"key": created["id"]})).json()
            assert totals["totals"]["requests"] == 1
            inspected = await admin.get(f"/api/requests/{found['requests'][0]['id']}")
            assert inspected.json()["request"]["key_id"] == created["id"]
