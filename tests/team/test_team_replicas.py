"""Two hub processes on one PostgreSQL and one Redis act as one hub (issue #12)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
import httpx2
import websockets

from tests.support.json_values import Json
from tests.support.replicas import Replica, replicas

HELLO: list[Json] = [{"role": "user", "content": "Bonjour l'équipe"}]
REQUESTS = 200


async def _chat(http: httpx2.AsyncClient, base: str, **headers: str) -> Json:
    response = await http.post(
        f"{base}/chat/completions",
        json={"model": "fake/echo", "messages": HELLO},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_two_replicas_share_events_sessions_and_stats(two_replicas: list[Replica]) -> None:
    a, b = two_replicas
    async with (
        httpx2.AsyncClient(timeout=30) as http,
        websockets.connect(a.url.replace("http://", "ws://") + "/ws") as ws,
    ):
        assert json.loads(await ws.recv())["type"] == "hello"
        # a session activated on A is the one B's next request lands in
        session = (await http.post(f"{a.url}/api/sessions", json={"name": "équipe"})).json()
        await _chat(http, b.url)
        while (event := json.loads(await asyncio.wait_for(ws.recv(), 30)))["type"] != "metric":
            pass  # the session events come first
        assert event["replica"] == "B" and event["request"]["session_id"] == session["id"]
        assert event["request"]["model_key"] == "fake/echo"
        assert (await http.get(f"{b.url}/api/sessions/{session['id']}")).json()["active"]

        seen: dict[str, int] = {"A": 0, "B": 1}

        async def watch() -> None:
            while seen["B"] < REQUESTS // 2 + 1 or seen["A"] < REQUESTS // 2:
                event = json.loads(await ws.recv())
                if event["type"] == "metric":
                    seen[event["replica"]] += 1

        watcher = asyncio.create_task(watch())
        limit = asyncio.Semaphore(8)

        async def one(i: int) -> None:
            async with limit:
                await _chat(http, (a, b)[i % 2].url)

        await asyncio.gather(*(one(i) for i in range(REQUESTS)))
        await asyncio.wait_for(watcher, 60)  # a bound, not a performance target
        # every metric event of B reached the dashboard on A, and B's first one too
        assert seen == {"A": REQUESTS // 2, "B": REQUESTS // 2 + 1}
        for replica in (a, b):
            stats = (await http.get(f"{replica.url}/api/stats")).json()
            assert stats["totals"]["requests"] == REQUESTS + 1
            health = (await http.get(f"{replica.url}/health")).json()
            assert health["replica"] == replica.name
            assert health["cluster"]["status"] == "opérationnel"


async def test_a_replica_killed_under_load_loses_no_answered_row(
    tmp_path: Path, upstream_url: str, postgres_url: str, redis_url: str
) -> None:
    # each request's prompt has its own length: the fake upstream's prompt_tokens
    # (len // 4 + 4) then names the request in its row; the replicas stop (and write what
    # they journaled) before the rows are read, so no fixture here
    answered: set[int] = set()
    async with (
        replicas(tmp_path, upstream_url, postgres_url, redis_url, ("A", "B")) as (a, b),
        httpx2.AsyncClient(timeout=30) as http,
    ):
        killed = asyncio.Event()
        limit = asyncio.Semaphore(8)

        async def one(i: int) -> None:
            replica = (a, b)[i % 2]
            body = {"model": "fake/echo", "messages": [{"role": "user", "content": "x" * 4 * i}]}
            async with limit:
                try:
                    response = await http.post(f"{replica.url}/chat/completions", json=body)
                except httpx2.TransportError:
                    assert replica is b and killed.is_set()
                    return
            if response.status_code == 200:
                answered.add(i + 4)
                if replica is b and len(answered) >= 60 and not killed.is_set():
                    b.kill()  # right after B answered: its row may not be written yet
                    killed.set()

        await asyncio.gather(*(one(i) for i in range(1, 161)))
        assert killed.is_set()
        assert b.process is not None
        await b.process.wait()
        await b.start()  # a restarted replica writes what it had journaled
    conn = await asyncpg.connect(postgres_url)
    try:
        rows = await conn.fetch("SELECT prompt_tokens FROM requests WHERE http_status = 200")
    finally:
        await conn.close()
    stored = {r["prompt_tokens"] for r in rows}
    assert answered - stored == set()
