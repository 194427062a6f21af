"""The hub as an OAuth 2.1 protected resource: its RFC 9728 document, its challenges, and
what a valid token opens.

Scopes map onto the MCP endpoints (by profile: ``default`` is ``/mcp``, NAME is
``/profiles/NAME/mcp``, ``servers/NAME`` is ``/servers/NAME/mcp``) and onto tool
patterns. Without ``[auth.oauth.scopes]`` a valid token opens every endpoint. With them,
an endpoint needs a scope that opens it, else 403 ``insufficient_scope`` naming the
scopes to ask for (step-up). The token's subject (or client, ``limit_by``) becomes a
principal of the access model: a ``KeyRecord`` held in memory only, whose id owns
sessions and rows and carries ``[auth.oauth]``'s budget and rates, like a virtual key.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from hub.config import OAuthConfig, OAuthScopeConfig
from hub.core.jsontypes import JSONObject
from hub.core.storage.keys import PERIODS, KeyLimits, KeyRecord, Period
from hub.services.access.keys import matches
from hub.services.access.oauth_tokens import BearerRefusal, OAuthIdentity, TokenVerifier

WELL_KNOWN = "/.well-known/oauth-protected-resource"
PRINCIPAL_PREFIX = "oauth-"


def endpoint_profile(path: str) -> str | None:
    """The profile an MCP path serves (None: not an MCP endpoint)."""
    if path == "/mcp" or path.startswith("/mcp/"):
        return "default"
    parts = path.split("/")
    if len(parts) >= 4 and parts[3] == "mcp" and parts[1] in ("profiles", "servers"):
        return parts[2] if parts[1] == "profiles" else f"servers/{parts[2]}"
    return None


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ProtectedResource:
    def __init__(self, config: OAuthConfig, audience: str, verifier: TokenVerifier) -> None:
        self.config = config
        self.audience = audience
        self.verifier = verifier
        parts = urlsplit(audience)
        path = parts.path.rstrip("/")
        self.metadata_url = f"{parts.scheme}://{parts.netloc}{WELL_KNOWN}{path}"

    def document(self) -> JSONObject:
        """RFC 9728 protected resource metadata."""
        return {
            "resource": self.audience,
            "authorization_servers": [self.config.issuer],
            "scopes_supported": list(self.config.scopes_supported),
            "bearer_methods_supported": ["header"],
            "resource_name": "Kimi Proxy Hub",
        }

    def challenge(self, refusal: BearerRefusal) -> str:
        """The ``WWW-Authenticate`` value for a refusal on an MCP endpoint."""
        fields = []
        if refusal.oauth_error:
            fields.append(f"error={_quoted(refusal.oauth_error)}")
            fields.append(f"error_description={_quoted(refusal.message)}")
        if refusal.scope:
            fields.append(f"scope={_quoted(refusal.scope)}")
        fields.append(f"resource_metadata={_quoted(self.metadata_url)}")
        return "Bearer " + ", ".join(fields)

    def missing_token(self, path: str) -> BearerRefusal:
        scope = " ".join(self._asked(self._opening(endpoint_profile(path))))
        return BearerRefusal(
            "Jeton d'accès OAuth requis (en-tête Authorization: Bearer) : voir "
            f"{self.metadata_url}.",
            401,
            None,
            scope or None,
        )

    async def admit(self, token: str, path: str) -> tuple[OAuthIdentity, KeyRecord]:
        """The token's identity and principal, or the 401 / 403 to answer."""
        identity = await self.verifier.verify(token)
        tools = self.opened_tools(identity, endpoint_profile(path))
        return identity, self.principal(identity, tools)

    def _opening(self, profile: str | None) -> list[OAuthScopeConfig]:
        if profile is None:
            return []
        return [s for s in self.config.scopes.values() if matches(profile, s.profiles)]

    def _asked(self, opening: list[OAuthScopeConfig]) -> list[str]:
        return list(dict.fromkeys([*self.config.required_scopes, *(s.name for s in opening)]))

    def opened_tools(self, identity: OAuthIdentity, profile: str | None) -> tuple[str, ...]:
        """The tool patterns the token opens here (``()``: all), or 403."""
        opening = self._opening(profile)
        missing = [s for s in self.config.required_scopes if s not in identity.scopes]
        held = [s for s in opening if s.name in identity.scopes]
        if missing or (profile is not None and self.config.scopes and not held):
            if profile is not None and self.config.scopes and not opening:
                raise BearerRefusal(
                    "Aucune portée OAuth n'ouvre ce point d'accès MCP.", 403, "insufficient_scope"
                )
            return self._step_up(identity, opening)
        if not held or any(not s.tools for s in held):
            return ()
        return tuple(dict.fromkeys(p for s in held for p in s.tools))

    def step_up_for_tool(self, identity: OAuthIdentity, profile: str, tool: str) -> None:
        """403 naming the scopes that would open ``tool`` here, when there are some."""
        opening = [
            s
            for s in self._opening(profile)
            if s.name not in identity.scopes and (not s.tools or matches(tool, s.tools))
        ]
        if opening:
            self._step_up(identity, opening)

    def _step_up(self, identity: OAuthIdentity, opening: list[OAuthScopeConfig]) -> tuple[str, ...]:
        asked = " ".join(dict.fromkeys([*identity.scopes, *self._asked(opening)]))
        raise BearerRefusal(
            f"Portée OAuth insuffisante : demandez « {asked} ».", 403, "insufficient_scope", asked
        )

    def principal(self, identity: OAuthIdentity, tools: tuple[str, ...]) -> KeyRecord:
        config = self.config
        by_client = config.limit_by == "client" and identity.client_id is not None
        who = identity.client_id if by_client and identity.client_id else identity.subject
        seed = f"{identity.issuer}\0{config.limit_by}\0{who}".encode()
        limits = KeyLimits(
            budget=config.budget,
            period=_period(config.period),
            rpm=config.rpm,
            tpm=config.tpm,
            models=config.models,
            tools=tools,
        )
        return KeyRecord(
            id=PRINCIPAL_PREFIX + hashlib.sha256(seed).hexdigest()[:24],
            name=f"oauth:{who}"[:200],
            salt="",
            secret_hash="",
            created_at=0.0,
            limits=limits,
        )


def _period(value: str) -> Period:
    for period in PERIODS:
        if value == period:
            return period
    return "total"
