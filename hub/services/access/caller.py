"""Who makes a call, as every door hands it down: the admin, a virtual key, an OAuth
subject, the local user.

The admin key, an open hub (no ``[server].api_key``: loopback only) and the stdio user
of ``kimi-proxy mcp`` may do everything. A virtual key sees and changes only its own
sessions; statistics over every key need the admin. An OAuth subject (a valid JWT,
hub/services/access/oauth_resource.py) is a key-like caller: ``key_id`` is its
principal's id, and it also says who and which client, with which scopes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hub.core.errors import HubError

CallerKind = Literal["admin", "key", "oauth", "local"]


@dataclass(frozen=True)
class Caller:
    kind: CallerKind
    key_id: str | None = None  # set for kinds "key" and "oauth"
    subject: str | None = None  # kind "oauth": the token's sub (or client_id)
    client_id: str | None = None  # kind "oauth": the token's client_id / azp
    scopes: frozenset[str] = frozenset()  # kind "oauth": the token's scopes

    @property
    def admin(self) -> bool:
        return self.kind not in ("key", "oauth")

    def owns(self, key_id: str | None) -> bool:
        """May this caller see a session (or row) made under ``key_id``?"""
        return self.admin or key_id == self.key_id

    def require_admin(self, what: str) -> None:
        if not self.admin:
            raise HubError(
                f"{what} : réservé à la clé d'administration.",
                status=403,
                error_type="permission_error",
                code="admin_key_required",
            )


ADMIN = Caller("admin")
LOCAL = Caller("local")


def key_caller(key_id: str) -> Caller:
    return Caller("key", key_id)


def oauth_caller(
    key_id: str, subject: str, client_id: str | None, scopes: frozenset[str]
) -> Caller:
    return Caller("oauth", key_id, subject, client_id, scopes)
