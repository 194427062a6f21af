"""What relaying definitions whole costs a list answer (decision 0043), in process.

Upstreams: server-everything, server-filesystem and Sequential Thinking (node_modules),
each a real stdio child behind an ``UpstreamHub``. For ``tools/list`` on the default
profile (every tool, prefixed), per protocol version: the SDK's own shaping of the answer
(``serialize_server_result``, what its server runs on every result), then the hub's
``whole_list`` that lays the upstream definitions back over it, back to back in every
loop; p50 of each. ``python scripts/bench.py definitions [--loops N]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import mcp_types as types
from mcp_types import methods

from hub.config import McpProfileConfig, McpServerConfig
from hub.core.jsontypes import JSON
from hub.features.mcp_hub import UpstreamHub
from hub.features.mcp_hub.definitions import whole_list
from hub.features.mcp_hub.profiles import Profile

MODULES = Path(__file__).resolve().parent.parent / "node_modules/@modelcontextprotocol"
SERVERS = {
    "everything": ("server-everything/dist/index.js", "stdio"),
    "files": ("server-filesystem/dist/index.js", "/tmp"),
    "think": ("server-sequential-thinking/dist/index.js", None),
}


def _us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench definitions")
    parser.add_argument("--loops", type=int, default=2000)
    args = parser.parse_args(argv)
    configs = {
        name: McpServerConfig(
            name=name, command="node", args=(str(MODULES / js), *([arg] if arg else []))
        )
        for name, (js, arg) in SERVERS.items()
    }
    hub = UpstreamHub(configs)
    async with hub.running():
        for name in configs:
            await hub.connections[name].wait_ready(60)
        profile = Profile(McpProfileConfig(name="default"), hub, [])
        tools = sorted(profile.catalogue().tools(), key=lambda t: t.name)
        print(f"{len(tools)} outils (everything, files, think), {args.loops} boucles par série")
        print(
            f"{'version':<12}{'SDK : mise en forme µs':>24}{'hub : whole_list µs':>22}{'ratio':>8}"
        )
        for version in ("2025-11-25", "2026-07-28"):
            answer = types.ListToolsResult(tools=tools, ttl_ms=0, cache_scope="private")
            dumped = answer.model_dump(by_alias=True, mode="json", exclude_none=True)
            if version == "2025-11-25":
                dumped = {"tools": dumped["tools"]}
            else:
                dumped["resultType"] = "complete"
            sdk: list[float] = []
            ours: list[float] = []
            for _ in range(args.loops):
                start = time.perf_counter()
                shaped = methods.serialize_server_result("tools/list", version, dumped)
                middle = time.perf_counter()
                items: list[JSON] = shaped["tools"]
                whole_list(items, "tools", profile.definitions("tools"))
                sdk.append(middle - start)
                ours.append(time.perf_counter() - middle)
            ratio = _us(ours) / _us(sdk)
            print(f"{version:<12}{_us(sdk):>24.1f}{_us(ours):>22.1f}{ratio:>8.2f}")
