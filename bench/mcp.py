"""A tool call through /mcp (``tokens_count`` of a short text): p50/p99 at concurrency 1 and 16.

The hub runs in its own process (``python -m hub serve``) so the client does not share its
event loop. One ``mcp.Client`` per run; concurrent calls are multiplexed on it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import httpx2
from mcp import Client

from bench.proxy import hub_serve

ROOT = Path(__file__).resolve().parent.parent
HEADER = "mode                   conc. appels   p50 ms   p99 ms  appels/s"
TEXT = "Combien de tokens dans cette courte phrase ?"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _wait_ready(url: str) -> None:
    async with httpx2.AsyncClient() as http:
        for _ in range(200):
            try:
                if (await http.get(f"{url}/health")).status_code == 200:
                    return
            except httpx2.TransportError:
                await asyncio.sleep(0.05)
    raise RuntimeError("le hub ne répond pas")


async def _run(url: str, mode: str, concurrency: int, calls: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    async with Client(f"{url}/mcp", mode=mode) as client:
        for _ in range(5):  # warm-up
            await client.call_tool("tokens_count", {"text": TEXT})
        queue = iter(range(calls))

        async def worker() -> None:
            for _ in queue:
                start = time.perf_counter()
                result = await client.call_tool("tokens_count", {"text": TEXT})
                latencies.append((time.perf_counter() - start) * 1000)
                assert not result.is_error

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return latencies, calls / elapsed


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench mcp")
    parser.add_argument("--calls", type=int, default=400)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        config.write_text(f'[database]\npath = "hub.db"\n[mcp]\nworkspace = "{tmp}"\n')
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, *hub_serve(config, port)]
        hub = await asyncio.create_subprocess_exec(*cmd, cwd=ROOT, env=os.environ.copy())
        try:
            await _wait_ready(url)
            print(HEADER)
            for mode, label in (("legacy", "2025-11-25 (session)"), ("auto", "2026-07-28")):
                for concurrency in (1, 16):
                    lat, rate = await _run(url, mode, concurrency, args.calls)
                    print(
                        f"{label:<22} {concurrency:>5} {len(lat):>6} {_pct(lat, 0.5):>8.2f} "
                        f"{_pct(lat, 0.99):>8.2f} {rate:>9.0f}"
                    )
        finally:
            hub.terminate()
            await asyncio.wait_for(hub.wait(), timeout=10)
