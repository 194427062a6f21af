"""The hub signing in to an upstream MCP server: the mcp SDK's own OAuth client.

``ClientCredentialsOAuthProvider`` does the discovery (the server's RFC 9728 document,
then its authorization server's RFC 8414 / OpenID metadata, whose issuer must be the
configured one), the token request with the RFC 8707 ``resource``, the retry after a
401 and the step-up after a 403 ``insufficient_scope``. Tokens live in memory, one store
per server, kept across reconnections; nothing is written to disk.
"""

from __future__ import annotations

import time
from typing import Literal

from mcp.client.auth import OAuthClientProvider
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

from hub.config import McpServerConfig


class MemoryTokens:
    """The SDK's ``TokenStorage``: this server's token and client, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None
        self.obtained_at: float | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens
        self.obtained_at = time.time()

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info

    def state(self, client_id: str) -> str:
        """Where the sign-in stands, in French (``/api/mcp/servers``, the dashboard)."""
        if self.tokens is None or self.obtained_at is None:
            return "connexion requise"
        lifetime = self.tokens.expires_in
        if lifetime is not None and time.time() > self.obtained_at + lifetime:
            return "jeton expiré"
        return f"connecté en tant que {client_id}"


def _method(value: str) -> Literal["client_secret_basic", "client_secret_post"]:
    return "client_secret_post" if value == "client_secret_post" else "client_secret_basic"


def oauth_provider(config: McpServerConfig, storage: MemoryTokens) -> OAuthClientProvider | None:
    """The httpx2 auth that signs this server's requests, None without ``auth = "oauth"``."""
    oauth = config.oauth
    if oauth is None or config.url is None:
        return None
    return ClientCredentialsOAuthProvider(
        config.url,
        storage,
        oauth.client_id,
        oauth.client_secret,
        token_endpoint_auth_method=_method(oauth.token_endpoint_auth_method),
        scope=oauth.scope,
        issuer=oauth.issuer,
    )
