"""Resource updates on one endpoint: who subscribed to what, and delivering what changed.

A 2025-era client subscribes with ``resources/subscribe`` and hears
``notifications/resources/updated`` on its standalone stream; a 2026-07-28 client names
the URIs in ``subscriptions/listen`` and hears them on that stream (the endpoint's bus).
Both hold the owning upstream's subscription (``ResourceSubscriptions``, counted) for as
long as they listen, whatever era that upstream speaks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio
import mcp_types as types
from mcp.server.subscriptions import ListenHandler, ResourceUpdated, SubscriptionBus
from mcp.shared.exceptions import MCPError

from hub.api.mcp.common import NOTIFY_TIMEOUT, STDIO_SESSION, Ctx, Sessions, remember
from hub.features.mcp_hub.connection import UpstreamConnection

Owner = Callable[[str], UpstreamConnection | None]
MAX_LISTENED_URIS = 100  # per listen stream: each one holds an upstream subscription
logger = logging.getLogger(__name__)


def _session_id(ctx: Ctx) -> str | None:
    headers = getattr(ctx.request, "headers", None)
    return STDIO_SESSION if headers is None else headers.get("mcp-session-id")


class ResourceSubscribers:
    def __init__(self, sessions: Sessions, bus: SubscriptionBus, owner: Owner) -> None:
        self._sessions = sessions
        self._bus = bus
        self._owner = owner
        self._held: dict[str, set[str]] = {}  # URI -> MCP session ids (2025-era clients)
        self.listen = _ListenRelay(bus, owner)

    def _owning(self, uri: str) -> UpstreamConnection:
        owner = self._owner(uri)
        if owner is None:
            raise MCPError(types.INVALID_PARAMS, f"Ressource inconnue : {uri[:200]}")
        return owner

    async def subscribe(self, ctx: Ctx, params: types.SubscribeRequestParams) -> types.EmptyResult:
        owner, session = self._owning(params.uri), _session_id(ctx)
        if session is None:  # no standalone stream to hear the updates on
            raise MCPError(types.INVALID_REQUEST, "Abonnement impossible sans session MCP.")
        remember(self._sessions, ctx)
        holders = self._held.setdefault(params.uri, set())
        if session not in holders:
            await owner.subscriptions.subscribe(params.uri)  # the upstream's refusal as it is
            holders.add(session)
        return types.EmptyResult()

    async def unsubscribe(
        self, ctx: Ctx, params: types.UnsubscribeRequestParams
    ) -> types.EmptyResult:
        owner, session = self._owning(params.uri), _session_id(ctx)
        holders = self._held.get(params.uri, set())
        if session in holders:
            holders.discard(session)
            await owner.subscriptions.unsubscribe(params.uri)
        if not holders:
            self._held.pop(params.uri, None)
        return types.EmptyResult()

    async def deliver(self, uri: str) -> None:
        """To this endpoint's subscribers of ``uri``; a gone session is unsubscribed."""
        await self._bus.publish(ResourceUpdated(uri=uri))
        for session_id in list(self._held.get(uri, ())):
            session = self._sessions.get(session_id)
            try:
                if session is None:
                    raise LookupError(session_id)
                with anyio.fail_after(NOTIFY_TIMEOUT):
                    await session.send_resource_updated(uri)
            except Exception:  # a gone or stuck client must not take the others with it
                logger.debug("mise à jour de %s non remise (%s)", uri, session_id, exc_info=True)
                self._held[uri].discard(session_id)
                owner = self._owner(uri)
                if owner is not None:
                    await owner.subscriptions.unsubscribe(uri)


class _ListenRelay:
    """``subscriptions/listen`` that holds the upstream subscriptions of its URIs."""

    def __init__(self, bus: SubscriptionBus, owner: Owner) -> None:
        self._handler = ListenHandler(bus)
        self._owner = owner

    async def __call__(
        self, ctx: Ctx, params: types.SubscriptionsListenRequestParams
    ) -> types.SubscriptionsListenResult:
        uris = params.notifications.resource_subscriptions or []
        if len(uris) > MAX_LISTENED_URIS:
            raise MCPError(
                types.INVALID_PARAMS,
                f"Trop de ressources dans un même abonnement ({MAX_LISTENED_URIS} au plus).",
            )
        held: list[tuple[UpstreamConnection, str]] = []
        try:
            for uri in dict.fromkeys(uris):
                owner = self._owner(uri)
                if owner is None:  # honored and never fires, as for a server's own URIs
                    continue
                try:
                    await owner.subscriptions.subscribe(uri)
                except MCPError as exc:
                    logger.info("abonnement à %s non transmis : %s", uri, exc)
                    continue
                held.append((owner, uri))
            return await self._handler(ctx, params)
        finally:
            with anyio.CancelScope(shield=True):
                for owner, uri in held:
                    await owner.subscriptions.unsubscribe(uri)
