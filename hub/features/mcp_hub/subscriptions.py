"""What an upstream says has changed, on its ``subscriptions/listen`` stream."""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio
from mcp.client import Client
from mcp.client.subscriptions import SubscriptionLost
from mcp.shared.exceptions import MCPError

logger = logging.getLogger(__name__)


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
