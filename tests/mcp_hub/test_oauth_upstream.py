"""The hub signing in to an OAuth-protected upstream MCP server: the upstream is a second
hub with ``[auth.oauth]``, its tokens from the test OpenID provider (oauth2-mock-server).
Client credentials; and the authorization code with PKCE, started from the dashboard in a
real Chromium (« Connecter » → the provider → the hub's ``/oauth/callback``)."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.shared.auth import OAuthToken
from playwright.async_api import Browser

from hub.api.app import create_app
from hub.config import ConfigError, McpOAuthConfig, McpServerConfig, load_config, with_bind
from hub.core.storage.store import Store
from hub.features.mcp_hub.oauth_client import MemoryTokens, SignIn, oauth_provider
from tests.support.dashboard_browser import open_dashboard
from tests.support.hub_configs import write_config
from tests.support.hub_mcp import wait_ready
from tests.support.mcp_results import data
from tests.support.oauth_hubs import oauth_hub
from tests.support.ports import free_port
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


BROWSER = """
[mcp.servers.remote]
url = "{url}/mcp"
auth = "oauth"
"""


async def test_a_person_signs_the_hub_in_from_the_dashboard(
    tmp_path: Path, upstream_url: str, browser: Browser
) -> None:
    (tmp_path / "remote").mkdir()
    async for remote in oauth_hub(tmp_path / "remote", upstream_url, refresh=0):
        path = write_config(tmp_path, upstream_url, BROWSER.format(url=remote.url))
        port = free_port()  # the callback URL is the hub's own: as `serve --port` binds it
        config = with_bind(load_config(path), None, port)
        async with (
            serve(create_app(config), port=port) as url,
            httpx2.AsyncClient(base_url=url) as http,
        ):
            pending = await _until_sign_in_asked(http)
            assert pending["auth"] == "connexion requise" and pending["state"] != "ready"
            asked = parse_qs(urlsplit(str(pending["authorization_url"])).query)
            assert asked["code_challenge_method"] == ["S256"] and asked["code_challenge"]
            assert asked["redirect_uri"] == [f"{url}/oauth/callback"]
            assert asked["resource"] == [remote.audience]  # RFC 8707
            async with Client(f"{url}/mcp") as client:  # before the person signs in
                early = await client.call_tool("remote__sessions_list", {})
            first = early.content[0]
            assert early.is_error and isinstance(first, types.TextContent)
            assert "connexion requise" in first.text and "Connecter" in first.text
            # a restart takes the link down and publishes a new one (a new state)
            assert (await http.post("/api/mcp/servers/remote/restart")).status_code == 202
            for _ in range(200):
                fresh = await _until_sign_in_asked(http)
                if fresh["authorization_url"] != pending["authorization_url"]:
                    break
                await anyio.sleep(0.05)
            stale = asked["state"][0]
            asked = parse_qs(urlsplit(str(fresh["authorization_url"])).query)
            assert asked["state"][0] != stale
            replayed = await http.get("/oauth/callback", params={"state": stale, "code": "x"})
            assert replayed.status_code == 400  # nothing waits on the old link any more
            page, errors = await open_dashboard(browser, url)
            connect = page.locator('[data-connect="remote"]')
            async with page.context.expect_page() as opened:
                await connect.click()
            signed = await opened.value
            await signed.wait_for_load_state()
            assert "Connexion à « remote » reçue" in await signed.content()
            status = (await wait_ready(http, "remote"))["remote"]
            assert str(status["auth"]).startswith("connecté en tant que ")
            assert status["authorization_url"] is None
            async with Client(f"{url}/mcp") as client:
                listed = data(await client.call_tool("remote__sessions_list", {}))
            assert listed["sessions"] == []
            # the link was single use: the same answer again is refused, in French
            replay = await http.get(
                f"{url}/oauth/callback", params={"state": asked["state"][0], "code": "x"}
            )
            assert replay.status_code == 400 and "Connexion inconnue" in replay.text
            assert errors == []


async def _until_sign_in_asked(http: httpx2.AsyncClient) -> dict[str, object]:
    for _ in range(200):
        servers = (await http.get("/api/mcp/servers")).json()["servers"]
        remote = next(s for s in servers if s["name"] == "remote")
        if remote["authorization_url"]:
            return dict(remote)
        await anyio.sleep(0.05)
    raise AssertionError(f"pas d'URL de connexion : {remote}")


async def test_callback_refuses_what_no_sign_in_asked_for(
    tmp_path: Path, http: httpx2.AsyncClient
) -> None:
    missing = await http.get("/oauth/callback")
    assert missing.status_code == 400 and "state" in missing.text
    forged = await http.get("/oauth/callback", params={"state": "x" * 43, "code": "c"})
    assert forged.status_code == 400 and "Connexion inconnue" in forged.text
    long = await http.get("/oauth/callback", params={"state": "x" * 600, "code": "c"})
    assert long.status_code == 400
    hostile = await http.get("/oauth/callback", params={"state": "<script>", "error": "<b>x</b>"})
    assert "<b>" not in hostile.text and "<script>" not in hostile.text
    assert (await http.get("/oauth/client-metadata.json")).status_code == 404


def test_oauth_upstream_config_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    table = '[mcp.servers.r]\nurl = "https://r.example/mcp"\nauth = "oauth"\n'
    path.write_text(table + '[mcp.servers.r.oauth]\ngrant = "client_credentials"\n')
    with pytest.raises(ConfigError, match="client_credentials"):
        load_config(path, {})
    path.write_text(table + '[mcp.servers.r.oauth]\nclient_metadata_url = "http://x/y"\n')
    with pytest.raises(ConfigError, match="HTTPS"):
        load_config(path, {})
    path.write_text(table + '[mcp.servers.r.oauth]\ngrant = "implicit"\n')
    with pytest.raises(ConfigError, match="authorization_code"):
        load_config(path, {})
    path.write_text('[mcp.servers.r]\ncommand = "x"\nauth = "oauth"\n')
    with pytest.raises(ConfigError, match="HTTP"):
        load_config(path, {})
    path.write_text(table)  # no table: a person signs in, the callback on [server]
    oauth = load_config(path, {}).mcp.servers["r"].oauth
    assert oauth is not None and oauth.grant == "authorization_code"


async def _sign_in_without_browser(http: httpx2.AsyncClient) -> None:
    """What the browser does: open the URL; the provider sends it to the hub's callback."""
    pending = await _until_sign_in_asked(http)
    async with httpx2.AsyncClient(follow_redirects=True) as browser:
        page = await browser.get(str(pending["authorization_url"]))
    assert page.status_code == 200 and "reçue" in page.text


async def _restarted(
    path: Path, key: str, monkeypatch: pytest.MonkeyPatch, sign_in: bool
) -> dict[str, object]:
    """A hub on ``path`` started with ``key``: the remote's status once it settles."""
    monkeypatch.setenv("KIMI_PROXY_TOKEN_KEY", key)
    port = free_port()
    config = with_bind(load_config(path), None, port)
    app = create_app(config)
    async with (
        serve(app, port=port) as url,
        httpx2.AsyncClient(base_url=url) as http,
    ):
        if sign_in:
            await _sign_in_without_browser(http)
            status = (await wait_ready(http, "remote"))["remote"]
            tokens = app.state.hub.upstreams.connections["remote"].tokens.tokens
            return {**status, "access_token": tokens.access_token}
        for _ in range(200):
            servers = (await http.get("/api/mcp/servers")).json()["servers"]
            if servers[0]["state"] == "ready" or servers[0]["authorization_url"]:
                break
            await anyio.sleep(0.05)
        if servers[0]["state"] == "ready":
            async with Client(f"{url}/mcp") as client:
                assert data(await client.call_tool("remote__sessions_list", {}))
        return dict(servers[0])


async def test_tokens_survive_a_restart_sealed_with_the_key(
    tmp_path: Path,
    upstream_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    (tmp_path / "remote").mkdir()
    async for remote in oauth_hub(tmp_path / "remote", upstream_url, refresh=0):
        path = write_config(tmp_path, upstream_url, BROWSER.format(url=remote.url))

        key = "une phrase secrète assez longue pour le test"
        first = await _restarted(path, key, monkeypatch, sign_in=True)
        assert str(first["auth"]).startswith("connecté en tant que ")
        store = await Store.open(tmp_path / "hub.db")
        try:
            row = await store.fetch_one("SELECT sealed FROM oauth_tokens WHERE server = 'remote'")
        finally:
            await store.close()
        assert row is not None and str(row["sealed"]).startswith("gAAAAA")  # Fernet
        token = str(first["access_token"])
        assert len(token) > 40 and token not in str(row["sealed"])  # never in clear
        # restarted with the same key: signed in at once, no person needed
        again = await _restarted(path, key, monkeypatch, sign_in=False)
        assert again["state"] == "ready" and again["auth"] == first["auth"]
        # another key: the sealed row is refused, a person signs in again
        other = await _restarted(path, "une autre phrase secrète", monkeypatch, sign_in=False)
        assert other["auth"] == "connexion requise" and other["authorization_url"]
        assert "illisibles avec la clé KIMI_PROXY_TOKEN_KEY" in caplog.text


async def test_the_hub_serves_its_client_id_metadata_document(
    tmp_path: Path, upstream_url: str
) -> None:
    cimd = "https://hub.example.com/oauth/client-metadata.json"
    table = BROWSER.format(url="https://tracker.example.com") + (
        f'[mcp.servers.remote.oauth]\nclient_metadata_url = "{cimd}"\n'
    )
    config = load_config(write_config(tmp_path, upstream_url, table))
    async with serve(create_app(config)) as url, httpx2.AsyncClient(base_url=url) as http:
        document = (await http.get("/oauth/client-metadata.json")).json()
    assert document["client_id"] == cimd  # a CIMD names itself
    assert document["redirect_uris"] == ["http://127.0.0.1:8000/oauth/callback"]
    assert document["token_endpoint_auth_method"] == "none"
    assert document["grant_types"] == ["authorization_code", "refresh_token"]


async def test_tokens_are_refreshed_before_they_expire() -> None:
    """The SDK refreshes once its deadline has passed; the hub moves the deadline a minute
    (a tenth of a short lifetime) before the token's expiry, on every new token."""
    oauth = McpOAuthConfig(redirect_uri="http://127.0.0.1:8000/oauth/callback")
    storage = MemoryTokens()
    config = McpServerConfig(name="r", url="https://r.example/mcp", oauth=oauth)
    provider = oauth_provider(config, storage, SignIn("r", lambda: None))
    assert provider is not None
    for lifetime, early in ((3600, 60), (100, 10)):
        token = OAuthToken(access_token="a", expires_in=lifetime, refresh_token="r")
        provider.context.update_token_expiry(token)  # what the SDK does, then stores it
        await storage.set_tokens(token)
        deadline = provider.context.token_expiry_time
        assert deadline is not None
        assert deadline == pytest.approx(time.time() + lifetime - early, abs=2)
