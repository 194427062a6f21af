"""The MCP Inspector CLI (npm @modelcontextprotocol/inspector, ``--cli``) against every
kind of endpoint, without ``--transport``: the path ending in /mcp is enough for it."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import httpx2
import pytest

from hub.api.app import create_app
from hub.config import load_config
from tests.support.hub_configs import write_config
from tests.support.hub_mcp import wait_ready
from tests.support.mcp_upstreams import AGENT_PROFILE_TOML, EVERYTHING_TOML, needs_node
from tests.support.node import node22
from tests.support.servers import serve

ROOT = Path(__file__).resolve().parents[2]
INSPECTOR = ROOT / "node_modules" / "@modelcontextprotocol" / "inspector"
LAUNCHER = INSPECTOR / "clients" / "launcher" / "build" / "index.js"
CONFIG = EVERYTHING_TOML + AGENT_PROFILE_TOML


async def inspector(node: str, cwd: Path, *args: str) -> dict[str, object]:
    process = await asyncio.create_subprocess_exec(
        node, str(LAUNCHER), "--cli", *args, cwd=cwd, env={**os.environ, "HOME": str(cwd)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode(errors="replace")[-3000:]
    answer = json.loads(out)
    assert isinstance(answer, dict)
    return answer


@needs_node
async def test_inspector_cli_on_every_endpoint(tmp_path: Path, upstream_url: str) -> None:
    node = node22()
    if not LAUNCHER.exists() or node is None:
        pytest.skip("MCP Inspector ou Node 22 absent : lancer scripts/test-setup.sh (npm ci)")
    path = write_config(tmp_path, upstream_url, CONFIG)
    async with serve(create_app(load_config(path, {"FAKE_UPSTREAM_KEY": "k"}))) as url:
        async with httpx2.AsyncClient(base_url=url) as http:
            await wait_ready(http, "everything")
        expected = {
            "/mcp": "everything__echo",
            "/servers/everything/mcp": "echo",
            "/profiles/agent/mcp": "everything__echo",
        }
        for endpoint, echo in expected.items():
            listed = await inspector(node, tmp_path, url + endpoint, "--method", "tools/list")
            tools = listed["tools"]
            assert isinstance(tools, list)
            assert echo in {t["name"] for t in tools}, endpoint
            called = await inspector(
                node, tmp_path, url + endpoint, "--method", "tools/call",
                "--tool-name", echo, "--tool-arg", "message=inspecteur",
            )  # fmt: skip
            assert "Echo: inspecteur" in json.dumps(called, ensure_ascii=False), endpoint
        found = await inspector(
            node, tmp_path, url + "/profiles/agent/mcp", "--method", "tools/call",
            "--tool-name", "tool_search", "--tool-arg", "query=sum two numbers",
        )  # fmt: skip
        assert "everything__get-sum" in json.dumps(found)


async def test_the_readme_stdio_command_works_as_written(tmp_path: Path, upstream_url: str) -> None:
    """README, "MCP Inspector": the Inspector starts ``kimi-proxy mcp`` itself; its own
    options go before ``--``, the hub's (``--config``) after."""
    node = node22()
    if not LAUNCHER.exists() or node is None:
        pytest.skip("MCP Inspector ou Node 22 absent : lancer scripts/test-setup.sh (npm ci)")
    config = write_config(tmp_path, upstream_url)
    listed = await inspector(
        node, tmp_path, "-e", "FAKE_UPSTREAM_KEY=k", "--connect-timeout", "120000",
        "--method", "tools/list",
        "--", str(ROOT / "scripts" / "kimi-proxy"), "mcp", "--config", str(config),
    )  # fmt: skip
    tools = listed["tools"]
    assert isinstance(tools, list) and "tokens_count" in {t["name"] for t in tools}
