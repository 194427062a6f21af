"""JWT access tokens checked against the issuer's keys: who presents them, with which scopes.

Only asymmetric signatures are accepted (``alg: none`` and HMAC never: a shared secret
would let whoever holds it mint tokens). ``iss`` must equal the configured issuer and
``aud`` contain the hub's resource URL, both compared as strings; ``exp`` is required,
``nbf`` and ``exp`` get ``leeway`` seconds of clock skew.
"""

from __future__ import annotations

from dataclasses import dataclass

import jwt

from hub.config import OAuthConfig
from hub.core.errors import HubError
from hub.services.access.oauth_keys import IssuerKeys

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")


class BearerRefusal(HubError):
    """A refusal worded for OAuth clients too: the ``WWW-Authenticate`` error and scope."""

    def __init__(
        self, message: str, status: int, oauth_error: str | None, scope: str | None = None
    ) -> None:
        code = oauth_error or "oauth_token_required"
        error_type = "authentication_error" if status == 401 else "permission_error"
        super().__init__(message, status=status, error_type=error_type, code=code)
        self.oauth_error = oauth_error
        self.scope = scope


def invalid_token(why: str) -> BearerRefusal:
    return BearerRefusal(f"Jeton d'accès refusé : {why}.", 401, "invalid_token")


@dataclass(frozen=True)
class OAuthIdentity:
    """Who a valid token speaks for."""

    issuer: str
    subject: str
    client_id: str | None
    scopes: frozenset[str]
    expires_at: float


_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "jeton expiré (exp)"),
    (jwt.ImmatureSignatureError, "jeton pas encore valide (nbf)"),
    (jwt.InvalidAudienceError, "jeton émis pour une autre ressource (aud)"),
    (jwt.InvalidIssuerError, "jeton d'un autre émetteur (iss)"),
    (jwt.InvalidSignatureError, "signature invalide"),
    (jwt.DecodeError, "jeton illisible (un JWT signé est attendu)"),
)


def _reason(exc: jwt.PyJWTError) -> str:
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"revendication « {exc.claim} » absente"
    for kind, reason in _REASONS:
        if isinstance(exc, kind):
            return reason
    return "jeton invalide"


def _scopes(claims: dict[str, object]) -> frozenset[str]:
    scope, scp = claims.get("scope"), claims.get("scp")
    if isinstance(scope, str):
        return frozenset(scope.split())
    if isinstance(scp, list):
        return frozenset(s for s in scp if isinstance(s, str))
    return frozenset()


def _text(claims: dict[str, object], *names: str) -> str | None:
    for name in names:
        value = claims.get(name)
        if isinstance(value, str) and value:
            return value
    return None


class TokenVerifier:
    def __init__(self, config: OAuthConfig, audience: str, keys: IssuerKeys) -> None:
        self._config = config
        self._audience = audience
        self.keys = keys

    async def verify(self, token: str) -> OAuthIdentity:
        """The token's identity, or ``BearerRefusal`` 401 ``invalid_token`` saying why."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise invalid_token("jeton illisible (un JWT signé est attendu)") from None
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in ALGORITHMS:
            raise invalid_token(f"algorithme « {str(alg)[:20]} » refusé")
        signing = await self.keys.key(kid if isinstance(kid, str) else None)
        if signing is None:
            raise invalid_token("clé de signature inconnue de l'émetteur (kid)")
        if signing.alg is not None and signing.alg != alg:
            raise invalid_token(f"algorithme « {alg} » différent de celui de la clé")
        try:
            claims: dict[str, object] = jwt.decode(
                token,
                signing.key.key,
                algorithms=[alg],
                audience=self._audience,
                issuer=self._config.issuer,
                leeway=self._config.leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise invalid_token(_reason(exc)) from None
        client_id = _text(claims, "client_id", "azp")
        subject = _text(claims, "sub") or client_id
        if subject is None:
            raise invalid_token("ni « sub » ni « client_id » dans le jeton")
        expires = claims.get("exp")
        return OAuthIdentity(
            issuer=self._config.issuer,
            subject=subject,
            client_id=client_id,
            scopes=_scopes(claims),
            expires_at=float(expires) if isinstance(expires, int | float) else 0.0,
        )
