"""The hub's MCP side as a client sees it: the tools /mcp offers, upstream states over REST."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import httpx2
from mcp.client.stdio import StdioServerParameters

from hub.config import HubConfig
from tests.support.hub_configs import UPSTREAM_SECRET
from tests.support.json_values import JsonObject

ROOT = Path(__file__).resolve().parents[2]

EXPECTED_TOOLS = {
    "sessions_list", "session_get", "session_create", "session_activate", "session_rename",
    "session_delete", "tokens_count", "context_status", "session_stats", "global_stats",
    "compaction_preview", "compaction_apply", "compress_messages", "mask_get", "fs_read",
    "fs_write",
    "fs_list", "fs_tree", "fs_search",
}  # fmt: skip
"""The hub's own tools on /mcp (with a workspace: the fs_* ones)."""


async def servers(http: httpx2.AsyncClient) -> dict[str, JsonObject]:
    """``GET /api/mcp/servers``, by name; checks every server names the answering replica."""
    response = await http.get("/api/mcp/servers")
    assert response.status_code == 200
    body = response.json()  # each replica supervises its own children, and says which it is
    assert body["replica"] and all(s["replica"] == body["replica"] for s in body["servers"])
    return {s["name"]: s for s in body["servers"]}


async def wait_ready(http: httpx2.AsyncClient, *names: str) -> dict[str, JsonObject]:
    """Poll until every upstream in ``names`` is ready (or degraded); fail after 30 s."""
    latest: dict[str, JsonObject] = {}

    async def poll() -> None:
        latest.update(await servers(http))

    def ready() -> bool:
        return all(latest.get(n, {}).get("state") in ("ready", "degraded") for n in names)

    with anyio.fail_after(30):
        while True:
            await poll()
            if ready():
                return latest
            await anyio.sleep(0.05)


def stdio_params(config: HubConfig) -> StdioServerParameters:
    """``kimi-proxy mcp`` on ``config``, as an MCP client starts it."""
    env = {**os.environ, "FAKE_UPSTREAM_KEY": UPSTREAM_SECRET}
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "hub", "mcp", "--config", str(config.source)],
        cwd=str(ROOT),
        env=env,
    )
