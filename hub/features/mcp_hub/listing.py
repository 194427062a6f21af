"""Everything an upstream offers, every page of it."""

from __future__ import annotations

import logging
from typing import NamedTuple

import mcp_types as types
from mcp.client import Client
from mcp.shared.exceptions import MCPError

logger = logging.getLogger(__name__)
MAX_PAGES = 100  # an upstream whose pagination never ends cannot hang the listing


class Lists(NamedTuple):
    tools: list[types.Tool]
    resources: list[types.Resource]
    prompts: list[types.Prompt]
    # how long (ms) a client may keep each list, as the upstream said (2026-07-28
    # ``ttlMs``, the shortest over pages; 0 from older servers): the hub never says longer
    ttl_ms: dict[str, int]


def _shortest(ttl: dict[str, int], kind: str, page: types.CacheableResult) -> None:
    ttl[kind] = min(ttl.get(kind, page.ttl_ms), page.ttl_ms)


async def list_everything(client: Client) -> Lists:
    """Tools, resources and prompts, each only if the server declared the capability."""
    capabilities = client.server_capabilities
    tools: list[types.Tool] = []
    resources: list[types.Resource] = []
    prompts: list[types.Prompt] = []
    ttl: dict[str, int] = {}
    cursor: str | None = None
    for _ in range(MAX_PAGES if capabilities.tools else 0):
        tool_page = await client.list_tools(cursor=cursor)
        tools += tool_page.tools
        _shortest(ttl, "tools", tool_page)
        if not (cursor := tool_page.next_cursor):
            break
    cursor = None
    for _ in range(MAX_PAGES if capabilities.resources else 0):
        resource_page = await client.list_resources(cursor=cursor)
        resources += resource_page.resources
        _shortest(ttl, "resources", resource_page)
        if not (cursor := resource_page.next_cursor):
            break
    cursor = None
    for _ in range(MAX_PAGES if capabilities.prompts else 0):
        prompt_page = await client.list_prompts(cursor=cursor)
        prompts += prompt_page.prompts
        _shortest(ttl, "prompts", prompt_page)
        if not (cursor := prompt_page.next_cursor):
            break
    return Lists(tools, resources, prompts, ttl)


async def list_templates(client: Client, ttl: dict[str, int]) -> list[types.ResourceTemplate]:
    """Every page of the upstream's resource templates (none without ``resources``, nor
    from a server that lists resources but answers templates with "method not found");
    their ``ttlMs`` goes in ``ttl["templates"]``."""
    templates: list[types.ResourceTemplate] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES if client.server_capabilities.resources else 0):
        try:
            page = await client.list_resource_templates(cursor=cursor)
        except MCPError as exc:
            if exc.error.code != types.METHOD_NOT_FOUND:
                raise
            return templates
        templates += page.resource_templates
        _shortest(ttl, "templates", page)
        if not (cursor := page.next_cursor):
            break
    return templates
