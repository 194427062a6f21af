"""Budgets hold exactly: 50 concurrent SDK calls on one key, one process and two replicas.

The model ``metered`` costs 0.001 per completion token and nothing per prompt token; the
fake upstream answers 9 completion tokens, so every answer costs 0.009. ``max_output``
is 20: a request without ``max_tokens`` reserves 0.020, one with ``max_tokens = 15``
reserves 0.015. A budget of 0.04 is worth exactly 3 answers: after two answers (0.018) a
third still fits (0.018 + 0.020 ≤ 0.04), after three (0.027) no reservation does
(0.027 + 0.015 > 0.04).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import openai
import pytest
from openai import AsyncOpenAI, omit

from hub.api.app import create_app
from hub.config import load_config
from tests.support.chats import HELLO
from tests.support.fake_upstream import FakeUpstream
from tests.support.hub_configs import UPSTREAM_SECRET, with_admin_key, write_config
from tests.support.ports import free_port
from tests.support.replicas import Replica, team_config
from tests.support.servers import serve

ADMIN = "admin-budgets"
METERED = """
[models.metered]
provider = "fake"
model = "echo"
input_price = 0.0
output_price = 1000.0
max_output = 20
"""
ANSWER = 0.009
BUDGET = 0.04
# (stream, max_tokens): every shape a client sends, streamed and not, with and without
SHAPES = [(False, None), (True, 15), (True, None), (False, 15)]


def _admin_config(path: Path) -> Path:
    path.write_text(path.read_text() + METERED)
    return with_admin_key(path, ADMIN)


async def _ask(client: AsyncOpenAI, stream: bool, max_tokens: int | None) -> str:
    ceiling = omit if max_tokens is None else max_tokens  # omitted: not even a null
    if not stream:
        reply = await client.chat.completions.create(
            model="metered", messages=HELLO, max_tokens=ceiling
        )
        return reply.choices[0].message.content or ""
    chunks = await client.chat.completions.create(
        model="metered", messages=HELLO, stream=True, max_tokens=ceiling
    )
    return "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])


async def _key(url: str, budget: float) -> tuple[str, str]:
    headers = {"authorization": f"Bearer {ADMIN}"}
    async with httpx2.AsyncClient(base_url=url, headers=headers, timeout=30) as admin:
        created = await admin.post("/api/keys", json={"name": "budget", "budget": budget})
        assert created.status_code == 201, created.text
        return str(created.json()["secret"]), str(created.json()["id"])


async def _spent(url: str, key_id: str) -> list[float]:
    """The key's stored rows' costs (the ledger budgets are rebuilt from)."""
    headers = {"authorization": f"Bearer {ADMIN}"}
    async with httpx2.AsyncClient(base_url=url, headers=headers, timeout=30) as admin:
        exported = (await admin.get("/api/export/json", params={"key": key_id})).json()
    return [float(r["cost"]) for r in exported["requests"]]


async def _fifty(urls: list[str], secret: str) -> list[str | BaseException]:
    """50 concurrent calls, every shape, spread over ``urls``."""
    clients = [AsyncOpenAI(base_url=u, api_key=secret, max_retries=0) for u in urls]
    try:
        return await asyncio.gather(
            *(_ask(clients[i % len(clients)], *SHAPES[i % len(SHAPES)]) for i in range(50)),
            return_exceptions=True,
        )
    finally:
        for client in clients:
            await client.close()


def _check_fifty(results: list[str | BaseException], upstream: FakeUpstream) -> int:
    answered = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, openai.RateLimitError)]
    assert len(answered) + len(refused) == 50, [r for r in results if not isinstance(r, str)]
    assert 1 <= len(answered) <= 3, len(answered)
    assert len(upstream.received) == len(answered)  # a refused request never leaves the hub
    assert {r.code for r in refused} == {"budget_exceeded"}
    assert all(r.response.headers.get("x-should-retry") == "false" for r in refused)
    return len(answered)


async def _back_to_back(urls: list[str], secret: str) -> list[int]:
    statuses = []
    for i in range(6):
        url = urls[i % len(urls)]
        async with AsyncOpenAI(base_url=url, api_key=secret, max_retries=0) as client:
            try:
                assert await _ask(client, *SHAPES[i % len(SHAPES)])
                statuses.append(200)
            except openai.RateLimitError as exc:
                assert exc.code == "budget_exceeded"
                assert "il reste" in exc.message and "au plus" in exc.message
                statuses.append(429)
    return statuses


@pytest.fixture
async def hub(tmp_path: Path, upstream_url: str) -> AsyncIterator[str]:
    config = load_config(
        _admin_config(write_config(tmp_path, upstream_url)), {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET}
    )
    async with serve(create_app(config)) as url:
        yield url


async def test_fifty_concurrent_calls_never_pass_the_budget(
    hub: str, fake_upstream: FakeUpstream
) -> None:
    secret, key_id = await _key(hub, BUDGET)
    _check_fifty(await _fifty([hub], secret), fake_upstream)
    costs = await _spent(hub, key_id)
    assert len(costs) == len(fake_upstream.received) and sum(costs) <= BUDGET


async def test_six_back_to_back_calls_three_fit(
    hub: str, fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    secret, key_id = await _key(hub, BUDGET)
    assert await _back_to_back([hub], secret) == [200, 200, 200, 429, 429, 429]
    assert await _spent(hub, key_id) == [ANSWER] * 3  # rounded costs, one row per answer
    assert len(fake_upstream.received) == 3


async def test_spend_is_read_back_after_a_restart(tmp_path: Path, upstream_url: str) -> None:
    path = _admin_config(write_config(tmp_path, upstream_url))
    config = load_config(path, {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET})
    async with serve(create_app(config)) as url:
        secret, _ = await _key(url, BUDGET)
        assert await _back_to_back([url], secret) == [200, 200, 200, 429, 429, 429]
    async with serve(create_app(config)) as url:
        async with AsyncOpenAI(base_url=url, api_key=secret, max_retries=0) as client:
            with pytest.raises(openai.RateLimitError):  # 0.027 spent + 0.015 > 0.04
                await _ask(client, False, 15)


async def test_a_reservation_larger_than_the_budget_is_refused_at_once(
    hub: str, fake_upstream: FakeUpstream
) -> None:
    secret, _ = await _key(hub, 0.012)  # one answer fits, a 20-token reservation does not
    async with AsyncOpenAI(base_url=hub, api_key=secret, max_retries=0) as client:
        with pytest.raises(openai.RateLimitError) as refused:
            await _ask(client, False, None)
        assert "0.02" in refused.value.message and "20 tokens" in refused.value.message
        assert await _ask(client, False, 10)  # a smaller max_tokens fits
        assert await _ask(client, True, 1)  # reserves 0.001; the answer costs 0.009
    assert len(fake_upstream.received) == 2


@pytest.mark.parametrize(
    ("field", "value", "refused"),
    [
        ("max_tokens", 0, openai.BadRequestError),
        ("max_tokens", -5, openai.BadRequestError),
        ("max_tokens", True, openai.BadRequestError),
        ("max_tokens", 1.5, openai.BadRequestError),
        ("max_tokens", "20", openai.BadRequestError),
        ("max_completion_tokens", [20], openai.BadRequestError),
        ("max_tokens", None, openai.RateLimitError),  # null: the model's max_output
        ("max_tokens", 10**30, openai.BadRequestError),  # no provider takes 2**31 or more
        ("max_tokens", 2**31 - 1, openai.RateLimitError),  # at most max_output all the same
        ("n", 2, openai.RateLimitError),  # two answers of up to 15 tokens each
    ],
)
async def test_odd_ceilings_are_refused_or_reserve_the_most(
    hub: str, fake_upstream: FakeUpstream, field: str, value: object, refused: type
) -> None:
    secret, _ = await _key(hub, 0.019)  # below a 20-token reservation, above a 15-token one
    body = {"max_tokens": 15, field: value} if field == "n" else {field: value}
    async with AsyncOpenAI(base_url=hub, api_key=secret, max_retries=0) as client:
        with pytest.raises(refused):
            await client.chat.completions.create(model="metered", messages=HELLO, extra_body=body)
        assert await _ask(client, False, 15)  # the key itself is fine
    assert len(fake_upstream.received) == 1


async def _replicas(tmp_path: Path, upstream: str, db: str, redis: str) -> list[Replica]:
    started = []
    for name in ("A", "B"):
        config = _admin_config(team_config(tmp_path, upstream, db, redis, name))
        started.append(Replica(name, config, free_port()))
    await asyncio.gather(*(r.start() for r in started))
    return started


async def test_budget_holds_across_two_replicas(
    tmp_path: Path,
    upstream_url: str,
    postgres_url: str,
    redis_url: str,
    fake_upstream: FakeUpstream,
) -> None:
    replicas = await _replicas(tmp_path, upstream_url, postgres_url, redis_url)
    try:
        urls = [r.url for r in replicas]
        secret, key_id = await _key(urls[0], BUDGET)
        answered = _check_fifty(await _fifty(urls, secret), fake_upstream)
        costs = await _spent(urls[1], key_id)
        assert len(costs) == answered and sum(costs) <= BUDGET
        fake_upstream.received.clear()
        secret, key_id = await _key(urls[1], BUDGET)
        assert await _back_to_back(urls, secret) == [200, 200, 200, 429, 429, 429]
        assert await _spent(urls[0], key_id) == [ANSWER] * 3
    finally:
        await asyncio.gather(*(r.stop() for r in replicas))
