"""MCP gateway figures: tools/list schema tokens per profile and discovery mode, a call
through the search meta-tool versus a direct call, the hub's stdio transport versus the
SDK's, and how fast a killed child is seen.

Upstreams: server-everything and server-filesystem (node_modules), plus the hub's own
tools. Schema tokens = cl100k_base tokens of the tools as an agent sends them to the
model (OpenAI ``tools`` entries: name, description, parameters), counted by
``TokenCounter.count_tools``. Run by ``python scripts/bench.py mcp_hub`` (after the
latency table) or alone: ``python scripts/bench.py mcp_gateway [--calls N] [--kills N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx2
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from hub.config import McpServerConfig
from hub.core.jsontypes import JSON
from hub.core.tokens import TokenCounter, load_encoding
from hub.features.mcp_hub import ServerState, SupervisorSettings, UpstreamHub
from hub.features.mcp_hub.child import ChildOutput, child_transport

ROOT = Path(__file__).resolve().parent.parent
MODULES = ROOT / "node_modules/@modelcontextprotocol"
EVERYTHING = MODULES / "server-everything/dist/index.js"
FILESYSTEM = MODULES / "server-filesystem/dist/index.js"
DYNAMIC = ROOT / "tests/support/mcp_dynamic_server.py"
PROFILES = {  # name -> (endpoint path, TOML of the profile; "" = the default /mcp)
    "default": ("/mcp", ""),
    "search": ("/profiles/search/mcp", 'discovery = "search"\n'),
    "search+pinned": (
        "/profiles/search-pinned/mcp",
        'discovery = "search"\npinned = ["files__read_text_file", "files__list_directory"]\n',
    ),
    "files-only": (
        "/profiles/files-only/mcp",
        'servers = ["files"]\ntools.allow = ["files__*"]\nprefix = "on_collision"\n',
    ),
}


def _config(tmp: str) -> str:
    text = (
        f'[database]\npath = "{tmp}/hub.db"\n\n[mcp]\nworkspace = "{tmp}"\n\n'
        f'[mcp.servers.everything]\ncommand = "node"\nargs = [{json.dumps(str(EVERYTHING))}, '
        f'"stdio"]\n\n[mcp.servers.files]\ncommand = "node"\n'
        f"args = [{json.dumps(str(FILESYSTEM))}, {json.dumps(tmp)}]\n"
    )
    for path, toml in PROFILES.values():
        if toml:
            text += f"\n[mcp.profiles.{path.split('/')[2]}]\n{toml}"
    return text


def _openai_tools(tools: list[dict[str, JSON]]) -> list[JSON]:
    return [
        {
            "type": "function",
            "function": {
                "name": t["name"],
                "description": t.get("description"),
                "parameters": t["inputSchema"],
            },
        }
        for t in tools
    ]


async def _latency(call: object, calls: int) -> list[float]:
    assert callable(call)
    for _ in range(10):
        await call()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def _hub_figures(calls: int) -> None:
    counter = TokenCounter(load_encoding())
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.toml"
        path.write_text(_config(tmp))
        command = [sys.executable, "-m", "hub", "serve", "--config", str(path)]
        hub = await anyio.open_process(
            [*command, "--port", str(port), "--log-level", "warning"],
            cwd=ROOT,
            stdout=None,
            stderr=None,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            await _wait_ready(base)
            print(
                f"{'profil':<16}{'mode':<8}{'outils listés':>14}{'outils joignables':>19}"
                f"{'tokens schémas':>16}{'ratio':>8}"
            )
            reference = 0
            for name, (endpoint, toml) in PROFILES.items():
                async with Client(base + endpoint, mode="legacy", cache=None) as client:
                    listed = [
                        t.model_dump(by_alias=True, exclude_none=True)
                        for t in (await client.list_tools()).tools
                    ]
                    reachable = len(listed)
                    if "search" in toml:
                        found = await client.call_tool("tool_search", {"query": "a", "limit": 1})
                        assert found.structured_content is not None
                        reachable = int(str(found.structured_content["total_tools"]))
                tokens = counter.count_tools(_openai_tools(listed))
                reference = reference or tokens
                mode = "search" if "search" in toml else "list"
                print(
                    f"{name:<16}{mode:<8}{len(listed):>14}{reachable:>19}{tokens:>16}"
                    f"{tokens / reference:>8.2f}"
                )
            echo = {"message": "bench"}
            meta_args = {"name": "everything__echo", "arguments": echo}
            search_args = {"query": "echo back the input", "limit": 5}
            series: dict[str, list[float]] = {
                "everything__echo direct (/mcp)": [],
                "tool_call → everything__echo": [],
                "tool_search (5 résultats)": [],
            }
            # The direct call goes to /mcp, where the tool is listed: the SDK client re-lists
            # tools before calling one it has not seen listed, which would penalise it here.
            async with (
                Client(base + "/mcp", mode="legacy", cache=None) as listed,
                Client(base + "/profiles/search/mcp", mode="legacy", cache=None) as client,
            ):
                await listed.list_tools()
                calls_made = (
                    lambda: listed.call_tool("everything__echo", echo),
                    lambda: client.call_tool("tool_call", meta_args),
                    lambda: client.call_tool("tool_search", search_args),
                )
                for _ in range(3):  # alternated: the machine's load drifts between series
                    for samples, call in zip(series.values(), calls_made, strict=True):
                        samples += await _latency(call, calls // 3)
            header = f"{'appel (c=1, 3 manches alternées)':<40}{'p50 ms':>9}{'p99 ms':>9}"
            print(f"\n{header}{'ratio p50':>11}")
            d50 = statistics.median(series["everything__echo direct (/mcp)"])
            for label, samples in series.items():
                p50, p99 = statistics.median(samples), sorted(samples)[int(0.99 * len(samples))]
                print(f"{label:<40}{p50:>9.3f}{p99:>9.3f}{p50 / d50:>11.2f}")
        finally:
            hub.terminate()
            await hub.wait()


async def _transport_figures(calls: int, rounds: int = 3) -> None:
    """The hub's own stdio transport (child.py) vs the SDK's stdio_client, alternated."""
    config = McpServerConfig(name="e", command="node", args=(str(EVERYTHING), "stdio"))
    sdk = StdioServerParameters(command="node", args=[str(EVERYTHING), "stdio"])
    echo = {"message": "bench"}
    print(f"\n{'transport stdio (echo, c=1)':<34}{'p50 ms par manche':>30}")
    found: dict[str, list[float]] = {"stdio_client du SDK": [], "child_transport du hub": []}
    for _ in range(rounds):
        transports = (stdio_client(sdk), child_transport(config, ChildOutput(), lambda _: None))
        for label, transport in zip(found, transports, strict=True):
            async with Client(transport, mode="legacy", cache=None) as client:
                samples = await _latency(lambda c=client: c.call_tool("echo", echo), calls)
            found[label].append(statistics.median(samples))
    for label, medians in found.items():
        print(f"{label:<34}{' / '.join(f'{m:.3f}' for m in medians):>30}")


async def _kill_figures(kills: int) -> None:
    """kill -9 of a stdio child -> state down, with pings an hour apart."""
    settings = SupervisorSettings(ping_interval=3600, backoff_initial=0.05, backoff_max=0.2)
    config = McpServerConfig(name="dyn", command=sys.executable, args=(str(DYNAMIC),))
    hub = UpstreamHub({"dyn": config}, settings)
    delays: list[float] = []
    async with hub.running():
        connection = hub.connections["dyn"]
        for _ in range(kills):
            assert await connection.wait_ready(30)
            pid = connection.output.pid
            assert pid is not None
            started = time.perf_counter()
            os.kill(pid, signal.SIGKILL)
            with anyio.fail_after(30):
                while connection.status.state != ServerState.DOWN:  # noqa: ASYNC110
                    await anyio.sleep(0.001)  # measuring: poll finely, no event to wait on
            delays.append((time.perf_counter() - started) * 1000)
    print(
        f"\nkill -9 d'un enfant stdio → « down » ({kills} fois, ping toutes les heures) : "
        f"médiane {statistics.median(delays):.0f} ms, max {max(delays):.0f} ms"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _wait_ready(base: str) -> None:
    async with httpx2.AsyncClient(base_url=base) as http:
        with anyio.fail_after(60):
            while True:
                try:
                    servers = (await http.get("/api/mcp/servers")).json()["servers"]
                    if all(s["state"] in ("ready", "degraded") for s in servers):
                        return
                except httpx2.TransportError:
                    pass
                await anyio.sleep(0.1)


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench mcp_gateway")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--kills", type=int, default=10)
    args = parser.parse_args(argv)
    if not (EVERYTHING.exists() and FILESYSTEM.exists()):
        raise SystemExit("node_modules absent : lancer scripts/test-setup.sh")
    await _hub_figures(args.calls)
    await _transport_figures(args.calls)
    await _kill_figures(args.kills)
