"""Cost of virtual keys on the chat path: admin key vs a virtual key, with and without limits.

    python scripts/bench.py keys [--requests N] [--rounds R]

One hub (``python -m hub serve``, ``[server].api_key`` set) in front of the raw upstream
(``bench.fast_http``). Three callers take turns, round by round: the admin key (no
lookup, no limits), a virtual key without limits (lookup and attribution), and one with
a budget, rpm and tpm so large they never refuse (each request is counted with tiktoken
and reserved, then settled). Non-streaming requests, concurrency 1 and 32.

Then the admission alone, in this process (``--admissions N``): ``LimitService.admit``
and the settlement of its reservation, timed one request at a time, over memory
counters and over Redis counters (a ``redis-server`` started in a temporary folder, if
installed): the cost a key's limits add to each request, without the HTTP around it.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import httpx2
import redis.asyncio

from bench.proxy import (
    HOST,
    Target,
    _free_port,
    _machine,
    _pct,
    _spawn,
    _uvicorn,
    _wait_port,
    hub_serve,
    take_turns,
)
from hub.config import load_config
from hub.core.jsontypes import JSON, JSONObject
from hub.core.records import RequestRecord
from hub.core.storage.keys import KeyLimits, KeyRecord, KeyStore
from hub.core.storage.store import Store
from hub.core.tokens import TokenCounter, load_encoding
from hub.proxy.routing import ModelRouter, Route
from hub.services.access.budgets import LimitService
from hub.services.access.counters import Counters, MemoryCounters
from hub.services.access.keys import KeyService
from hub.services.access.redis_counters import RedisCounters
from hub.services.access.redis_leases import Leases
from tests.support.engines import running_redis

ADMIN = "bench-admin-key"
HUGE = {"budget": 1e12, "rpm": 10**9, "tpm": 10**12}
PROMPT: list[JSON] = [
    {"role": "user", "content": "Relis cette fonction et propose un test unitaire."}
]


def _config(tmp: Path, upstream: int) -> Path:
    path = tmp / "keys.toml"
    path.write_text(
        f'[server]\napi_key = "{ADMIN}"\n[database]\npath = "{tmp / "keys.db"}"\n'
        f'[mcp]\nworkspace = "{tmp}"\n'
        f'[providers.fast]\nbase_url = "http://{HOST}:{upstream}/v1"\n'
        f'[models."fast/chat"]\nprovider = "fast"\nmodel = "fast"\nmax_context = 128000\n'
        "input_price = 1.0\noutput_price = 2.0\n"
    )
    return path


async def _secret(port: int, limits: dict[str, float]) -> str:
    headers = {"authorization": f"Bearer {ADMIN}"}
    async with httpx2.AsyncClient(base_url=f"http://{HOST}:{port}", headers=headers) as http:
        created = await http.post("/api/keys", json={"name": "bench", **limits})
        secret = created.json()["secret"]
    assert isinstance(secret, str)
    return secret


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench keys")
    parser.add_argument("--requests", type=int, default=300, help="par phase, c=1 (×4 à c=32)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--admissions", type=int, default=2000, help="admission seule")
    parser.add_argument("--admission-only", action="store_true", help="sans le hub HTTP")
    args = parser.parse_args(argv)
    print(_machine())
    with tempfile.TemporaryDirectory() as tmp_name:
        admission = await _admissions(Path(tmp_name), args.admissions)
    if args.admission_only:
        print("\n".join(admission))
        return
    up_port, hub_port = _free_port(), _free_port()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        upstream = _uvicorn("bench.fast_http:fast_upstream", up_port)
        hub = hub_serve(_config(tmp, up_port), hub_port)
        procs = [_spawn(upstream), _spawn(hub)]
        try:
            for port in (up_port, hub_port):
                await _wait_port(port)
            callers = {
                "clé admin": ADMIN,
                "clé virtuelle": await _secret(hub_port, {}),
                "clé virtuelle + limites": await _secret(hub_port, HUGE),
            }
            targets = [
                Target(n, hub_port, "/chat/completions", "fast/chat", token)
                for n, token in callers.items()
            ]
            results = await take_turns(targets, args.requests, args.rounds)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=10)
    errors = sum(s.errors for s in results.values())
    print(
        f"\n{args.rounds} tours × {args.requests} requêtes (×4 à c=32), non-stream, ms ; "
        f"erreurs HTTP : {errors}\n"
    )
    print("| appelant | c | p50 | p99 | req/s | ratio req/s vs admin |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for conc in (1, 32):
        base = results["clé admin", conc].rate
        for name in callers:
            s = results[name, conc]
            print(
                f"| {name} | {conc} | {_pct(s.total, 0.5):.3f} | {_pct(s.total, 0.99):.3f} "
                f"| {s.rate:.0f} | {s.rate / base:.2f} |"
            )
    print("\n".join(admission))


def _row(model: str, key_id: str) -> RequestRecord:
    """The row that settles each reservation: 40 prompt and 60 completion tokens."""
    return RequestRecord(
        session_id=1,
        created_at=time.time(),
        model_key=model,
        provider="fast",
        upstream_model="fast",
        stream=False,
        prompt_tokens=40,
        completion_tokens=60,
        usage_source="upstream",
        prompt_estimate=40,
        ttfb_ms=1.0,
        total_ms=2.0,
        status="ok",
        http_status=200,
        error=None,
        cost=0.00016,
        key_id=key_id,
    )


async def _admit_and_settle(
    limits: LimitService, route: Route, key: KeyRecord, count: int, max_tokens: bool
) -> list[float]:
    """Seconds per request: admission, then settlement of its reservation (awaited)."""
    payload: JSONObject = {"model": "fast/chat", "messages": list(PROMPT)}
    if max_tokens:
        payload["max_tokens"] = 256
    row = _row("fast/chat", key.id)
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        limits.check_model(key, route, "fast/chat")
        admission = await limits.admit(key, route, payload)
        admission.settle(row.cost, row.prompt_tokens + row.completion_tokens)
        await admission.settled()
        samples.append(time.perf_counter() - started)
    return samples


async def _admissions(tmp: Path, count: int) -> list[str]:
    config = load_config(_config(tmp, 1))
    store = await Store.open(tmp / "admission.db")
    lines = [
        f"\nAdmission seule (admit + règlement), {count} requêtes une à une, µs :\n",
        "| compteurs | max_tokens | p50 | p90 |",
        "| --- | --- | ---: | ---: |",
    ]
    try:
        await store.migrate()
        key_store = KeyStore(store)
        keys = KeyService(key_store)
        key = (await keys.create("bench", KeyLimits(budget=1e12, rpm=10**9, tpm=10**12))).key
        route, counter = ModelRouter(config).resolve("fast/chat"), TokenCounter(load_encoding())
        kinds: list[tuple[str, Counters]] = [("mémoire", MemoryCounters(key_store))]
        redis_server = shutil.which("redis-server") and running_redis()
        with redis_server or contextlib.nullcontext() as server:
            client = None
            if server is not None:
                client = redis.asyncio.Redis.from_url(server.url)
                leases = Leases(client, key_store, "bench", "bench-token", "bench")
                kinds.append(("Redis", RedisCounters(client, key_store, leases)))
            ids = itertools.count(1)
            for name, counters in kinds:
                limits = LimitService(
                    counters, counter, config.limits, keys.live, lambda: f"bench-{next(ids)}"
                )
                for max_tokens in (True, False):
                    await _admit_and_settle(limits, route, key, 50, max_tokens)  # warm up
                    took = await _admit_and_settle(limits, route, key, count, max_tokens)
                    took.sort()
                    p50, p90 = statistics.median(took), took[int(len(took) * 0.9)]
                    shown = "oui" if max_tokens else "non"
                    lines.append(f"| {name} | {shown} | {p50 * 1e6:.0f} | {p90 * 1e6:.0f} |")
            if client is not None:
                await client.aclose()
        if len(kinds) == 1:
            lines.append("\n(redis-server absent : compteurs Redis non mesurés)")
    finally:
        await store.close()
    return lines
