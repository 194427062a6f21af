"""Everything an upstream offers, every page of it."""

from __future__ import annotations

import mcp_types as types
from mcp.client import Client

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
