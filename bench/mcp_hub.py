"""Added latency of an MCP tool call through the hub versus the same upstream directly.

Upstream: server-everything's ``echo`` (node_modules, see package.json). Paths:
- stdio direct      : mcp.Client -> node (stdio)
- stdio via registry: UpstreamHub.call_tool (what the hub's /mcp server calls) -> node (stdio)
- http direct       : mcp.Client -> node (Streamable HTTP)
- http via /servers/NAME/mcp: mcp.Client -> hub (Streamable HTTP) -> node (Streamable HTTP)
- /servers/NAME/mcp -> stdio: mcp.Client -> hub (Streamable HTTP) -> node (stdio), for reference
Then the gateway figures of bench/mcp_gateway.py (schema tokens per profile and mode,
search meta-tool vs direct call, kill -9 detection).
Usage: python scripts/bench.py mcp_hub [--calls N] [--gateway-only]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import httpx2
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from bench import mcp_gateway
from hub.config import McpServerConfig
from hub.features.mcp_hub import UpstreamHub

ROOT = Path(__file__).resolve().parent.parent
EVERYTHING = ROOT / "node_modules/@modelcontextprotocol/server-everything/dist/index.js"
Call = Callable[[], Awaitable[object]]


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _measure(call: Call, calls: int, concurrency: int) -> list[float]:
    for _ in range(20):  # warm-up
        await call()
    samples: list[float] = []

    async def worker(count: int) -> None:
        for _ in range(count):
            started = time.perf_counter()
            await call()
            samples.append((time.perf_counter() - started) * 1000)

    async with anyio.create_task_group() as group:
        for _ in range(concurrency):
            group.start_soon(worker, calls // concurrency)
    return samples


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _wait_http(url: str) -> None:
    with anyio.fail_after(30):
        while True:
            try:
                async with httpx2.AsyncClient() as http:
                    await http.get(url)
                return
            except httpx2.TransportError:
                await anyio.sleep(0.1)


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench mcp_hub")
    parser.add_argument("--calls", type=int, default=800)
    parser.add_argument("--gateway-only", action="store_true")
    args = parser.parse_args(argv)
    if args.gateway_only:
        await mcp_gateway.main([])
        return
    if not EVERYTHING.exists():
        raise SystemExit("node_modules absent : lancer scripts/test-setup.sh")
    results: dict[str, dict[int, list[float]]] = {}
    echo = {"message": "bench"}
    stdio = StdioServerParameters(command="node", args=[str(EVERYTHING), "stdio"])

    async def run(label: str, call: Call) -> None:
        results[label] = {c: await _measure(call, args.calls, c) for c in (1, 16)}

    async with Client(stdio, mode="legacy", cache=None) as direct:
        await run("stdio direct", lambda: direct.call_tool("echo", echo))
    config = McpServerConfig(name="everything", command="node", args=(str(EVERYTHING), "stdio"))
    hub = UpstreamHub({"everything": config})
    async with hub.running():
        await hub.connections["everything"].wait_ready(30)
        await run("stdio via registry", lambda: hub.call_tool("everything__echo", echo))

    upstream_port, hub_port = _port(), _port()
    node = await anyio.open_process(
        ["node", str(EVERYTHING), "streamableHttp"],
        env={**os.environ, "PORT": str(upstream_port)},
        stdout=None,
        stderr=None,
    )
    with tempfile.TemporaryDirectory() as tmp:
        hub_config = Path(tmp) / "config.toml"
        hub_config.write_text(
            f'[database]\npath = "{tmp}/hub.db"\n\n[mcp.servers.evhttp]\n'
            f'url = "http://127.0.0.1:{upstream_port}/mcp"\n\n[mcp.servers.everything]\n'
            f'command = "node"\nargs = [{json.dumps(str(EVERYTHING))}, "stdio"]\n'
        )
        command = [sys.executable, "-m", "hub", "serve", "--config", str(hub_config)]
        hub_process = await anyio.open_process(
            [*command, "--port", str(hub_port), "--log-level", "warning"], cwd=ROOT
        )
        try:
            await _wait_http(f"http://127.0.0.1:{upstream_port}/mcp")
            await _wait_http(f"http://127.0.0.1:{hub_port}/health")
            upstream_url = f"http://127.0.0.1:{upstream_port}/mcp"
            async with Client(upstream_url, mode="legacy", cache=None) as direct:
                await run("http direct", lambda: direct.call_tool("echo", echo))
            async with httpx2.AsyncClient() as http:
                with anyio.fail_after(30):
                    while True:
                        status = (
                            await http.get(f"http://127.0.0.1:{hub_port}/api/mcp/servers")
                        ).json()
                        if all(s["state"] == "ready" for s in status["servers"]):
                            break
                        await anyio.sleep(0.1)
            proxied = f"http://127.0.0.1:{hub_port}/servers/evhttp/mcp"
            async with Client(proxied, mode="legacy", cache=None) as via:
                await run("http via /servers/NAME/mcp", lambda: via.call_tool("echo", echo))
            proxied = f"http://127.0.0.1:{hub_port}/servers/everything/mcp"
            async with Client(proxied, mode="legacy", cache=None) as via:
                await run("/servers/NAME/mcp -> stdio", lambda: via.call_tool("echo", echo))
        finally:
            for process in (hub_process, node):
                process.terminate()
                await process.wait()
    _print(results)
    print()
    await mcp_gateway.main([])


def _print(results: dict[str, dict[int, list[float]]]) -> None:
    baseline = {"stdio via registry": "stdio direct", "http via /servers/NAME/mcp": "http direct"}
    print(
        f"{'chemin':<22}{'conc.':>6}{'p50 ms':>10}{'p99 ms':>10}{'ajout p50':>11}{'ajout p99':>11}"
    )
    rows = []
    for label, by_conc in results.items():
        for conc, samples in by_conc.items():
            p50, p99 = statistics.median(samples), _pct(samples, 0.99)
            added50 = added99 = ""
            if label in baseline:
                base = results[baseline[label]][conc]
                added50 = f"{p50 - statistics.median(base):+.3f}"
                added99 = f"{p99 - _pct(base, 0.99):+.3f}"
            print(f"{label:<22}{conc:>6}{p50:>10.3f}{p99:>10.3f}{added50:>11}{added99:>11}")
            rows.append({"path": label, "concurrency": conc, "p50_ms": p50, "p99_ms": p99})
    print(json.dumps(rows))
