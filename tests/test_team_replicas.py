"""Two hub processes on one PostgreSQL and one Redis act as one hub (issue #12)."""

from __future__ import annotations

import asyncio
import json

import httpx2
import websockets

from tests.replicas import replicas

HELLO = [{"role": "user", "content": "Bonjour l'équipe"}]
REQUESTS = 200


async def _chat(http: httpx2.AsyncClient, base: str, **headers: str) -> dict:
    response = await http.post(
        f"{base}/chat/completions",
        json={"model": "fake/echo", "messages": HELLO},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_two_replicas_share_events_sessions_and_stats(
    tmp_path, upstream_url, postgres_url, redis_url
) -> None:
    async with (
        replicas(tmp_path, upstream_url, postgres_url, redis_url, ("A", "B")) as (a, b),
        httpx2.AsyncClient(timeout=30) as http,
        websockets.connect(a.url.replace("http://", "ws://") + "/ws") as ws,
    ):
        assert json.loads(await ws.recv())["type"] == "hello"
        # a session activated on A is the one B's next request lands in
        session = (await http.post(f"{a.url}/api/sessions", json={"name": "équipe"})).json()
        await _chat(http, b.url)
        on_a = (await http.get(f"{a.url}/api/sessions/{session['id']}/metrics")).json()
        assert len(on_a["requests"]) == 1 and on_a["session"]["model_key"] == "fake/echo"

        seen: dict[str, int] = {"A": 0, "B": 0}

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
