"""Who is calling: the admin key, a virtual key, the local stdio user, or an open hub.

Every door (HTTP routes, the MCP endpoints, ``kimi-proxy mcp``) knows its caller and hands
it down: the tool gate applies the key's rules, the audit records who it was, and the
hub's own tools act for that caller only. ``local`` is a request to a hub without
``[server].api_key`` (loopback only): nobody proved anything, and everything is open to it,
as it is to the admin key and to the user who started ``kimi-proxy mcp`` themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hub.core.jsontypes import JSONObject
from hub.core.storage.keys import KeyRecord

CallerKind = Literal["admin", "key", "stdio", "local"]
CALLER_KINDS: tuple[CallerKind, ...] = ("admin", "key", "stdio", "local")


@dataclass(frozen=True)
class Caller:
    kind: CallerKind
    key: KeyRecord | None = None  # set when ``kind == "key"``

    @property
    def key_id(self) -> str | None:
        return self.key.id if self.key is not None else None

    @property
    def is_admin(self) -> bool:
        """Whole-hub power: anything but a virtual key."""
        return self.kind != "key"

    def to_json(self) -> JSONObject:
        return {"kind": self.kind, "key_id": self.key_id}


ADMIN = Caller("admin")
STDIO = Caller("stdio")
LOCAL = Caller("local")


def key_caller(key: KeyRecord) -> Caller:
    return Caller("key", key)
