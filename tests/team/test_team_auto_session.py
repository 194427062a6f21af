"""Two replicas receiving a conversation's first requests at the same instant open one
auto-session (issue #26): ``Store.open_auto_session`` under an advisory lock."""

from __future__ import annotations

import asyncio

import httpx2

from tests.support.replicas import Replica

HELLO = {"model": "fake/echo", "messages": [{"role": "user", "content": "Bonjour"}]}
FIRST_REQUESTS = 8  # on each replica, all at once


async def test_concurrent_first_requests_on_two_replicas_open_one_session(
    two_replicas: list[Replica],
) -> None:
    a, b = two_replicas
    async with httpx2.AsyncClient(timeout=30) as http:
        assert (await http.get(f"{a.url}/api/sessions")).json()["sessions"] == []
        responses = await asyncio.gather(
            *(
                http.post(f"{replica.url}/chat/completions", json=HELLO)
                for _ in range(FIRST_REQUESTS)
                for replica in (a, b)
            )
        )
        assert all(r.status_code == 200 for r in responses)
        used = {r.headers["x-kimi-session"] for r in responses}
        sessions = (await http.get(f"{a.url}/api/sessions")).json()["sessions"]
    assert len(sessions) == 1, sessions
    assert used == {str(sessions[0]["id"])}
    assert sessions[0]["auto"] and sessions[0]["active"]
