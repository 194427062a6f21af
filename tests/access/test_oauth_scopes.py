"""Scopes onto endpoints and tool patterns (``ProtectedResource``), without a provider:
the mapping is pure logic; tokens themselves are tested in test_oauth_inbound.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest

from hub.config import OAuthConfig, OAuthScopeConfig
from hub.services.access.oauth_keys import IssuerKeys
from hub.services.access.oauth_resource import ProtectedResource, endpoint_profile
from hub.services.access.oauth_tokens import BearerRefusal, OAuthIdentity, TokenVerifier

SCOPES = {
    "read": OAuthScopeConfig("read", ("default",), ("sessions_*", "stats_*")),
    "all": OAuthScopeConfig("all", ("*",), ()),
}


@pytest.fixture
async def resource() -> AsyncIterator[ProtectedResource]:
    config = OAuthConfig(issuer="https://idp.example", scopes=SCOPES, limit_by="client")
    async with httpx2.AsyncClient() as http:
        verifier = TokenVerifier(config, "https://hub.example/", IssuerKeys(config, http))
        yield ProtectedResource(config, "https://hub.example/", verifier)


def _who(*scopes: str, client: str | None = "c1", sub: str = "alice") -> OAuthIdentity:
    return OAuthIdentity("https://idp.example", sub, client, frozenset(scopes), 0.0)


def test_endpoint_profiles() -> None:
    assert endpoint_profile("/mcp") == "default"
    assert endpoint_profile("/profiles/search/mcp") == "search"
    assert endpoint_profile("/servers/fs/mcp") == "servers/fs"
    assert endpoint_profile("/chat/completions") is None


def test_scopes_open_tools(resource: ProtectedResource) -> None:
    tools = resource.opened_tools
    assert tools(_who("read"), "default") == ("sessions_*", "stats_*")
    assert tools(_who("read", "all"), "default") == ()
    assert tools(_who(), None) == ()  # /chat/completions: no endpoint scope


@pytest.mark.parametrize(
    ("scopes", "profile", "asked"),
    [((), "default", "read all"), (("read",), "search", "read all")],
)
def test_missing_scope_names_what_to_ask(
    resource: ProtectedResource, scopes: tuple[str, ...], profile: str, asked: str
) -> None:
    with pytest.raises(BearerRefusal) as refused:
        resource.opened_tools(_who(*scopes), profile)
    assert refused.value.status == 403 and refused.value.oauth_error == "insufficient_scope"
    assert refused.value.scope == asked


def test_principal_per_client_or_subject(resource: ProtectedResource) -> None:
    one = resource.principal(_who(sub="alice"), ())
    two = resource.principal(_who(sub="bob"), ())
    assert one.id == two.id and one.name == "oauth:c1"  # limit_by = "client"
    alone = resource.principal(_who(client=None, sub="bob"), ())
    assert alone.id != one.id and alone.name == "oauth:bob"
    assert one.id.startswith("oauth-")


def test_metadata_url_follows_the_audience(resource: ProtectedResource) -> None:
    assert resource.metadata_url == "https://hub.example/.well-known/oauth-protected-resource"
    assert resource.document()["resource"] == "https://hub.example/"
