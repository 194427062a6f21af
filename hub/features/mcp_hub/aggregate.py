"""What an aggregate endpoint (``/mcp``, a profile) shows of its upstreams besides tools.

Prompts follow the profile's naming rule, as tools do (``server__prompt``, or the bare
name when ``prefix = "on_collision"`` and no other selected server has it). Resources and
resource templates keep their URIs (clients follow them): a URI belongs to the server
that lists it, else to the first whose template matches it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import mcp_types as types
from mcp.shared.uri_template import InvalidUriTemplate, UriTemplate

from hub.features.mcp_hub.connection import UpstreamConnection
from hub.features.mcp_hub.naming import prefixed


@dataclass(frozen=True)
class PromptEntry:
    prompt: types.Prompt  # as the endpoint shows it (name possibly prefixed)
    server: str
    upstream_name: str


def prompt_entries(
    connections: Mapping[str, UpstreamConnection], servers: Collection[str], prefix: str
) -> dict[str, PromptEntry]:
    pairs = [(s, p) for s in servers if s in connections for p in connections[s].prompts]
    taken = Counter(prompt.name for _, prompt in pairs)
    entries: dict[str, PromptEntry] = {}
    for server, prompt in pairs:
        name = prefixed(server, prompt.name)
        if prefix == "on_collision" and taken[prompt.name] == 1:
            name = prompt.name
        shown = prompt.model_copy(update={"name": name})
        entries.setdefault(name, PromptEntry(shown, server, prompt.name))
    return entries


def _matches(template: types.ResourceTemplate, uri: str) -> bool:
    try:
        return UriTemplate.parse(template.uri_template).match(uri) is not None
    except InvalidUriTemplate:
        return False


def uri_owner(
    connections: Mapping[str, UpstreamConnection], servers: Collection[str], uri: str
) -> UpstreamConnection | None:
    selected = [connections[s] for s in servers if s in connections]
    for connection in selected:
        if any(str(r.uri) == uri for r in connection.resources):
            return connection
    for connection in selected:
        if any(_matches(t, uri) for t in connection.templates):
            return connection
    return None


def template_owner(
    connections: Mapping[str, UpstreamConnection], servers: Collection[str], template: str
) -> UpstreamConnection | None:
    """The server that lists ``template`` (a completion's resource reference)."""
    for server in servers:
        connection = connections.get(server)
        if connection and any(t.uri_template == template for t in connection.templates):
            return connection
    return None
