"""The hub as the client of one conformance scenario (scripts/mcp-auth-conformance.sh).

The suite starts the scenario's server and runs this with its URL as last argument and
the scenario's credentials in ``MCP_CONFORMANCE_CONTEXT``. The hub's own upstream
machinery (``UpstreamHub``, ``auth = "oauth"``) connects, lists the tools and calls the
first one; the exit status says whether it got there. When the hub asks a person to sign
in, this script is the browser: it opens the authorization URL (the suite's server
approves at once) and hands the redirect's parameters to the hub, as its
``/oauth/callback`` would.
"""

from __future__ import annotations

import json
import os
import sys
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx2

from hub.config import McpOAuthConfig, McpServerConfig
from hub.features.mcp_hub import UpstreamHub
from hub.features.mcp_hub.connection import SupervisorSettings, UpstreamConnection

CALLBACK = "http://127.0.0.1:3999/oauth/callback"  # never reached: the script reads the redirect
CIMD = "https://conformance-test.local/client-metadata.json"


def server_config(url: str, context: dict[str, object]) -> McpServerConfig:
    client_id, secret = context.get("client_id"), context.get("client_secret")
    issuer = context.get("issuer")
    if isinstance(client_id, str) and isinstance(secret, str):
        oauth = McpOAuthConfig(
            client_id,
            secret,
            issuer if isinstance(issuer, str) else None,
            grant="client_credentials",
            redirect_uri=CALLBACK,
        )
    else:
        oauth = McpOAuthConfig(redirect_uri=CALLBACK, client_metadata_url=CIMD)
    return McpServerConfig(name="target", url=url, oauth=oauth)


async def browse(hub: UpstreamHub, connection: UpstreamConnection) -> None:
    """The person: open each authorization URL the hub publishes, return its answer."""
    answered: str | None = None
    async with httpx2.AsyncClient(follow_redirects=False, timeout=10) as http:
        while True:
            await anyio.sleep(0.05)
            url = connection.sign_in.url
            if url is None or url == answered:
                continue
            answered = url
            response = await http.get(url)
            location = response.headers.get("location", "")
            answer = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
            print(f"autorisation : HTTP {response.status_code}, retour {sorted(answer)}")
            state = answer.get("state") or (parse_qs(urlsplit(url).query).get("state") or [""])[0]
            error = answer.get("error") or (None if answer.get("code") else "pas de code")
            hub.answer_sign_in(state, answer.get("code"), answer.get("iss"), error)


async def main(url: str) -> int:
    loaded = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    context: dict[str, object] = loaded if isinstance(loaded, dict) else {}
    settings = SupervisorSettings(init_timeout=15, backoff_max=1)
    hub = UpstreamHub({"target": server_config(url, context)}, settings)
    async with hub.running(), anyio.create_task_group() as group:
        connection = hub.get("target")
        assert connection is not None
        group.start_soon(browse, hub, connection)  # also for a step-up during the call
        try:
            return await _list_and_call(hub, connection)
        finally:
            group.cancel_scope.cancel()


async def _list_and_call(hub: UpstreamHub, connection: UpstreamConnection) -> int:
    await hub.wait_started(20)
    print(json.dumps(connection.status.to_json(), ensure_ascii=False))
    if not connection.tools:
        return 1
    result = await hub.call_on("target", connection.tools[0].name, {})
    print(result.model_dump_json())
    return 0


if __name__ == "__main__":
    sys.exit(anyio.run(main, sys.argv[-1]))
