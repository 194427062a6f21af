"""Sessions, metrics, gauge, exports, health, WebSocket and API key: in-process, and over
a socket where a WebSocket is part of the test."""

import asyncio
import csv
import io
import json
from pathlib import Path

import httpx2
import pytest
import websockets

from hub.api.app import create_app
from hub.config import load_config
from tests.support.asgi import in_process
from tests.support.chats import HELLO
from tests.support.hub_configs import write_config
from tests.support.servers import serve


async def _chat(
    http: httpx2.AsyncClient, model: str = "fake/echo", **headers: str
) -> httpx2.Response:
    response = await http.post(
        "/chat/completions", json={"model": model, "messages": HELLO}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response


async def test_health_reports_french_status_and_database(asgi_http: httpx2.AsyncClient) -> None:
    body = (await asgi_http.get("/health")).json()
    assert body["status"] == "opérationnel"
    assert body["database"]["status"] == "opérationnelle"
    assert body["version"] and body["uptime_s"] >= 0


async def test_session_crud(asgi_http: httpx2.AsyncClient) -> None:
    created = await asgi_http.post("/api/sessions", json={"name": "  Refactor  "})
    assert created.status_code == 201
    session = created.json()
    assert session["name"] == "Refactor" and session["active"] is True
    other = (await asgi_http.post("/api/sessions", json={"activate": False})).json()
    assert other["active"] is False and other["name"].startswith("Session du ")
    await asgi_http.post(f"/api/sessions/{other['id']}/activate")
    listed = (await asgi_http.get("/api/sessions")).json()["sessions"]
    assert [s["active"] for s in listed] == [False, True]
    renamed = await asgi_http.patch(f"/api/sessions/{other['id']}", json={"name": "Nouveau"})
    assert renamed.json()["name"] == "Nouveau"
    assert (await asgi_http.delete(f"/api/sessions/{session['id']}")).status_code == 204
    assert (await asgi_http.get(f"/api/sessions/{session['id']}")).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/api/sessions/999", None, 404),
        ("GET", "/api/sessions/abc", None, 400),
        ("GET", "/api/sessions/-1", None, 400),
        ("DELETE", "/api/sessions/999", None, 404),
        ("POST", "/api/sessions/999/activate", None, 404),
        ("POST", "/api/sessions", b"{oops", 400),
        ("POST", "/api/sessions", b'{"name": 3}', 400),
        ("POST", "/api/sessions", b'{"activate": "oui"}', 400),
        ("POST", "/api/sessions", b'{"name": "' + b"x" * 70000 + b'"}', 413),
        ("PATCH", "/api/sessions/1", b'{"id": 4}', 400),
        ("PATCH", "/api/sessions/1", b'{"name": "   "}', 400),
        ("GET", "/api/sessions/1/metrics?limit=abc", None, 400),
        ("GET", "/api/export/csv?session=999", None, 404),
        ("GET", "/api/export/json?session=x", None, 400),
    ],
)
async def test_bad_rest_input_is_a_french_openai_shaped_error(
    asgi_http: httpx2.AsyncClient, method: str, path: str, body: bytes | None, status: int
) -> None:
    await asgi_http.post("/api/sessions", json={"name": "base"})
    headers = {"content-type": "application/json"}
    response = await asgi_http.request(method, path, content=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]


async def test_auto_session_keeps_going_across_model_changes(asgi_http: httpx2.AsyncClient) -> None:
    replies = [await _chat(asgi_http, model) for model in ("fake/echo", "other/echo", "fake/echo")]
    sessions = (await asgi_http.get("/api/sessions")).json()["sessions"]
    assert len(sessions) == 1 and sessions[0]["auto"] is True
    assert {r.headers["x-kimi-session"] for r in replies} == {str(sessions[0]["id"])}
    first = (await asgi_http.get(f"/api/sessions/{sessions[0]['id']}/metrics")).json()
    assert first["totals"]["requests"] == 3


async def test_auto_session_rolls_over_after_a_pause_but_a_chosen_one_stays(
    tmp_path: Path, upstream_url: str
) -> None:
    path = write_config(tmp_path, upstream_url, "\n[sessions]\ninactivity_minutes = 0\n")
    config = load_config(path, {"FAKE_UPSTREAM_KEY": "k"})
    async with in_process(create_app(config)) as hub, hub.http() as http:
        first = (await _chat(http)).headers["x-kimi-session"]
        second = (await _chat(http)).headers["x-kimi-session"]
        assert first != second  # every pause is longer than 0 minutes
        await http.post(f"/api/sessions/{first}/activate")  # a person picked it: it stays
        assert {(await _chat(http)).headers["x-kimi-session"] for _ in range(2)} == {first}
        chosen = (await http.post("/api/sessions", json={"name": "à moi"})).json()
        assert (await _chat(http)).headers["x-kimi-session"] == str(chosen["id"])
        sessions = (await http.get("/api/sessions")).json()["sessions"]
        assert [s["auto"] for s in sessions] == [False, True, False]


async def test_header_picks_session_explicitly(asgi_http: httpx2.AsyncClient) -> None:
    target = (
        await asgi_http.post("/api/sessions", json={"name": "cible", "activate": False})
    ).json()
    await _chat(asgi_http, "fake/echo", **{"X-Kimi-Session": str(target["id"])})
    metrics = (await asgi_http.get(f"/api/sessions/{target['id']}/metrics")).json()
    assert metrics["totals"]["requests"] == 1
    assert metrics["session"]["model_key"] == "fake/echo"


async def test_auto_session_can_be_switched_off(tmp_path: Path, upstream_url: str) -> None:
    path = write_config(tmp_path, upstream_url, "\n[sessions]\nauto_session = false\n")
    config = load_config(path, {"FAKE_UPSTREAM_KEY": "k"})
    async with in_process(create_app(config)) as hub, hub.http() as http:
        await _chat(http, "fake/echo")
        await _chat(http, "other/echo")
        assert len((await http.get("/api/sessions")).json()["sessions"]) == 1


async def test_gauge_alerts_and_metric_events_reach_the_websocket(
    hub_url: str, http: httpx2.AsyncClient
) -> None:
    ws_url = hub_url.replace("http://", "ws://") + "/ws"
    async with websockets.connect(ws_url) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        # model "small" has max_context 60; the fake upstream reports len/4 + 4 = 59 prompt tokens
        long = [{"role": "user", "content": "mot " * 55}]
        # savings off: with them on, a request over the window is refused before the upstream
        off = {"X-Kimi-Compaction": "off"}
        await http.post("/chat/completions", json={"model": "small", "messages": long}, headers=off)
        events = [json.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in range(3)]
    by_type = {e["type"]: e for e in events}
    assert by_type["session"]["action"] == "created"
    assert by_type["metric"]["request"]["id"] == 1
    alert = by_type["alert"]
    assert alert["level"] == 3 and "Contexte" in alert["message"]
    gauge = (await http.get("/api/stats")).json()["gauge"]
    assert gauge["max_context"] == 60 and gauge["ratio"] >= 0.95 and gauge["level"] == 3


async def test_metrics_pages_back_through_history(asgi_http: httpx2.AsyncClient) -> None:
    for _ in range(5):
        await _chat(asgi_http)
    session = (await asgi_http.get("/api/stats")).json()["active_session"]
    page = (await asgi_http.get(f"/api/sessions/{session['id']}/metrics?limit=2")).json()[
        "requests"
    ]
    older = await asgi_http.get(
        f"/api/sessions/{session['id']}/metrics?limit=10&before={page[-1]['id']}"
    )
    assert [r["id"] for r in page] == [5, 4]
    assert [r["id"] for r in older.json()["requests"]] == [3, 2, 1]


async def test_exports_contain_every_request(asgi_http: httpx2.AsyncClient) -> None:
    await _chat(asgi_http)
    await asgi_http.post("/chat/completions", json={"model": "fake/bad", "messages": HELLO})
    csv_response = await asgi_http.get("/api/export/csv")
    assert "attachment" in csv_response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(csv_response.text)))
    assert [r["status"] for r in rows] == ["ok", "error"]
    assert rows[0]["total_tokens"] == str(int(rows[0]["prompt_tokens"]) + 9)
    data = (await asgi_http.get("/api/export/json")).json()
    assert data["totals"]["requests"] == 2 and data["totals"]["errors"] == 1
    assert len(data["sessions"]) == 1 and len(data["requests"]) == 2  # one auto-session


async def test_csv_export_neutralises_formulas(asgi_http: httpx2.AsyncClient) -> None:
    await asgi_http.post("/api/sessions", json={"name": "x"})
    hostile = [{"role": "user", "content": "x"}]
    await asgi_http.post(
        "/chat/completions", json={"model": "fake/=HYPERLINK(1)", "messages": hostile}
    )
    text = (await asgi_http.get("/api/export/csv")).text
    assert "'=HYPERLINK(1)" in text


async def test_api_key_protects_everything_but_health(tmp_path: Path, upstream_url: str) -> None:
    path = write_config(tmp_path, upstream_url)
    path.write_text(path.read_text().replace("[server]\n", '[server]\napi_key = "${HUB_KEY}"\n', 1))
    config = load_config(path, {"FAKE_UPSTREAM_KEY": "k", "HUB_KEY": "hub-secret"})
    async with serve(create_app(config)) as url, httpx2.AsyncClient(base_url=url) as http:
        assert (await http.get("/health")).status_code == 200
        for path_ in ("/models", "/api/sessions", "/api/export/csv"):
            denied = await http.get(path_)
            assert denied.status_code == 401 and denied.json()["error"]["code"] == "invalid_api_key"
        wrong = await http.get("/models", headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = await http.get("/models", headers={"authorization": "Bearer hub-secret"})
        assert ok.status_code == 200
        ws_url = url.replace("http://", "ws://") + "/ws"
        async with websockets.connect(ws_url) as ws:  # the key is the first message
            await ws.send(json.dumps({"type": "auth", "token": "hub-secret"}))
            assert json.loads(await ws.recv())["type"] == "hello"
