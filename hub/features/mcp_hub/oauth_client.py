"""The hub signing in to an upstream MCP server: the mcp SDK's own OAuth clients.

The SDK does the protocol: discovery (the server's RFC 9728 document, then its
authorization server's RFC 8414 / OpenID metadata), client registration (a pre-registered
``client_id``, the hub's Client ID Metadata Document, or dynamic registration), PKCE and
``state``, the RFC 8707 ``resource``, the RFC 9207 ``iss`` check on the authorization
response, refresh before expiry, the retry after a 401 and the step-up after a 403
``insufficient_scope``. The hub adds the two ends a person sees (``SignIn``): the URL
they open from the dashboard, and the code its ``/oauth/callback`` receives. Tokens live
in memory, one store per server, kept across reconnections.
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Literal
from urllib.parse import parse_qs, urlsplit

import anyio
from mcp.client.auth import OAuthClientProvider, OAuthFlowError
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.auth.oauth2 import OAuthContext
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from pydantic import AnyUrl

from hub.config import McpServerConfig
from hub.core.jsoncodec import loads
from hub.core.jsontypes import as_object

logger = logging.getLogger("hub.mcp")
CLIENT_NAME = "Kimi Proxy Hub"
GRANTS = ["authorization_code", "refresh_token"]
EARLY = 60.0  # seconds before expiry a token is refreshed (a tenth of a shorter lifetime)


class MemoryTokens:
    """The SDK's ``TokenStorage``: this server's token and client, in memory; ``changed``
    (the token vault, when a key is set) is told after each change."""

    def __init__(self, changed: Callable[[MemoryTokens], Awaitable[None]] | None = None) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None
        self.obtained_at: float | None = None
        self._changed = changed
        self.context: OAuthContext | None = None  # the provider's, for an early deadline

    def expires_at(self) -> float | None:
        if self.tokens is None or self.obtained_at is None or self.tokens.expires_in is None:
            return None
        return self.obtained_at + int(self.tokens.expires_in)

    def refresh_early(self) -> None:
        """The SDK refreshes a token once its deadline has passed: move the deadline
        ``EARLY`` (a tenth of a short lifetime) before the expiry, so that the refresh
        happens before a request would be refused with it."""
        expires = self.expires_at()
        if self.context is None or expires is None or self.tokens is None:
            return
        lifetime = int(self.tokens.expires_in or 0)
        self.context.token_expiry_time = expires - min(EARLY, lifetime / 10)

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens
        self.obtained_at = time.time()
        self.refresh_early()  # the SDK set its deadline just before storing
        if self._changed is not None:
            await self._changed(self)

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info
        if self._changed is not None:
            await self._changed(self)

    def state(self, client_id: str | None) -> str:
        """Where the sign-in stands, in French (``/api/mcp/servers``, the dashboard)."""
        if self.tokens is None or self.obtained_at is None:
            return "connexion requise"
        lifetime = self.tokens.expires_in
        if lifetime is not None and time.time() > self.obtained_at + lifetime:
            return "jeton expiré"
        who = _subject(self.tokens.access_token) or client_id
        if who is None and self.client is not None:
            who = self.client.client_id
        return f"connecté en tant que {who or 'client inconnu'}"


def _subject(token: str) -> str | None:
    """The ``sub`` of a JWT access token, for display only (the hub cannot verify it: the
    token is meant for the upstream)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = as_object(loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))))
    except (ValueError, binascii.Error):
        return None
    subject = payload.get("sub") if payload else None
    return subject if isinstance(subject, str) and subject else None


class SignIn:
    """A person signing the hub in to one server (authorization code): the URL to open,
    the answer the hub's callback received. A new round's URL replaces a pending one."""

    def __init__(self, server: str, on_change: Callable[[], None]) -> None:
        self.server = server
        self.url: str | None = None  # while a person is expected
        self._state: str | None = None
        self._answered = anyio.Event()
        self._result: AuthorizationCodeResult | None = None
        self._error: str | None = None
        self._on_change = on_change

    @property
    def pending(self) -> bool:
        return self.url is not None

    async def redirect(self, url: str) -> None:
        """The SDK's redirect handler: publish the URL (a person opens it from the dashboard)."""
        states = parse_qs(urlsplit(url).query).get("state")
        self._state = states[0] if states else None
        self.url, self._result, self._error = url, None, None
        self._answered = anyio.Event()
        logger.warning(
            "serveur MCP %s : connexion requise (bouton « Connecter » du tableau de bord)",
            self.server,
        )
        self._on_change()

    async def callback(self) -> AuthorizationCodeResult:
        """The SDK's callback handler: wait for ``answer`` (for as long as it takes). A
        round that ends meanwhile takes its link down: nothing would read that answer."""
        try:
            await self._answered.wait()
        finally:
            self.url = self._state = None
            self._on_change()
        result, error = self._result, self._error
        if result is None:
            raise OAuthFlowError(f"connexion refusée par le serveur d'autorisation : {error}")
        return result

    def answer(self, state: str, code: str | None, iss: str | None, error: str | None) -> bool:
        """The callback's parameters, if ``state`` is the one this sign-in sent."""
        if self._state is None or not secrets.compare_digest(state, self._state):
            return False
        if code:
            self._result = AuthorizationCodeResult(code=code, state=state, iss=iss)
        else:
            self._error = (error or "réponse sans code")[:200]
        self._answered.set()
        return True


def _method(value: str) -> Literal["client_secret_basic", "client_secret_post"]:
    return "client_secret_post" if value == "client_secret_post" else "client_secret_basic"


def oauth_provider(
    config: McpServerConfig, storage: MemoryTokens, sign_in: SignIn
) -> OAuthClientProvider | None:
    """The httpx2 auth that signs this server's requests, None without ``auth = "oauth"``."""
    oauth = config.oauth
    if oauth is None or config.url is None:
        return None
    if oauth.grant == "client_credentials":
        assert oauth.client_id is not None and oauth.client_secret is not None
        machine = ClientCredentialsOAuthProvider(
            config.url,
            storage,
            oauth.client_id,
            oauth.client_secret,
            token_endpoint_auth_method=_method(oauth.token_endpoint_auth_method),
            scope=oauth.scope,
            issuer=oauth.issuer,
        )
        storage.context = machine.context
        return machine
    method = _method(oauth.token_endpoint_auth_method) if oauth.client_secret else "none"
    metadata = OAuthClientMetadata(
        redirect_uris=[AnyUrl(oauth.redirect_uri)],
        client_name=CLIENT_NAME,
        grant_types=list(GRANTS),
        response_types=["code"],
        token_endpoint_auth_method=method,
        scope=oauth.scope,
    )
    if oauth.client_id is not None and storage.client is None:  # pre-registered
        storage.client = OAuthClientInformationFull(
            client_id=oauth.client_id,
            client_secret=oauth.client_secret,
            redirect_uris=[AnyUrl(oauth.redirect_uri)],
            token_endpoint_auth_method=method,
            grant_types=list(GRANTS),
        )
    provider = OAuthClientProvider(
        config.url,
        metadata,
        storage,
        redirect_handler=sign_in.redirect,
        callback_handler=sign_in.callback,
        client_metadata_url=oauth.client_metadata_url,
    )
    storage.context = provider.context
    storage.refresh_early()  # tokens kept from an earlier round or read back at start
    return provider
