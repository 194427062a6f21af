"""Everything an upstream offers, every page of it."""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio
import mcp_types as types
from mcp.client import Client
from mcp.client.subscriptions import SubscriptionLost
from mcp.shared.exceptions import MCPError

logger = logging.getLogger(__name__)
MAX_PAGES = 100  # an upstream whose pagination never ends cannot hang the listing


async def list_everything(
    client: Client,
) -> tuple[list[types.Tool], list[types.Resource], list[types.Prompt]]:
    """Tools, resources and prompts, each only if the server declared the capability."""
    capabilities = client.server_capabilities
    tools: list[types.Tool] = []
    resources: list[types.Resource] = []
    prompts: list[types.Prompt] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES if capabilities.tools else 0):
        tool_page = await client.list_tools(cursor=cursor)
        tools += tool_page.tools
        if not (cursor := tool_page.next_cursor):
            break
    cursor = None
    for _ in range(MAX_PAGES if capabilities.resources else 0):
        resource_page = await client.list_resources(cursor=cursor)
        resources += resource_page.resources
        if not (cursor := resource_page.next_cursor):
            break
    cursor = None
    for _ in range(MAX_PAGES if capabilities.prompts else 0):
        prompt_page = await client.list_prompts(cursor=cursor)
        prompts += prompt_page.prompts
        if not (cursor := prompt_page.next_cursor):
            break
    return tools, resources, prompts


async def list_templates(client: Client) -> list[types.ResourceTemplate]:
    """Every page of the upstream's resource templates (none without ``resources``, nor
    from a server that lists resources but answers templates with "method not found")."""
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
        if not (cursor := page.next_cursor):
            break
    return templates


async def watch_lists(client: Client, changed: Callable[[], None], retry: float) -> None:
    """2026-07-28 upstreams announce list changes on a ``subscriptions/listen`` stream
    (there is no standalone stream): ``changed()`` on each event, the stream reopened
    ``retry`` s after it ends (each reopening relists: events are not replayed)."""
    capabilities = client.server_capabilities
    tools = bool(capabilities.tools and capabilities.tools.list_changed)
    prompts = bool(capabilities.prompts and capabilities.prompts.list_changed)
    resources = bool(capabilities.resources and capabilities.resources.list_changed)
    if not (tools or prompts or resources):
        return
    first = True
    while True:
        try:
            async with client.listen(
                tools_list_changed=tools,
                prompts_list_changed=prompts,
                resources_list_changed=resources,
            ) as subscription:
                if not first:
                    changed()
                first = False
                async for _ in subscription:
                    changed()
        except (MCPError, SubscriptionLost, TimeoutError):
            logger.debug("subscriptions/listen interrompu", exc_info=True)
        await anyio.sleep(retry)
