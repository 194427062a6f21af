"""The hub signing in to an OAuth-protected upstream MCP server (client credentials): the
upstream is a second hub with ``[auth.oauth]``, its tokens from the test OpenID provider."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from mcp import Client

from hub.api.app import create_app
from hub.config import ConfigError, load_config
from tests.support.hub_configs import write_config
from tests.support.hub_mcp import wait_ready
from tests.support.mcp_results import data
from tests.support.oauth_hubs import oauth_hub
from tests.support.servers import serve

CLIENT = """
[mcp.servers.remote]
url = "{url}/mcp"
auth = "oauth"

[mcp.servers.remote.oauth]
client_id = "hub-client"
client_secret = "{secret}"
issuer = "{issuer}"
scope = "mcp"
"""
SECRET = "client-secret-456"


async def test_hub_signs_in_with_client_credentials(tmp_path: Path, upstream_url: str) -> None:
    (tmp_path / "remote").mkdir()
    async for remote in oauth_hub(tmp_path / "remote", upstream_url, refresh=0):
        extra = CLIENT.format(url=remote.url, secret=SECRET, issuer=remote.provider.issuer)
        config = load_config(write_config(tmp_path, upstream_url, extra), {})
        async with (
            serve(create_app(config)) as url,
            httpx2.AsyncClient(base_url=url) as http,
        ):
            status = (await wait_ready(http, "remote"))["remote"]
            assert status["auth"] == "connecté en tant que hub-client"
            async with Client(f"{url}/mcp") as client:
                listed = data(await client.call_tool("remote__sessions_list", {}))
            assert listed["sessions"] == []
            assert SECRET not in (await http.get("/api/mcp/servers")).text


def test_oauth_upstream_needs_client_credentials(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[mcp.servers.r]\nurl = "https://r.example/mcp"\nauth = "oauth"\n')
    with pytest.raises(ConfigError, match="client_credentials"):
        load_config(path, {})
    path.write_text('[mcp.servers.r]\ncommand = "x"\nauth = "oauth"\n')
    with pytest.raises(ConfigError, match="HTTP"):
        load_config(path, {})
