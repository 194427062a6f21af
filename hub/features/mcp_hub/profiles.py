"""Tool profiles: which servers and tools one MCP endpoint shows, and under which names.

A profile (``[mcp.profiles.NAME]``; ``/mcp`` is ``default``) picks servers by name
pattern, then tools by allow/deny patterns matched against the hub's own tool names
and against ``server__tool`` for upstream tools. With ``prefix = "on_collision"`` an
upstream tool keeps its own name unless another selected tool has it too. The
catalogue is recomputed only when the upstream lists change (``UpstreamHub.generation``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import mcp_types as types

from hub.config import McpProfileConfig
from hub.core.jsontypes import JSONObject
from hub.features.mcp_hub.aggregate import PromptEntry, prompt_entries
from hub.features.mcp_hub.definitions import Finder, Kind
from hub.features.mcp_hub.naming import matches, prefixed, spec_name
from hub.features.mcp_hub.registry import UpstreamHub
from hub.features.mcp_hub.search import SearchIndex

DEFAULT_PROFILE = "default"


@dataclass(frozen=True)
class Entry:
    tool: types.Tool  # as this profile shows it (name possibly prefixed)
    server: str | None  # None: one of the hub's own tools
    upstream_name: str  # the name the owner knows it by


@dataclass
class Catalogue:
    entries: list[Entry]
    by_name: dict[str, Entry]
    generation: int
    _index: SearchIndex | None = field(default=None, repr=False)

    @property
    def index(self) -> SearchIndex:
        if self._index is None:
            self._index = SearchIndex([entry.tool for entry in self.entries])
        return self._index

    def tools(self) -> list[types.Tool]:
        return [entry.tool for entry in self.entries]

    def restricted_to(self, allowed: Callable[[Entry], bool]) -> Catalogue:
        """The entries a caller may use (a virtual key's tool patterns); same generation."""
        entries = [entry for entry in self.entries if allowed(entry)]
        if len(entries) == len(self.entries):
            return self  # keeps the search index already built
        return Catalogue(entries, {e.tool.name: e for e in entries}, self.generation)


def qualified(entry: Entry) -> str:
    """The name patterns match: own name, or ``server__tool`` whatever the prefix strategy."""
    return prefixed(entry.server, entry.upstream_name) if entry.server else entry.upstream_name


class Profile:
    def __init__(
        self, config: McpProfileConfig, upstreams: UpstreamHub, own: Sequence[types.Tool]
    ) -> None:
        self.config = config
        self.name = config.name
        self.upstreams = upstreams
        self._own = list(own)
        self._catalogue: Catalogue | None = None

    @property
    def search_mode(self) -> bool:
        return self.config.discovery == "search"

    def servers(self) -> list[str]:
        return [name for name in self.upstreams.connections if matches(name, self.config.servers)]

    def shows(self, server: str, qualified: str) -> bool:
        """Whether this profile's rules let an upstream tool through (``server__tool``)."""
        return matches(server, self.config.servers) and self._wanted(qualified)

    def _wanted(self, qualified: str) -> bool:
        if self.config.tools_allow and not matches(qualified, self.config.tools_allow):
            return False
        return not matches(qualified, self.config.tools_deny)

    def catalogue(self) -> Catalogue:
        generation = self.upstreams.generation
        if self._catalogue is None or self._catalogue.generation != generation:
            self._catalogue = self._build(generation)
        return self._catalogue

    def _build(self, generation: int) -> Catalogue:
        own = [tool for tool in self._own if self._wanted(tool.name)]
        upstream: list[tuple[str, types.Tool]] = []
        for server in self.servers():
            connection = self.upstreams.connections[server]
            upstream += [
                (server, t) for t in connection.tools if self._wanted(prefixed(server, t.name))
            ]
        taken = Counter([t.name for t in own] + [t.name for _, t in upstream])
        entries = [Entry(tool, None, tool.name) for tool in own]
        for server, tool in upstream:
            name = prefixed(server, tool.name)
            if self.config.prefix == "on_collision" and taken[tool.name] == 1:
                name = tool.name
            name = spec_name(name)
            entries.append(Entry(tool.model_copy(update={"name": name}), server, tool.name))
        by_name: dict[str, Entry] = {}
        for entry in entries:
            by_name.setdefault(entry.tool.name, entry)  # own tools first: they win a clash
        return Catalogue(list(by_name.values()), by_name, generation)

    def pinned(self) -> list[types.Tool]:
        """Search mode: the tools still listed directly."""
        return [
            e.tool for e in self.catalogue().entries if matches(qualified(e), self.config.pinned)
        ]

    def definitions(self, kind: Kind) -> Finder:
        """Shown name (or URI) -> the owning upstream's definition, as it wrote it."""
        connections = self.upstreams.connections
        if kind in ("resources", "resourceTemplates"):  # URIs kept: the first server listing it
            listed = [c.definitions for s in self.servers() if (c := connections.get(s))]
            return lambda uri: next((d for w in listed if (d := w.get(kind, uri))), None)
        owners: Mapping[str, Entry | PromptEntry] = (
            self.catalogue().by_name
            if kind == "tools"
            else prompt_entries(connections, self.servers(), self.config.prefix)
        )

        def find(shown: str) -> JSONObject | None:
            owner = owners.get(shown)
            if owner is None or owner.server is None or owner.server not in connections:
                return None  # one of the hub's own, or an upstream gone since
            return connections[owner.server].definitions.get(kind, owner.upstream_name)

        return find

    def result_limit(self, server: str) -> int | None:
        connection = self.upstreams.connections.get(server)
        own = connection.config.max_result_tokens if connection else None
        return own if own is not None else self.config.max_result_tokens
