"""Real upstream MCP servers for the hub's tests, and process-tree helpers."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
from mcp import Client

from hub.config import McpServerConfig
from hub.features.mcp_hub import UpstreamHub
from tests.support.ports import free_port
from tests.support.reference_server import answering

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests" / "support"
NODE_MODULES = ROOT / "node_modules" / "@modelcontextprotocol"
EVERYTHING_JS = NODE_MODULES / "server-everything" / "dist" / "index.js"
FILESYSTEM_JS = NODE_MODULES / "server-filesystem" / "dist" / "index.js"
TIME_BIN = ROOT / ".cache" / "mcp-server-time-venv" / "bin" / "mcp-server-time"
TASKS_PYTHON = ROOT / ".cache" / "fastmcp-tasks-venv" / "bin" / "python"
PYTHON = sys.executable

needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not EVERYTHING_JS.exists(),
    reason="node ou node_modules absent (lancer scripts/test-setup.sh)",
)
needs_tasks_server = pytest.mark.skipif(
    not TASKS_PYTHON.exists(), reason="fastmcp-tasks absent (lancer scripts/test-setup.sh)"
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

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        steps.append(progress)

    await client.call_tool(tool, {"duration": 0.2, "steps": 2}, progress_callback=on_progress)
    return steps


def everything_stdio(name: str = "everything") -> McpServerConfig:
    return McpServerConfig(name=name, command="node", args=(str(EVERYTHING_JS), "stdio"))


def dynamic(name: str = "dyn", **kwargs: object) -> McpServerConfig:
    script = str(TESTS / "mcp_dynamic_server.py")
    return McpServerConfig(name=name, command=PYTHON, args=(script,), **kwargs)  # type: ignore[arg-type]


def silent(name: str = "silent") -> McpServerConfig:
    return McpServerConfig(name=name, command=PYTHON, args=(str(TESTS / "mcp_silent_server.py"),))


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


@asynccontextmanager
async def http_server(*command: str, **env: str) -> AsyncIterator[str]:
    """An MCP server process serving Streamable HTTP at ``/mcp`` on the port given in
    ``PORT``; its URL once it answers."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *command, env={**os.environ, **env, "PORT": str(port)},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        await answering(url)
        yield url
    finally:
        process.terminate()
        await process.wait()


def tasks_server(backend: str = "memory://") -> AbstractAsyncContextManager[str]:
    """The fastmcp-tasks server (2026-07-28 tasks extension) over HTTP; its URL.
    ``backend``: where its tasks live (a Redis URL: shared by every process on it)."""
    script = str(TESTS / "mcp_tasks_server.py")
    return http_server(str(TASKS_PYTHON), script, TASKS_URL=backend)
