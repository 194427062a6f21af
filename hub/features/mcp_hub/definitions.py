"""Tool, prompt and resource definitions as the upstream wrote them.

The hub reads an upstream's lists through the mcp SDK, whose models keep only the fields
they know, and answers its own clients through the SDK too, which sieves each answer by
the client's protocol version: a 2025-11-25 server's ``execution.taskSupport`` vanished
for 2026-07-28 clients, a vendor's field for everyone, and keys came out reordered. So
the wire is read as it passes (``WireDefinitions``, on the main session of each
upstream) and every list answer is laid back over the upstream's own definitions
(``whole``): only what the hub changed (a prefixed name, a cut description) differs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Literal

import mcp_types as types
from pydantic import BaseModel

from hub.core.jsontypes import JSON, JSONObject

Kind = Literal["tools", "prompts", "resources", "resourceTemplates"]
LISTS: dict[str, Kind] = {
    "tools/list": "tools",
    "prompts/list": "prompts",
    "resources/list": "resources",
    "resources/templates/list": "resourceTemplates",
}
KEYS: dict[Kind, str] = {  # what names a definition within its list
    "tools": "name",
    "prompts": "name",
    "resources": "uri",
    "resourceTemplates": "uriTemplate",
}
Finder = Callable[[str], JSONObject | None]  # shown name or URI -> the upstream's definition
PENDING = 64  # list requests awaiting their answer; older ones are forgotten
MAX_UNKNOWN_BYTES = 64 * 1024  # fields no schema knows, over this (JSON): not relayed


def _known(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(field.alias or name for name, field in model.model_fields.items())


KNOWN: dict[Kind, frozenset[str]] = {  # the fields the SDK's models read (any era)
    "tools": _known(types.Tool),
    "prompts": _known(types.Prompt),
    "resources": _known(types.Resource),
    "resourceTemplates": _known(types.ResourceTemplate),
}


def _bounded(item: JSONObject, kind: Kind) -> JSONObject:
    """``item`` without its unknown fields if they weigh more than ``MAX_UNKNOWN_BYTES``:
    the hub checks the size of what it knows (schemas, descriptions), not of those."""
    unknown = {k: v for k, v in item.items() if k not in KNOWN[kind]}
    if not unknown or len(json.dumps(unknown)) <= MAX_UNKNOWN_BYTES:
        return item
    return {k: v for k, v in item.items() if k not in unknown}


class WireDefinitions:
    """The definitions in one upstream session's latest list answers, by name or URI.

    A listing's first page (no cursor) replaces that kind; later pages add to it.
    """

    def __init__(self) -> None:
        self._asked: dict[types.RequestId, tuple[Kind, bool]] = {}
        self._seen: dict[Kind, dict[str, JSONObject]] = {kind: {} for kind in KEYS}

    def asked(self, message: types.JSONRPCRequest) -> None:
        kind = LISTS.get(message.method)
        if kind is None:
            return
        cursor = message.params.get("cursor") if message.params else None
        if len(self._asked) >= PENDING:  # an answer that never came
            del self._asked[next(iter(self._asked))]
        self._asked[message.id] = (kind, cursor is None)

    def answered(self, message: types.JSONRPCResponse | types.JSONRPCError) -> None:
        asked = self._asked.pop(message.id, None) if message.id is not None else None
        if asked is None or isinstance(message, types.JSONRPCError):
            return
        kind, first = asked
        items: JSON = message.result.get(kind)
        if not isinstance(items, list):
            return
        seen = {} if first else self._seen[kind]
        key = KEYS[kind]
        for item in items:
            name = item.get(key) if isinstance(item, dict) else None
            if isinstance(item, dict) and isinstance(name, str):
                seen[name] = _bounded(item, kind)
        self._seen[kind] = seen

    def get(self, kind: Kind, key: str) -> JSONObject | None:
        return self._seen[kind].get(key)

    def keys(self, kind: Kind) -> list[str]:
        return list(self._seen[kind])

    def clear(self) -> None:
        self._asked.clear()
        self._seen = {kind: {} for kind in KEYS}


def whole(shown: JSONObject, wire: JSONObject) -> JSONObject:
    """The upstream's definition, its fields in its order, with what the hub shows
    differently laid over it (a prefixed name, a cut description)."""
    merged = dict(wire)
    for field, value in shown.items():
        if merged.get(field) != value:
            merged[field] = value
    return merged


def whole_list(items: list[JSON], kind: Kind, find: Finder) -> list[JSON]:
    """A list answer's items, each upstream one whole (the hub's own as they are)."""
    key = KEYS[kind]
    relayed: list[JSON] = []
    for item in items:
        name = item.get(key) if isinstance(item, dict) else None
        wire = find(name) if isinstance(name, str) else None
        relayed.append(whole(item, wire) if isinstance(item, dict) and wire else item)
    return relayed
