"""Who makes a call, as every door hands it down: the admin, a virtual key, an OAuth
subject, the local user.

Every door (HTTP routes, the MCP endpoints, ``kimi-proxy mcp``) knows its caller and hands
it down: the tool gate applies the key's rules, the audit records who it was, and the
hub's own tools act for that caller only. The admin key, an open hub (``local``: no
``[server].api_key``, loopback only) and the ``stdio`` user of ``kimi-proxy mcp`` may do
everything. A virtual key sees and changes only its own sessions; statistics over every
key need the admin. An OAuth subject (a valid JWT, hub/services/access/oauth_resource.py)
is a key-like caller: ``key`` is its principal, and it also says who and which client,
with which scopes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hub.core.errors import HubError
from hub.core.jsontypes import JSONObject
from hub.core.storage.keys import KeyRecord

CallerKind = Literal["admin", "key", "oauth", "stdio", "local"]
CALLER_KINDS: tuple[CallerKind, ...] = ("admin", "key", "oauth", "stdio", "local")


@dataclass(frozen=True)
class Caller:
    kind: CallerKind
    key: KeyRecord | None = None  # set for kinds "key" and "oauth" (its principal)
    subject: str | None = None  # kind "oauth": the token's sub (or client_id)
    client_id: str | None = None  # kind "oauth": the token's client_id / azp
    scopes: frozenset[str] = frozenset()  # kind "oauth": the token's scopes

    @property
    def key_id(self) -> str | None:
        return self.key.id if self.key is not None else None

    @property
    def admin(self) -> bool:
        """Whole-hub power: anything but a virtual key or an OAuth subject."""
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

    def to_json(self) -> JSONObject:
        return {"kind": self.kind, "key_id": self.key_id}


ADMIN = Caller("admin")
STDIO = Caller("stdio")
LOCAL = Caller("local")


def key_caller(key: KeyRecord) -> Caller:
    return Caller("key", key)


def oauth_caller(
    key: KeyRecord, subject: str, client_id: str | None, scopes: frozenset[str]
) -> Caller:
    return Caller("oauth", key, subject, client_id, scopes)
