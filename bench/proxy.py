"""Proxy overhead: latency and throughput straight to a fast upstream vs through the hub.

    python scripts/bench.py proxy [--requests N] [--rounds R] [--reps N]

Processes on loopback: a raw ASGI upstream (``bench.fast_http``, uvicorn), the hub
(``python -m hub serve``, savings on), a second hub with ``[savings]`` masking and
compaction off, and a bare Starlette + httpx2 relay (``bench.bare_relay``: the floor of
the hub's stack); the load generator (raw HTTP/1.1 keep-alive connections) runs here.
Direct and through-hub phases alternate round by round, each after a warm-up, so a
change in machine load hits both. Ends with the token counting benchmark
(``bench.counting``). On a 2-core machine the client, the upstream and the proxy share
the cores: the concurrency-32 numbers measure CPU sharing as much as the hub.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.counting import counting_report
from bench.fast_http import Connection, request_head

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
MESSAGES = [
    {"role": "system", "content": "Tu es un assistant de programmation concis."},
    {"role": "user", "content": "Explique en une phrase ce que fait un proxy inverse HTTP."},
]
BARE = "relais nu (Starlette + httpx2)"
WARMUP = 20  # requests per connection before each timed phase


@dataclass
class Target:
    label: str
    port: int
    path: str
    model: str
    token: str = ""  # Authorization: Bearer (bench.keys)


@dataclass
class Samples:
    ttfb: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)
    seconds: float = 0.0
    errors: int = 0

    @property
    def rate(self) -> float:
        return len(self.total) / self.seconds if self.seconds else 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _body(model: str, stream: bool) -> bytes:
    payload: dict[str, object] = {"model": model, "messages": MESSAGES, "stream": stream}
    if stream:
        payload["stream_options"] = {"include_usage": True}
    return json.dumps(payload, ensure_ascii=False).encode()


async def _wait_port(port: int) -> None:
    for _ in range(400):
        try:
            _, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise RuntimeError(f"rien n'écoute sur le port {port}")


async def _phase(target: Target, stream: bool, concurrency: int, count: int, into: Samples) -> None:
    body = _body(target.model, stream)
    head = request_head(HOST, target.port, target.path, body, target.token)
    conns = [await Connection.open(HOST, target.port) for _ in range(concurrency)]
    try:
        for conn in conns:
            for _ in range(WARMUP):
                await conn.post(head, body)
        remaining = iter(range(count))

        async def worker(conn: Connection) -> None:
            for _ in remaining:
                status, ttfb, total = await conn.post(head, body)
                if status != 200:
                    into.errors += 1
                into.ttfb.append(ttfb * 1000)
                into.total.append(total * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker(conn) for conn in conns))
        into.seconds += time.perf_counter() - started
    finally:
        for conn in conns:
            conn.close()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _rows(results: dict[tuple[str, bool, int], Samples], hubs: list[str]) -> list[str]:
    lines = [
        "| mesure | c | direct p50 | direct p99 | via | hub p50 | hub p99 | ajouté p50 "
        "| direct req/s | hub req/s | ratio |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    kinds = (("non-stream total", False, "total"), ("stream TTFB", True, "ttfb"),
             ("stream total", True, "total"))  # fmt: skip
    for label, stream, attr in kinds:
        for conc in (1, 32):
            direct = results["direct", stream, conc]
            d = getattr(direct, attr)
            for hub in hubs:
                h = getattr(results[hub, stream, conc], attr)
                rate = results[hub, stream, conc].rate
                lines.append(
                    f"| {label} | {conc} | {_pct(d, 0.5):.3f} | {_pct(d, 0.99):.3f} | {hub} "
                    f"| {_pct(h, 0.5):.3f} | {_pct(h, 0.99):.3f} "
                    f"| {_pct(h, 0.5) - _pct(d, 0.5):+.3f} | {direct.rate:.0f} | {rate:.0f} "
                    f"| {rate / direct.rate:.2f} |"
                )
    return lines


def _write_config(tmp: Path, name: str, upstream: int, savings: bool) -> Path:
    path = tmp / f"{name}.toml"
    extra = "" if savings else "\n[savings]\nmasking = false\ncompaction = false\n"
    path.write_text(
        f'[database]\npath = "{name}.db"\n[mcp]\nworkspace = "{tmp}"\n'
        f'[providers.fast]\nbase_url = "http://{HOST}:{upstream}/v1"\n'
        f'[models."fast/chat"]\nprovider = "fast"\nmodel = "fast"\nmax_context = 128000\n{extra}'
    )
    return path


def _spawn(args: list[str], **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**os.environ, **env})


def _machine() -> str:
    model = "?"
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    for line in lscpu.splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"machine : {model}, {os.cpu_count()} cœurs (amont, hub et client se les partagent), "
            f"Python {platform.python_version()}, charge moyenne {load}")  # fmt: skip


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench proxy")
    parser.add_argument("--requests", type=int, default=400, help="par phase, c=1 (×4 à c=32)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reps", type=int, default=200, help="répétitions du comptage")
    parser.add_argument("--no-savings-row", action="store_true")
    args = parser.parse_args(argv)
    print(_machine())
    up_port = _free_port()
    hubs = {"hub": True} if args.no_savings_row else {"hub": True, "hub sans économies": False}
    ports = {name: _free_port() for name in [*hubs, BARE]}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        upstream = ["-m", "uvicorn", "bench.fast_http:fast_upstream", "--host", HOST, "--port",
                    str(up_port), "--log-level", "warning", "--no-access-log"]  # fmt: skip
        procs = [_spawn(upstream)]
        relay = ["-m", "uvicorn", "--factory", "bench.bare_relay:create", "--host", HOST, "--port",
                 str(ports[BARE]), "--log-level", "warning", "--no-access-log"]  # fmt: skip
        procs.append(_spawn(relay, BENCH_UPSTREAM=f"http://{HOST}:{up_port}/v1"))
        for name, savings in hubs.items():
            config = _write_config(tmp, f"hub{len(procs)}", up_port, savings)
            procs.append(_spawn(["-m", "hub", "serve", "--config", str(config), "--port",
                                 str(ports[name]), "--log-level", "warning"]))  # fmt: skip
        try:
            for port in (up_port, *ports.values()):
                await _wait_port(port)
            targets = [Target("direct", up_port, "/v1/chat/completions", "fast")]
            targets += [Target(n, p, "/chat/completions", "fast/chat") for n, p in ports.items()]
            results = {(t.label, s, c): Samples() for t in targets for s in (False, True)
                       for c in (1, 32)}  # fmt: skip
            for stream in (False, True):
                for conc in (1, 32):
                    count = args.requests * (4 if conc > 1 else 1)
                    for _ in range(args.rounds):
                        for target in targets:
                            key = (target.label, stream, conc)
                            await _phase(target, stream, conc, count, results[key])
            errors = sum(s.errors for s in results.values())
            print(f"\n{args.rounds} tours × {args.requests} requêtes (×4 à c=32) par cible ; "
                  f"ms ; erreurs HTTP : {errors}\n")  # fmt: skip
            print("\n".join(_rows(results, [*hubs, BARE])))
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=10)
    print()
    print("\n".join(await counting_report(args.reps)))
