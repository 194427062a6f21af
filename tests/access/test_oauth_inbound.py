"""The hub as an OAuth 2.1 protected resource, against a real OpenID provider on loopback
(npm oauth2-mock-server) and the mcp SDK client's own OAuth support."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientMetadata,
)
from openai import AsyncOpenAI, RateLimitError
from pydantic import AnyUrl
from starlette.types import Receive, Scope, Send

from hub.config import ConfigError, load_config
from hub.features.mcp_hub.oauth_client import MemoryTokens
from hub.services.access.oauth_resource import ProtectedResource
from tests.support.hub_configs import ADMIN
from tests.support.mcp_results import data
from tests.support.oauth_hubs import TOOL_SCOPES, Hub, oauth_hub
from tests.support.polling import until
from tests.support.servers import serve


@pytest.fixture
async def hub(tmp_path: Path, upstream_url: str) -> AsyncIterator[Hub]:
    async for running in oauth_hub(tmp_path, upstream_url, refresh=0):
        yield running


def _sdk_auth(server_url: str, scope: str | None = None) -> OAuthClientProvider:
    """The SDK's provider, with a user who approves at once: the authorize URL is fetched
    and its redirect read back as the callback."""
    redirect: dict[str, str] = {}

    async def open_browser(url: str) -> None:
        async with httpx2.AsyncClient() as browser:
            answer = await browser.get(url, follow_redirects=False)
        assert answer.status_code == 302, answer.text
        redirect.update(
            {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}
        )

    async def callback() -> AuthorizationCodeResult:
        return AuthorizationCodeResult(code=redirect["code"], state=redirect.get("state"))

    metadata = OAuthClientMetadata(
        client_name="test", redirect_uris=[AnyUrl("http://127.0.0.1:9/callback")], scope=scope
    )
    return OAuthClientProvider(server_url, metadata, MemoryTokens(), open_browser, callback)


async def test_sdk_client_signs_in_and_uses_tools(hub: Hub) -> None:
    auth = _sdk_auth(f"{hub.url}/mcp")
    async with (
        httpx2.AsyncClient(auth=auth) as http,
        Client(streamable_http_client(f"{hub.url}/mcp", http_client=http)) as client,
    ):
        created = data(await client.call_tool("session_create", {"name": "Par OAuth"}))
        listed = data(await client.call_tool("sessions_list", {}))
    assert [s["id"] for s in listed["sessions"]] == [created["id"]]
    token = auth.context.current_tokens
    assert token is not None and token.scope == "mcp"
    claims = json.loads(base64.urlsafe_b64decode(token.access_token.split(".")[1] + "=="))
    assert claims["aud"] == hub.audience  # RFC 8707 resource asked by the SDK
    assert hub.state.oauth is not None and hub.state.oauth.verifier.keys.fetches == 1


async def test_sdk_client_steps_up_for_a_profile(tmp_path: Path, upstream_url: str) -> None:
    """One token for every endpoint: the audience is the hub's origin. The SDK first gets
    ``mcp`` (the 401's scope on /mcp), then /profiles/search/mcp answers 403
    insufficient_scope and the SDK asks again with ``mcp mcp:search``."""
    async for hub in oauth_hub(tmp_path, upstream_url, refresh=0, resource="/"):
        auth = _sdk_auth(f"{hub.url}/mcp")
        async with httpx2.AsyncClient(auth=auth) as http:
            async with Client(streamable_http_client(f"{hub.url}/mcp", http_client=http)) as c:
                await c.list_tools()
            first = auth.context.current_tokens
            assert first is not None and first.scope == "mcp"
            search = f"{hub.url}/profiles/search/mcp"
            async with Client(streamable_http_client(search, http_client=http)) as c:
                assert "tool_search" in {t.name for t in (await c.list_tools()).tools}
        token = auth.context.current_tokens
        assert token is not None and set((token.scope or "").split()) == {"mcp", "mcp:search"}


async def test_metadata_documents(hub: Hub) -> None:
    async with httpx2.AsyncClient(base_url=hub.url) as http:
        for path in (
            "/.well-known/oauth-protected-resource/mcp",
            "/.well-known/oauth-protected-resource",
        ):
            document = (await http.get(path)).json()
            assert document["resource"] == hub.audience
            assert document["authorization_servers"] == [hub.provider.issuer]
            assert document["scopes_supported"] == ["mcp", "mcp:search"]


@pytest.mark.parametrize("path", ["/mcp", "/profiles/search/mcp", "/servers/nope/mcp"])
async def test_mcp_endpoints_without_token_get_the_challenge(hub: Hub, path: str) -> None:
    async with httpx2.AsyncClient(base_url=hub.url) as http:
        response = await http.post(path, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    metadata = f"{hub.url}/.well-known/oauth-protected-resource/mcp"
    assert challenge.startswith("Bearer ") and f'resource_metadata="{metadata}"' in challenge


async def _mcp_status(hub: Hub, token: str, path: str = "/mcp") -> httpx2.Response:
    headers = {"authorization": f"Bearer {token}", "accept": "application/json, text/event-stream"}
    async with httpx2.AsyncClient(base_url=hub.url, headers=headers) as http:
        return await http.post(path, json=INITIALIZE)


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    },
}


def _forge(token: str, header: dict[str, object] | None = None, **claims: object) -> str:
    head, body, signature = token.split(".")

    def encode(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    def decode(part: str) -> dict[str, object]:
        loaded = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        assert isinstance(loaded, dict)
        return loaded

    new_head = encode({**decode(head), **header}) if header else head
    new_body = encode({**decode(body), **claims}) if claims else body
    return f"{new_head}.{new_body}.{signature}"


REFUSALS: dict[str, tuple[dict[str, object], str]] = {
    "autre audience": ({"aud": "http://127.0.0.1:1/mcp"}, "aud"),
    "expiré": ({"exp": 1_000_000_000, "nbf": 999_000_000, "iat": 999_000_000}, "exp"),
    "pas encore valide": ({"nbf": 4_000_000_000}, "nbf"),
    "autre émetteur": ({"iss": "http://127.0.0.1:1"}, "iss"),
    "sans exp": ({"exp": None}, "exp"),
}


@pytest.mark.parametrize("case", REFUSALS)
async def test_invalid_tokens_are_refused(hub: Hub, case: str) -> None:
    claims, word = REFUSALS[case]
    response = await _mcp_status(hub, await hub.token(**claims))
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert 'error="invalid_token"' in challenge and word in challenge


async def test_issuer_compared_exactly(hub: Hub) -> None:
    response = await _mcp_status(hub, await hub.token(iss=hub.provider.issuer + "/"))
    assert response.status_code == 401 and "iss" in response.headers["www-authenticate"]


async def test_alg_none_and_tampered_tokens_are_refused(hub: Hub) -> None:
    good = await hub.token()
    assert (await _mcp_status(hub, good)).status_code == 200
    none = _forge(good, {"alg": "none"}).rsplit(".", 1)[0] + "."
    tampered = _forge(good, sub="mallory")
    hs256 = _forge(good, {"alg": "HS256"})
    for token, word in ((none, "none"), (tampered, "signature"), (hs256, "HS256")):
        response = await _mcp_status(hub, token)
        assert response.status_code == 401, word
        assert word in response.headers["www-authenticate"], response.headers


async def test_missing_scope_asks_for_a_step_up(hub: Hub) -> None:
    response = await _mcp_status(hub, await hub.token(), "/profiles/search/mcp")
    assert response.status_code == 403
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="mcp mcp:search"' in challenge
    without = await _mcp_status(hub, await hub.token(scope="other"))
    assert without.status_code == 403 and 'scope="other mcp' in without.headers["www-authenticate"]


async def test_key_rotation_refetches_the_jwks(hub: Hub) -> None:
    assert (await _mcp_status(hub, await hub.token())).status_code == 200
    kid = await hub.provider.rotate()
    rotated = await hub.provider.token(
        {"aud": hub.audience, "sub": "alice", "scope": "mcp"}, kid=kid
    )
    assert (await _mcp_status(hub, rotated)).status_code == 200
    oauth = hub.state.oauth
    assert isinstance(oauth, ProtectedResource) and oauth.verifier.keys.fetches == 2


async def test_unknown_kid_refetch_is_rate_limited(tmp_path: Path, upstream_url: str) -> None:
    async for hub in oauth_hub(tmp_path, upstream_url, refresh=3600):
        assert (await _mcp_status(hub, await hub.token())).status_code == 200
        kid = await hub.provider.rotate()
        for _ in range(5):
            token = await hub.provider.token(
                {"aud": hub.audience, "sub": "x", "scope": "mcp"}, kid=kid
            )
            response = await _mcp_status(hub, token)
            assert response.status_code == 401 and "kid" in response.headers["www-authenticate"]
        oauth = hub.state.oauth
        assert isinstance(oauth, ProtectedResource) and oauth.verifier.keys.fetches == 1


async def test_subjects_are_callers_with_own_sessions_rates_and_rows(hub: Hub) -> None:
    alice, bob = await hub.token(sub="alice"), await hub.token(sub="bob")
    for token in (alice, alice):
        async with AsyncOpenAI(base_url=hub.url, api_key=token, max_retries=0) as sdk:
            await sdk.chat.completions.create(
                model="priced", messages=[{"role": "user", "content": "hi"}]
            )
    async with AsyncOpenAI(base_url=hub.url, api_key=alice, max_retries=0) as sdk:
        with pytest.raises(RateLimitError):  # rpm = 2 per subject
            await sdk.chat.completions.create(
                model="priced", messages=[{"role": "user", "content": "hi"}]
            )
    async with AsyncOpenAI(base_url=hub.url, api_key=bob, max_retries=0) as sdk:
        await sdk.chat.completions.create(
            model="priced", messages=[{"role": "user", "content": "hi"}]
        )
    async with httpx2.AsyncClient(
        base_url=hub.url, headers={"authorization": f"Bearer {ADMIN}"}
    ) as admin:
        rows = (await admin.get("/api/requests")).json()
    owners = [row["key_id"] for row in rows["requests"]]
    assert len(set(owners)) == 2 and all(o.startswith("oauth-") for o in owners)
    async with httpx2.AsyncClient(headers={"authorization": f"Bearer {bob}"}) as http:
        async with Client(streamable_http_client(f"{hub.url}/mcp", http_client=http)) as client:
            mine = data(await client.call_tool("sessions_list", {}))["sessions"]
    assert len(mine) == 1  # bob's own session, not alice's


async def test_admin_and_virtual_keys_keep_working(hub: Hub) -> None:
    assert (await _mcp_status(hub, ADMIN)).status_code == 200
    async with httpx2.AsyncClient(
        base_url=hub.url, headers={"authorization": f"Bearer {ADMIN}"}
    ) as admin:
        secret = (await admin.post("/api/keys", json={"name": "k"})).json()["secret"]
    assert (await _mcp_status(hub, secret)).status_code == 200


async def test_client_token_never_reaches_an_upstream(tmp_path: Path, upstream_url: str) -> None:
    """An HTTP upstream records every header the hub sends it: the client's JWT is not one."""
    seen: list[bytes] = []

    async def recorder(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            seen.extend(value for _, value in scope["headers"])
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b""})

    async with serve(recorder, http="h11") as upstream:
        extra = f'\n[mcp.servers.rec]\nurl = "{upstream}/mcp"\n'
        async for hub in oauth_hub(tmp_path, upstream_url, refresh=0, extra=extra):
            token = await hub.token()
            assert (await _mcp_status(hub, token)).status_code == 200
            await until(lambda: bool(seen))
            assert seen and not any(token.encode() in value for value in seen)


@pytest.mark.parametrize(
    ("table", "word"),
    [
        ('issuer = "http://idp.example.com"', "https"),
        ('issuer = "https://idp.example.com?x=1"', "https"),
        ('audience = "https://hub.example.com/mcp"', "issuer"),
        ('issuer = "https://idp.example.com"\nlimit_by = "team"', "limit_by"),
        ('issuer = "https://idp.example.com"\nscopes_supported = ["a b"]', "portée"),
    ],
)
def test_bad_oauth_config_is_refused(tmp_path: Path, table: str, word: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[auth.oauth]\n{table}\n")
    with pytest.raises(ConfigError, match=word):
        load_config(path, {})


def test_audience_required_off_loopback(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    text = '[server]\nhost = "0.0.0.0"\napi_key = "k"\n[auth.oauth]\nissuer = "https://i.example"\n'
    path.write_text(text)
    with pytest.raises(ConfigError, match="audience"):
        load_config(path, {})
    path.write_text(text + 'audience = "https://h.example/mcp"\n')
    config = load_config(path, {})
    assert config.oauth is not None and config.oauth.issuer == "https://i.example"


async def test_a_tool_outside_the_scopes_asks_for_a_step_up(
    tmp_path: Path, upstream_url: str
) -> None:
    async for hub in oauth_hub(tmp_path, upstream_url, refresh=0, template=TOOL_SCOPES):
        token = await hub.token(scope="mcp:read")
        headers = {
            "authorization": f"Bearer {token}",
            "accept": "application/json, text/event-stream",
        }
        async with httpx2.AsyncClient(base_url=hub.url, headers=headers) as http:
            for tool, status in (("session_create", 403), ("sessions_list", 400)):
                call = {"name": tool, "arguments": {}}
                body = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call}
                response = await http.post("/mcp", json=body)
                assert response.status_code == status, (tool, response.text)
            challenge = response.headers.get("www-authenticate", "")
            assert "insufficient_scope" not in challenge  # sessions_list: the SDK's 400
            body["params"] = {"name": "session_create", "arguments": {}}
            refused = await http.post("/mcp", json=body)
        challenge = refused.headers["www-authenticate"]
        assert 'error="insufficient_scope"' in challenge
        assert 'scope="mcp:read mcp:write"' in challenge
