"""Real upstream MCP servers for the hub's tests, and process-tree helpers."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from mcp import Client

from hub.config import McpServerConfig
from hub.features.mcp_hub import UpstreamHub

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests" / "support"
NODE_MODULES = ROOT / "node_modules" / "@modelcontextprotocol"
EVERYTHING_JS = NODE_MODULES / "server-everything" / "dist" / "index.js"
FILESYSTEM_JS = NODE_MODULES / "server-filesystem" / "dist" / "index.js"
TIME_BIN = ROOT / ".cache" / "mcp-server-time-venv" / "bin" / "mcp-server-time"
PYTHON = sys.executable

needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not EVERYTHING_JS.exists(),
    reason="node ou node_modules absent (lancer scripts/test-setup.sh)",
)
needs_time = pytest.mark.skipif(
    not TIME_BIN.exists(), reason="mcp-server-time absent (lancer scripts/test-setup.sh)"
)


# the same servers as TOML, for configs written to disk
EVERYTHING_TOML = f"""
[mcp.servers.everything]
command = "node"
args = [{json.dumps(str(EVERYTHING_JS))}, "stdio"]
"""
DYN_TOML = f"""
[mcp.servers.dyn]
command = {json.dumps(PYTHON)}
args = [{json.dumps(str(TESTS / "mcp_dynamic_server.py"))}]
"""
AGENT_PROFILE_TOML = """
[mcp.profiles.agent]
discovery = "search"
pinned = ["everything__echo"]
"""


async def progress_steps(client: Client, tool: str) -> list[float]:
    """The progress values the everything server's long operation (2 steps) reports."""
    steps: list[float] = []

    async def progress(value: float, total: float | None, message: str | None) -> None:
        steps.append(value)

    await client.call_tool(tool, {"duration": 0.2, "steps": 2}, progress_callback=progress)
    return steps


def everything_stdio(name: str = "everything") -> McpServerConfig:
    return McpServerConfig(name=name, command="node", args=(str(EVERYTHING_JS), "stdio"))


def dynamic(name: str = "dyn", **kwargs: object) -> McpServerConfig:
    script = str(TESTS / "mcp_dynamic_server.py")
    return McpServerConfig(name=name, command=PYTHON, args=(script,), **kwargs)  # type: ignore[arg-type]


def silent(name: str = "silent") -> McpServerConfig:
    return McpServerConfig(name=name, command=PYTHON, args=(str(TESTS / "mcp_silent_server.py"),))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_tree() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(pid: int | None = None) -> set[int]:
    tree = process_tree()
    found: set[int] = set()
    stack = [os.getpid() if pid is None else pid]
    while stack:
        for child in tree.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@asynccontextmanager
async def running_in_task(hub: UpstreamHub) -> AsyncIterator[UpstreamHub]:
    """Run ``hub.running()`` in a task of its own: pytest-asyncio sets a fixture up and
    tears it down in different tasks, and an anyio task group must exit where it entered."""
    stop = asyncio.Event()
    started = asyncio.Event()

    async def keep() -> None:
        async with hub.running():
            started.set()
            await stop.wait()

    task = asyncio.create_task(keep())
    await started.wait()
    try:
        yield hub
    finally:
        stop.set()
        await task


async def until(predicate: Callable[[], bool], limit: float = 20.0) -> None:
    """Poll ``predicate`` until true; fail after ``limit`` seconds (a hang guard, not a
    timing assertion)."""
    with anyio.fail_after(limit):
        while True:
            if predicate():
                return
            await anyio.sleep(0.02)
