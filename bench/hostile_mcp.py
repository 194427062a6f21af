"""A hostile upstream MCP server against a running hub: does the hub stay responsive?

Starts ``kimi-proxy serve`` (from ``--root``: this tree by default, or another checkout
to compare with) with the hostile test server (tests/support/mcp_hostile_server.py of
this tree), then, through one ``mcp.Client`` on ``/mcp``:
- a tool result of ``--mb`` MB on one stdout line, while ``GET /health`` is polled;
- ``--stderr-mb`` MB on stderr without a newline, the same way;
- ``--progress`` progress notifications on one call: how many reach the client, and how
  long the call takes.
Prints one table: /health p50 / p99 / max while idle and during each fault, what the
call answered, and the server's restarts.
Usage: python scripts/bench.py hostile_mcp [--root PATH] [--mb 50] [--stderr-mb 150]
       [--progress 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx2
import mcp_types as types
from mcp.client import Client
from mcp.shared.exceptions import MCPError

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ROOT / "tests" / "support" / "mcp_hostile_server.py"
CALL_LIMIT = 90.0


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def _poll_health(http: httpx2.AsyncClient, done: anyio.Event, out: list[float]) -> None:
    while not done.is_set():
        started = time.perf_counter()
        await http.get("/health")
        out.append((time.perf_counter() - started) * 1000)
        await anyio.sleep(0.02)


def _outcome(result: types.CallToolResult | str) -> str:
    if isinstance(result, str):
        return result
    block = result.content[0] if result.content else None
    text = block.text if isinstance(block, types.TextContent) else ""
    if result.is_error:
        return f"isError : {text[:70]}"
    return f"{len(text):,} caractères".replace(",", " ")


async def _during(
    http: httpx2.AsyncClient, call: Callable[[], Awaitable[types.CallToolResult]]
) -> tuple[list[float], str, float]:
    """/health latencies while ``call`` runs, what it answered, how long it took."""
    latencies: list[float] = []
    done = anyio.Event()
    answer: list[types.CallToolResult | str] = []
    started = time.perf_counter()

    async def run() -> None:
        try:
            with anyio.fail_after(CALL_LIMIT):
                answer.append(await call())
        except (MCPError, TimeoutError, httpx2.HTTPError) as exc:  # a row, not a crash
            answer.append(f"{type(exc).__name__} : {str(exc)[:60]}")
        finally:
            done.set()

    async with anyio.create_task_group() as group:
        group.start_soon(run)
        group.start_soon(_poll_health, http, done, latencies)
    return latencies, _outcome(answer[0]), time.perf_counter() - started


async def _restarts(http: httpx2.AsyncClient) -> int:
    servers = (await http.get("/api/mcp/servers")).json()["servers"]
    return int(next(s for s in servers if s["name"] == "hostile")["restarts"])


async def _settled(http: httpx2.AsyncClient) -> int:
    """After a fault: a restart it caused has begun; then ready again. The restarts."""
    await anyio.sleep(1.5)
    await _wait_ready(http)
    return await _restarts(http)


async def _wait_ready(http: httpx2.AsyncClient) -> None:
    with anyio.fail_after(60):
        while True:
            try:
                servers = (await http.get("/api/mcp/servers")).json()["servers"]
                if any(s["name"] == "hostile" and s["state"] == "ready" for s in servers):
                    return
            except httpx2.TransportError:
                pass  # not listening yet
            await anyio.sleep(0.1)


def _row(label: str, samples: list[float], outcome: str, seconds: float, restarts: int) -> str:
    return (
        f"| {label} | {len(samples)} | {_pct(samples, 0.5):.1f} | {_pct(samples, 0.99):.1f} | "
        f"{max(samples, default=float('nan')):.1f} | {seconds:.2f} | {outcome} | {restarts} |"
    )


@asynccontextmanager
async def _hub(root: Path) -> AsyncIterator[httpx2.AsyncClient]:
    """A fresh hub process with the hostile server, ready."""
    port = _port()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        config.write_text(
            f'[database]\npath = "{tmp}/hub.db"\n\n[mcp.servers.hostile]\n'
            f"command = {json.dumps(sys.executable)}\nargs = [{json.dumps(str(HOSTILE))}]\n"
        )
        env = {**os.environ, "PYTHONPATH": str(root)}
        command = [sys.executable, "-m", "hub", "serve", "--config", str(config)]
        hub = await anyio.open_process(
            [*command, "--port", str(port), "--log-level", "error"], cwd=root, env=env
        )
        try:
            async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
                await _wait_ready(http)
                yield http
        finally:
            hub.terminate()
            await hub.wait()


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench hostile_mcp")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose hub runs")
    parser.add_argument("--mb", type=float, default=50.0)
    parser.add_argument("--stderr-mb", type=float, default=150.0)
    parser.add_argument("--progress", type=int, default=20_000)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args(argv)
    rows: list[str] = []
    async with _hub(args.root) as http:
        idle: list[float] = []
        with anyio.move_on_after(2):
            await _poll_health(http, anyio.Event(), idle)
        rows.append(_row("repos", idle, "—", 2.0, await _restarts(http)))
        calls = await _ordinary_calls(http, args.calls)
    faults = (
        (f"résultat de {args.mb:g} Mo", "hostile__big", {"mb": args.mb}),
        (f"{args.stderr_mb:g} Mo sur stderr", "hostile__stderr-flood", {"mb": args.stderr_mb}),
        (f"{args.progress} progressions", "hostile__flood", {"count": args.progress}),
    )
    for label, tool, arguments in faults:  # each on a fresh hub: no fault leaks into the next
        async with _hub(args.root) as http:
            rows.append(await _fault(http, label, tool, arguments))
    print(f"\nhub : {args.root}\n")
    print("| situation | /health | p50 ms | p99 ms | max ms | durée s | réponse | redémarrages |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    print("\n".join(rows))
    print(f"\nappel ordinaire ({args.calls} × hostile__echo sur /mcp) : {calls}")


async def _ordinary_calls(http: httpx2.AsyncClient, count: int) -> str:
    """p50 / p99 of a well-behaved tool call through /mcp (what the gate and the audit
    add to every call)."""
    samples: list[float] = []
    async with Client(str(http.base_url.join("/mcp")), mode="legacy", cache=None) as client:
        for index in range(count + 20):
            started = time.perf_counter()
            await client.call_tool("hostile__echo", {"text": "ordinaire"})
            if index >= 20:  # after a warm-up
                samples.append((time.perf_counter() - started) * 1000)
    return f"p50 {_pct(samples, 0.5):.2f} ms, p99 {_pct(samples, 0.99):.2f} ms"


async def _fault(
    http: httpx2.AsyncClient, label: str, tool: str, arguments: dict[str, object]
) -> str:
    relayed: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        relayed.append(progress)

    url = str(http.base_url.join("/mcp"))
    async with Client(url, mode="legacy", cache=None) as client:
        latencies, outcome, seconds = await _during(
            http, lambda: client.call_tool(tool, arguments, progress_callback=on_progress)
        )
    if relayed or tool == "hostile__flood":
        outcome = f"{outcome} ; {len(relayed)} relayées ({len(relayed) / seconds:.0f}/s)"
    return _row(label, latencies, outcome, seconds, await _settled(http))
