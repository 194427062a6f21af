"""Hubs protected by ``[auth.oauth]`` against the test OpenID provider, on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette

from hub.api.app import create_app
from hub.api.state import HubState
from hub.config import load_config
from tests.support.hub_configs import UPSTREAM_SECRET, keyed_config
from tests.support.oauth_provider import Provider, oauth_provider
from tests.support.ports import free_port
from tests.support.servers import serve

OAUTH = """
[auth.oauth]
issuer = "{issuer}"
audience = "{audience}"
required_scopes = ["mcp"]
scopes_supported = ["mcp", "mcp:search"]
jwks_refresh = {refresh}
rpm = 2

[auth.oauth.scopes.mcp]
profiles = ["default"]

[auth.oauth.scopes."mcp:search"]
profiles = ["search"]

[mcp.profiles.search]
discovery = "search"
"""


TOOL_SCOPES = """
[auth.oauth]
issuer = "{issuer}"
audience = "{audience}"
jwks_refresh = {refresh}

[auth.oauth.scopes."mcp:read"]
profiles = ["default"]
tools = ["sessions_list"]

[auth.oauth.scopes."mcp:write"]
profiles = ["default"]
tools = ["session_*"]
"""
"""Scopes that open tools, not whole endpoints: for the per-tool step-up."""


@dataclass
class Hub:
    url: str
    audience: str
    provider: Provider
    app: Starlette

    @property
    def state(self) -> HubState:
        state = self.app.state.hub
        assert isinstance(state, HubState)
        return state

    async def token(self, **claims: object) -> str:
        base: dict[str, object] = {"aud": self.audience, "sub": "alice", "scope": "mcp"}
        return await self.provider.token({**base, **claims})


async def oauth_hub(
    tmp_path: Path,
    upstream_url: str,
    refresh: int,
    resource: str = "/mcp",
    extra: str = "",
    template: str = OAUTH,
) -> AsyncIterator[Hub]:
    async with oauth_provider() as provider:
        port = free_port()
        audience = f"http://127.0.0.1:{port}{resource}"
        oauth = template.format(issuer=provider.issuer, audience=audience, refresh=refresh)
        path = keyed_config(tmp_path, upstream_url, oauth + extra)
        app = create_app(load_config(path, {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET}))
        async with serve(app, port=port) as url:
            yield Hub(url, audience, provider, app)
