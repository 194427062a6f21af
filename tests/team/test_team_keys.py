"""Virtual key limits held across two replicas (processes) sharing PostgreSQL and Redis."""

from __future__ import annotations

import httpx2
import openai
import pytest
from openai import AsyncOpenAI

from tests.support.chats import HELLO
from tests.support.replicas import Replica


async def test_rpm_and_budget_hold_across_replicas(two_replicas: list[Replica]) -> None:
    a, b = two_replicas
    async with httpx2.AsyncClient(timeout=30) as http:
        slow = (await http.post(f"{a.url}/api/keys", json={"name": "lente", "rpm": 5})).json()
        sent = 0
        for url in (a.url, b.url, a.url, b.url, a.url):
            async with AsyncOpenAI(base_url=url, api_key=slow["secret"], max_retries=0) as c:
                await c.chat.completions.create(model="fake/echo", messages=HELLO)
                sent += 1
        for url in (a.url, b.url):  # the 6th is refused by either replica
            async with AsyncOpenAI(base_url=url, api_key=slow["secret"], max_retries=0) as c:
                with pytest.raises(openai.RateLimitError) as refused:
                    await c.chat.completions.create(model="fake/echo", messages=HELLO)
                assert refused.value.code == "rate_limit_exceeded"
                assert 1 <= int(refused.value.response.headers["retry-after"]) <= 60
        assert sent == 5
