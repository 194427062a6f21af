"""The ``[auth]`` section: ``[auth.oauth]``, the hub as an OAuth 2.1 protected resource.

The issuer must be HTTPS, except on loopback (tests, a local identity provider); it is
kept exactly as written, since tokens and discovery documents are compared to it as
strings. The audience defaults to the hub's own ``/mcp`` URL on loopback
(``audience_of``: the port actually bound).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from hub.config.mcp import choice, patterns
from hub.config.reader import Table
from hub.config.schema import OAuthConfig, OAuthScopeConfig, ServerConfig

OAUTH_KEYS = {"issuer", "audience", "scopes_supported", "required_scopes", "scopes", "limit_by"}
OAUTH_KEYS |= {"budget", "period", "rpm", "tpm", "models", "leeway", "jwks_refresh"}
OAUTH_KEYS |= {"jwks_max_age"}
LIMIT_BY = ("subject", "client")
PERIODS = ("day", "month", "total")
SCOPE_CHARS = set("!#$%&'()*+,-./:;<=>?@[]^_`{|}~") | set(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)


def loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def https_or_loopback(url: str) -> bool:
    """HTTPS anywhere, plain HTTP only toward this machine."""
    parts = urlsplit(url)
    if not parts.hostname or parts.query or parts.fragment:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and loopback_host(parts.hostname))


def _scope_names(t: Table, key: str) -> tuple[str, ...]:
    names = t.strings(key)
    for name in names:
        if not name or not set(name) <= SCOPE_CHARS:
            raise t.fail(key, f"portée « {name[:40]} » invalide (RFC 6749 : pas d'espace)")
    return names


def _scope(name: str, t: Table) -> OAuthScopeConfig:
    t.check_keys({"profiles", "tools"})
    return OAuthScopeConfig(
        name=name,
        profiles=patterns(t, "profiles") if t.has("profiles") else ("*",),
        tools=patterns(t, "tools"),
    )


def _oauth(t: Table, server: ServerConfig) -> OAuthConfig:
    t.check_keys(OAUTH_KEYS)
    issuer = t.optional_string("issuer")
    if issuer is None:
        raise t.fail("issuer", "obligatoire (l'URL de l'émetteur du serveur d'autorisation)")
    if not https_or_loopback(issuer):
        raise t.fail("issuer", "une URL https:// est attendue (http:// seulement en local)")
    audience = t.optional_string("audience")
    if audience is None and not loopback_host(server.host):
        raise t.fail("audience", "obligatoire quand le hub écoute hors de la boucle locale")
    if audience is not None and not https_or_loopback(audience):
        raise t.fail("audience", "une URL https:// est attendue (http:// seulement en local)")
    scopes_table = t.table("scopes")
    scopes = {name: _scope(name, scopes_table.table(name)) for name in scopes_table.keys()}
    for name in scopes:
        if not set(name) <= SCOPE_CHARS:
            raise scopes_table.fail(name, "nom de portée invalide")
    budget = t.number("budget", 0.0) if t.has("budget") else None
    return OAuthConfig(
        issuer=issuer,
        audience=audience,
        scopes_supported=_scope_names(t, "scopes_supported") or tuple(scopes),
        required_scopes=_scope_names(t, "required_scopes"),
        scopes=scopes,
        limit_by=choice(t, "limit_by", "subject", LIMIT_BY),
        budget=budget,
        period=choice(t, "period", "total", PERIODS),
        rpm=t.optional_integer("rpm"),
        tpm=t.optional_integer("tpm"),
        models=patterns(t, "models"),
        leeway=t.number("leeway", 30.0),
        jwks_refresh=t.number("jwks_refresh", 30.0),
        jwks_max_age=t.number("jwks_max_age", 3600.0, minimum=1.0),
    )


def audience_of(oauth: OAuthConfig, server: ServerConfig) -> str:
    return oauth.audience or f"http://{server.host}:{server.port}/mcp"


def read_auth(t: Table, server: ServerConfig) -> OAuthConfig | None:
    t.check_keys({"oauth"})
    return _oauth(t.table("oauth"), server) if t.has("oauth") else None
