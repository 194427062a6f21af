"""Cost of virtual keys on the chat path: admin key vs a virtual key, with and without limits.

    python scripts/bench.py keys [--requests N] [--rounds R]

One hub (``python -m hub serve``, ``[server].api_key`` set) in front of the raw upstream
(``bench.fast_http``). Three callers take turns, round by round: the admin key (no
lookup, no limits), a virtual key without limits (lookup and attribution), and one with
a budget, rpm and tpm so large they never refuse (each request is counted with tiktoken
and reserved, then settled). Non-streaming requests, concurrency 1 and 32.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import httpx2

from bench.proxy import (
    HOST,
    Samples,
    Target,
    _free_port,
    _machine,
    _pct,
    _phase,
    _spawn,
    _uvicorn,
    _wait_port,
    hub_serve,
)

ADMIN = "bench-admin-key"
HUGE = {"budget": 1e12, "rpm": 10**9, "tpm": 10**12}


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
    args = parser.parse_args(argv)
    print(_machine())
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
            results = {(t.label, c): Samples() for t in targets for c in (1, 32)}
            for conc in (1, 32):
                for _ in range(args.rounds):
                    for target in targets:
                        count = args.requests * (4 if conc > 1 else 1)
                        await _phase(target, False, conc, count, results[target.label, conc])
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
