"""Team mode: what making a row durable before the answer costs each request.

    python scripts/bench.py durable_rows [--requests N] [--concurrency C]

On a throwaway PostgreSQL and Redis (Debian's packages, loopback, as the team tests
start them): the wait a request adds before its last byte with ``DurableRows`` (a
provisional row, group commit), one request at a time and C at once; and, for the
option rejected in docs/decisions/0033, one ``XADD`` of the same row to a Redis stream
(no persistence: a lower bound, ``appendfsync always`` would add an fsync).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

import redis.asyncio

from bench.proxy import _machine, _pct
from hub.core.jsoncodec import dumps
from hub.core.jsontypes import JSONObject
from hub.core.storage.store import Store
from hub.services.recording.durable import DurableRows
from tests.support.engines import running_postgres, running_redis


def _facts(session_id: int, n: int) -> tuple[JSONObject, JSONObject]:
    start: JSONObject = {
        "session_id": session_id, "created_at": time.time(), "model_key": "fast/chat",
        "provider": "fast", "upstream_model": "fast", "stream": False, "tokens_saved": 0,
        "request_id": f"bench-{n}", "key_id": None,
    }  # fmt: skip
    answer: JSONObject = {
        "status": "ok", "http_status": 200, "error": None, "ttfb_ms": 1.0, "total_ms": 2.0,
        "attempts": 1, "prompt_tokens": 12, "completion_tokens": 3, "cached_tokens": 0,
        "usage_source": "upstream", "cost": 0.0001,
    }  # fmt: skip
    return start, answer


async def _timed(
    requests: int, concurrency: int, one: Callable[[int], Awaitable[None]]
) -> list[float]:
    waits: list[float] = []
    numbers = iter(range(requests))

    async def worker() -> None:
        for n in numbers:
            began = time.perf_counter()
            await one(n)
            waits.append((time.perf_counter() - began) * 1000)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return waits


def _line(what: str, concurrency: int, waits: list[float], seconds: float) -> str:
    return (
        f"| {what} | {concurrency} | {_pct(waits, 0.5):.2f} | {_pct(waits, 0.99):.2f} "
        f"| {len(waits) / seconds:,.0f} |"
    )


async def _run(args: argparse.Namespace) -> list[str]:
    lines: list[str] = []
    with running_postgres() as pg, running_redis() as redis_server:
        async with await Store.open(pg.admin_url) as store:
            session = await store.create_session("bench", active=True)
            durable = DurableRows(store)
            client = redis.asyncio.Redis.from_url(redis_server.url)
            offset = 0
            try:
                for concurrency in (1, args.concurrency):

                    async def provisional(n: int, base: int = offset) -> None:
                        start, answer = _facts(session.id, base + n)
                        await durable.wait(durable.start(start, answer))

                    async def stream(n: int, base: int = offset) -> None:
                        start, answer = _facts(session.id, base + n)
                        await client.xadd("bench-rows", {"row": dumps({**start, **answer})})

                    for what, one in (("PostgreSQL provisional row", provisional),
                                      ("Redis XADD (rejected)", stream)):  # fmt: skip
                        began = time.perf_counter()
                        waits = await _timed(args.requests, concurrency, one)
                        lines.append(_line(what, concurrency, waits, time.perf_counter() - began))
                    offset += args.requests
            finally:
                await client.aclose()
    return lines


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench durable_rows")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    print(f"Machine : {_machine()}")
    print("| what | concurrent requests | wait p50 (ms) | wait p99 (ms) | rows/s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for line in await _run(args):
        print(line)
