"""What the tool gate and the audit add to one MCP tool call, measured in process.

- ``decide``: the lookup and the key's patterns, for an allowed and a refused name;
- ``call``: decide, a runner that answers at once, the result scan, the audit row
  (queued; the writer runs beside, as in the hub);
- the instruction-injection scan of results of 1 KB to 16 MB (no phrase: the worst case,
  every window is read).
Usage: python scripts/bench.py tool_gate [--calls N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import mcp_types as types

from hub.config import McpProfileConfig
from hub.core.storage.audit import AuditStore
from hub.core.storage.keys import KeyLimits, KeyRecord
from hub.core.storage.store import Store
from hub.features.injection import injection_excerpt
from hub.features.mcp_hub import UpstreamHub
from hub.features.mcp_hub.profiles import Entry, Profile
from hub.services.access.caller import ADMIN, key_caller
from hub.services.access.tool_gate import Door, ToolGate
from hub.services.events import EventBus
from hub.services.recording.audit import AuditLog
from hub.services.telemetry import Telemetry

SCHEMA: dict[str, object] = {"type": "object", "properties": {}}


def _us(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1e6:.1f}"


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench tool_gate")
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args(argv)
    own = [types.Tool(name=f"tool_{i}", input_schema=SCHEMA) for i in range(20)]
    upstreams = UpstreamHub({})
    door = Door("/mcp", profile=Profile(McpProfileConfig("default"), upstreams, own))
    limits = KeyLimits(tools=("tool_1*", "other_*", "tool_5"))
    key = key_caller(KeyRecord("abcdef012345", "bench", "00", "00", 0.0, limits))
    result = types.CallToolResult(content=[types.TextContent(text="ok " * 100)])

    async def run(entry: Entry) -> types.CallToolResult:
        return result

    with tempfile.TemporaryDirectory() as tmp:
        async with await Store.open(Path(tmp) / "bench.db") as store:
            audit = AuditLog(AuditStore(store), EventBus())
            gate = ToolGate(upstreams, audit, EventBus(), Telemetry(None, "bench"))
            rows: list[tuple[str, str]] = []
            for label, caller, name in (
                ("decide, admin, allowed", ADMIN, "tool_3"),
                ("decide, key (3 patterns), allowed", key, "tool_12"),
                ("decide, key, refused", key, "tool_3"),
            ):
                samples = []
                for _ in range(args.calls):
                    started = time.perf_counter()
                    gate.decide(caller, door, name)
                    samples.append(time.perf_counter() - started)
                rows.append((label, _us(samples)))
            async with audit.running():
                samples = []
                for _ in range(args.calls):
                    started = time.perf_counter()
                    await gate.call(key, door, "tool_12", run)
                    samples.append(time.perf_counter() - started)
                    await asyncio.sleep(0)  # as between requests: the writer gets its turn
                rows.append(("call (decide + scan of 300 chars + audit row queued)", _us(samples)))
            for size in (1_000, 100_000, 1_000_000, 16_000_000):
                text = ("lorem ipsum dolor sit amet " * (size // 27 + 1))[:size]
                started = time.perf_counter()
                injection_excerpt(text)
                rows.append(
                    (
                        f"injection scan, {size:,} chars".replace(",", " "),
                        _us([time.perf_counter() - started]),
                    )
                )
    print("\n| step | µs (median) |\n| --- | ---: |")
    for label, value in rows:
        print(f"| {label} | {value} |")
