"""The hub as the client of one conformance scenario (scripts/mcp-auth-conformance.sh).

The suite starts the scenario's server and runs this with its URL as last argument and
the scenario's credentials in ``MCP_CONFORMANCE_CONTEXT``. The hub's own upstream
machinery (``UpstreamHub``, ``auth = "oauth"``) connects, lists the tools and calls the
first one; the exit status says whether it got there.
"""

from __future__ import annotations

import json
import os
import sys

import anyio

from hub.config import McpOAuthConfig, McpServerConfig
from hub.features.mcp_hub import UpstreamHub
from hub.features.mcp_hub.connection import SupervisorSettings


def server_config(url: str, context: dict[str, object]) -> McpServerConfig:
    client_id, secret = context.get("client_id"), context.get("client_secret")
    issuer = context.get("issuer")
    oauth = None
    if isinstance(client_id, str) and isinstance(secret, str):
        oauth = McpOAuthConfig(client_id, secret, issuer if isinstance(issuer, str) else None)
    return McpServerConfig(name="target", url=url, oauth=oauth)


async def main(url: str) -> int:
    loaded = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    context: dict[str, object] = loaded if isinstance(loaded, dict) else {}
    settings = SupervisorSettings(init_timeout=15, backoff_max=1)
    hub = UpstreamHub({"target": server_config(url, context)}, settings)
    async with hub.running():
        await hub.wait_started(20)
        connection = hub.get("target")
        assert connection is not None
        status = connection.status.to_json()
        print(json.dumps(status, ensure_ascii=False))
        if not connection.tools:
            return 1
        result = await hub.call_on("target", connection.tools[0].name, {})
        print(result.model_dump_json())
        return 0


if __name__ == "__main__":
    sys.exit(anyio.run(main, sys.argv[-1]))
