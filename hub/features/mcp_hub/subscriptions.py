"""What an upstream says has changed: its lists, and the resources clients subscribed to.

Downstream clients subscribe to resources on the hub's endpoints; one upstream
subscription per URI serves them all (counted, dropped with the last subscriber,
renewed on each new round). A 2025-era session subscribes with ``resources/subscribe``;
a 2026-07-28-only upstream has no such request: its ``subscriptions/listen`` stream
carries the URIs, and is reopened when they change. Either way, an update reaches
``updated(uri)`` and from there every endpoint that shows the resource, in each
client's era (the hub translates when the two differ).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import NamedTuple

import anyio
from mcp.client import Client
from mcp.client.subscriptions import SubscriptionLost
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import ResourceUpdated

from hub.features.mcp_hub.forwarding import UpstreamClients

logger = logging.getLogger(__name__)


class ResourceSubscriptions:
    """The URIs one upstream connection is subscribed to for its downstream clients."""

    def __init__(self, server: str, updated: Callable[[str], None]) -> None:
        self._server = server
        self.updated = updated
        self._counts: Counter[str] = Counter()
        self._clients: UpstreamClients | None = None
        self.renewed = anyio.Event()  # set when the URIs change: a listen stream reopens

    @property
    def uris(self) -> list[str]:
        return sorted(self._counts)

    async def attach(self, clients: UpstreamClients) -> None:
        """A new round: its 2025-era session subscribes again to every URI still wanted
        (a listen stream takes them when it opens)."""
        self._clients = clients
        classic = clients.classic
        if classic is None:
            return
        for uri in self.uris:
            try:
                await classic.session.subscribe_resource(uri)
            except MCPError as exc:
                logger.info("serveur MCP %s : abonnement %s refusé (%s)", self._server, uri, exc)

    def detach(self) -> None:
        self._clients = None

    async def subscribe(self, uri: str) -> None:
        """Raises the upstream's refusal (MCPError), counting nothing then."""
        self._counts[uri] += 1
        if self._counts[uri] > 1:
            return
        try:
            await self._tell(uri, subscribe=True)
        except BaseException:
            del self._counts[uri]
            raise

    async def unsubscribe(self, uri: str) -> None:
        if uri not in self._counts:
            return
        self._counts[uri] -= 1
        if self._counts[uri] > 0:
            return
        del self._counts[uri]
        try:
            await self._tell(uri, subscribe=False)
        except MCPError as exc:  # the subscriber is gone either way
            logger.info("serveur MCP %s : désabonnement %s refusé (%s)", self._server, uri, exc)

    async def _tell(self, uri: str, *, subscribe: bool) -> None:
        if self._clients is None:
            return  # between rounds: the next one subscribes (attach)
        classic = self._clients.classic
        if classic is None:
            renewed, self.renewed = self.renewed, anyio.Event()
            renewed.set()
        elif subscribe:
            await classic.session.subscribe_resource(uri)
        else:
            await classic.session.unsubscribe_resource(uri)


async def watch_lists(
    client: Client,
    changed: Callable[[], None],
    retry: float,
    resources: ResourceSubscriptions | None = None,
) -> None:
    """2026-07-28 upstreams announce changes on a ``subscriptions/listen`` stream (there
    is no standalone stream): ``changed()`` on each list event, ``resources.updated(uri)``
    on each subscribed resource's. The stream is reopened ``retry`` s after it ends (each
    reopening relists: events are not replayed), and at once when the URIs change."""
    capabilities = client.server_capabilities
    lists = _Lists(
        tools=bool(capabilities.tools and capabilities.tools.list_changed),
        prompts=bool(capabilities.prompts and capabilities.prompts.list_changed),
        resources=bool(capabilities.resources and capabilities.resources.list_changed),
    )
    if not (capabilities.resources and capabilities.resources.subscribe):
        resources = None
    if not (lists.any or resources):
        return
    relist = False
    while True:
        renewed = resources.renewed if resources is not None else anyio.Event()
        uris = resources.uris if resources is not None else []
        if not (lists.any or uris):
            await renewed.wait()  # nothing to listen for until a client subscribes
            continue
        async with anyio.create_task_group() as group:
            group.start_soon(_cancel_when, renewed, group.cancel_scope)
            if await _listen_once(client, lists, uris, changed, resources, relist):
                relist = False
            group.cancel_scope.cancel()
        if not renewed.is_set():  # the stream ended: events may have been lost
            relist = True
            with anyio.move_on_after(retry):
                await renewed.wait()


class _Lists(NamedTuple):
    tools: bool
    prompts: bool
    resources: bool

    @property
    def any(self) -> bool:
        return self.tools or self.prompts or self.resources


async def _listen_once(
    client: Client,
    lists: _Lists,
    uris: list[str],
    changed: Callable[[], None],
    resources: ResourceSubscriptions | None,
    relist: bool,
) -> bool:
    """One listen stream, until it ends; whether it was opened."""
    try:
        async with client.listen(
            tools_list_changed=lists.tools,
            prompts_list_changed=lists.prompts,
            resources_list_changed=lists.resources,
            resource_subscriptions=uris,
        ) as subscription:
            if relist:
                changed()
            async for event in subscription:
                if isinstance(event, ResourceUpdated) and resources is not None:
                    resources.updated(event.uri)
                else:
                    changed()
        return True
    except (MCPError, SubscriptionLost, TimeoutError):
        logger.debug("subscriptions/listen interrompu", exc_info=True)
        return False


async def _cancel_when(event: anyio.Event, scope: anyio.CancelScope) -> None:
    await event.wait()
    scope.cancel()
