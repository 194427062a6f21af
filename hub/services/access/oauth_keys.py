"""The issuer's signing keys: its discovery document, then its JWKS, cached.

Discovery tries RFC 8414 (``/.well-known/oauth-authorization-server`` inserted before the
issuer's path), then OpenID Connect (``/.well-known/openid-configuration`` appended); the
document's ``issuer`` must equal the configured one character for character. The JWKS
is kept ``jwks_max_age`` seconds; a token signed by a key it does not hold (rotation)
refetches it, at most once every ``jwks_refresh`` seconds, so a flood of forged ``kid``
values costs the identity provider one request per period.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx2
import jwt

from hub.config import OAuthConfig
from hub.core.errors import HubError
from hub.core.jsoncodec import loads
from hub.core.jsontypes import JSONObject

log = logging.getLogger(__name__)
MAX_DOCUMENT = 1024 * 1024


class IssuerUnavailable(HubError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            f"Serveur d'autorisation OAuth indisponible : {detail}",
            status=503,
            error_type="server_error",
            code="oauth_issuer_unavailable",
        )


def discovery_urls(issuer: str) -> list[str]:
    parts = urlsplit(issuer)
    origin, path = f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")
    return [
        f"{origin}/.well-known/oauth-authorization-server{path}",
        f"{issuer.rstrip('/')}/.well-known/openid-configuration",
    ]


@dataclass(frozen=True)
class SigningKey:
    key: jwt.PyJWK
    alg: str | None  # the JWK's own "alg", when it names one: tokens must then use it


class IssuerKeys:
    def __init__(self, config: OAuthConfig, http: httpx2.AsyncClient) -> None:
        self._config = config
        self._http = http
        self._jwks_uri: str | None = None
        self._keys: dict[str, SigningKey] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0  # JWKS downloads, for /metrics-style checks and the tests

    async def key(self, kid: str | None) -> SigningKey | None:
        """The key that signed a token with this ``kid`` (None: no such key, even after a
        refetch allowed by the rate limit)."""
        if self._stale():
            await self._refresh(force=False)
        found = self._find(kid)
        if found is None and self._may_refetch():
            await self._refresh(force=True)
            found = self._find(kid)
        return found

    def _find(self, kid: str | None) -> SigningKey | None:
        if kid is not None:
            return self._keys.get(kid)
        return next(iter(self._keys.values())) if len(self._keys) == 1 else None

    def _stale(self) -> bool:
        fetched = self._fetched_at
        return fetched is None or time.monotonic() - fetched > self._config.jwks_max_age

    def _may_refetch(self) -> bool:
        fetched = self._fetched_at
        return fetched is None or time.monotonic() - fetched >= self._config.jwks_refresh

    async def _refresh(self, *, force: bool) -> None:
        before = self._fetched_at
        async with self._lock:
            if self._fetched_at != before:  # another request refreshed while we waited
                return
            if not force and not self._stale():
                return
            uri = self._jwks_uri or await self._discover()
            document = await self._get(uri)
            self._keys = _signing_keys(document)
            self._fetched_at = time.monotonic()
            self.fetches += 1

    async def _discover(self) -> str:
        issuer = self._config.issuer
        for url in discovery_urls(issuer):
            try:
                document = await self._get(url)
            except IssuerUnavailable:
                continue
            if document.get("issuer") != issuer:
                log.error(
                    "Découverte OAuth : %s annonce l'émetteur %r, la configuration dit %r.",
                    url,
                    document.get("issuer"),
                    issuer,
                )
                raise IssuerUnavailable("son document de découverte annonce un autre émetteur.")
            uri = document.get("jwks_uri")
            if not isinstance(uri, str) or not uri.startswith(("https://", "http://")):
                raise IssuerUnavailable("son document de découverte n'a pas de jwks_uri.")
            self._jwks_uri = uri
            return uri
        raise IssuerUnavailable(f"aucun document de découverte pour {issuer}.")

    async def _get(self, url: str) -> JSONObject:
        try:
            response = await self._http.get(url, headers={"accept": "application/json"})
        except httpx2.HTTPError as exc:
            raise IssuerUnavailable(f"{url} injoignable ({type(exc).__name__}).") from None
        if response.status_code != 200 or len(response.content) > MAX_DOCUMENT:
            raise IssuerUnavailable(f"{url} a répondu {response.status_code}.")
        try:
            document = loads(response.content)
        except ValueError:
            raise IssuerUnavailable(f"{url} n'a pas répondu en JSON.") from None
        if not isinstance(document, dict):
            raise IssuerUnavailable(f"{url} n'a pas répondu un objet JSON.")
        return document


def _signing_keys(document: JSONObject) -> dict[str, SigningKey]:
    """The JWKS's signature keys by ``kid`` (encryption keys and unusable ones left out)."""
    keys: dict[str, SigningKey] = {}
    entries = document.get("keys")
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(entry)
        except jwt.PyJWTError as exc:
            log.warning("Clé %s du JWKS ignorée : %s", entry.get("kid", index), exc)
            continue
        alg = entry.get("alg")
        keys[key.key_id or f"#{index}"] = SigningKey(key, alg if isinstance(alg, str) else None)
    if not keys:
        raise IssuerUnavailable("son JWKS ne contient aucune clé de signature utilisable.")
    return keys
