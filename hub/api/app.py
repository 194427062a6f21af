"""The application factory. Every object is built here, once, inside the lifespan."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import anyio.to_thread
import httpx2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse

from hub.api import (
    dashboard,
    health,
    mcp,
    mcp_proxy,
    mcp_servers,
    openai_routes,
    rest,
    savings_routes,
    ws,
)
from hub.api.auth import ApiKeyMiddleware
from hub.api.errors import error_response, hub_error_handler
from hub.api.mcp_common import security_settings
from hub.api.state import HubState
from hub.config import HubConfig
from hub.core.errors import HubError
from hub.core.masks import MaskStore
from hub.core.savings_store import SavingsStore
from hub.core.store import Store
from hub.core.tokens import TokenCounter, load_encoding
from hub.features.mcp_hub import UpstreamHub
from hub.features.mcp_hub.servers_json import configured_servers
from hub.proxy.routing import ModelRouter, missing_key_warning
from hub.proxy.upstream import ProviderPool
from hub.services.chat import ChatService
from hub.services.events import EventBus
from hub.services.failure_log import log_failures
from hub.services.metrics import MetricRecorder
from hub.services.savings import SavingsService
from hub.services.savings_pipeline import SavingsPipeline
from hub.services.session_state import MemorySessionState
from hub.services.sessions import SessionService
from hub.services.stats import StatsService

log = logging.getLogger("hub")


@asynccontextmanager
async def open_hub(
    config: HubConfig, transport: httpx2.AsyncBaseTransport | None = None
) -> AsyncIterator[HubState]:
    """Build the hub's objects; shared by the HTTP app and the stdio MCP server."""
    encoding = await anyio.to_thread.run_sync(load_encoding)
    store = await Store.open(
        config.database.url or config.database_path, pool_size=config.database.pool_size
    )
    pool = ProviderPool(config, transport)
    bus = EventBus()
    counter = TokenCounter(encoding)
    router = ModelRouter(config)
    for provider, variable in router.missing_keys().items():
        log.warning(missing_key_warning(provider, variable))
    sessions = SessionService(store, await MemorySessionState.load(store), bus, config.sessions)
    recorder = MetricRecorder(store, bus, config.sessions, router.models)
    masks, savings_store = MaskStore(store, config.savings.mask_retention), SavingsStore(store)
    pipeline = SavingsPipeline(config.savings, router, pool, counter, savings_store)
    savings = SavingsService(config.savings, router, pipeline, masks, savings_store, bus)
    upstreams = UpstreamHub(
        configured_servers(config.mcp, os.environ), on_status=lambda s: bus.publish("mcp_status", s)
    )
    endpoints = mcp_proxy.UpstreamEndpoints(upstreams, security_settings(config.server))
    mcp_stack = AsyncExitStack()  # stops every upstream child before the store closes
    failures = asyncio.create_task(log_failures(bus, log))
    try:
        await mcp_stack.enter_async_context(sessions.running())
        await mcp_stack.enter_async_context(upstreams.running())
        await mcp_stack.enter_async_context(endpoints.running())
        yield HubState(
            config=config,
            store=store,
            bus=bus,
            counter=counter,
            router=router,
            pool=pool,
            sessions=sessions,
            recorder=recorder,
            stats=StatsService(store, sessions, recorder, savings),
            chat=ChatService(router, pool, sessions, recorder, counter, savings),
            savings=savings,
            upstreams=upstreams,
            mcp_endpoints=endpoints,
        )
    finally:
        await mcp_stack.aclose()
        failures.cancel()
        await savings.flush()
        await recorder.flush()
        await pool.aclose()
        await store.close()


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    messages = {404: "Route introuvable.", 405: "Méthode non autorisée pour cette route."}
    message = messages.get(exc.status_code, str(exc.detail))
    return error_response(HubError(message, status=exc.status_code, code="http_error"))


def create_app(
    config: HubConfig, *, transport: httpx2.AsyncBaseTransport | None = None
) -> Starlette:
    """``transport`` lets tests inject upstream faults that are hard to cause for real."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_hub(config, transport) as hub, mcp.serve_http(app, hub):
            app.state.hub = hub
            yield

    middleware = []
    if config.server.api_key:
        middleware.append(Middleware(ApiKeyMiddleware, api_key=config.server.api_key))
    return Starlette(
        routes=[
            *health.routes,
            *openai_routes.routes,
            *rest.routes,
            *ws.routes,
            *savings_routes.routes,
            *mcp_servers.routes,
            *mcp_proxy.routes,  # /mcp/NAME: listed before the hub's own /mcp endpoint
            *mcp.routes,
            *dashboard.routes,
        ],
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={HubError: hub_error_handler, HTTPException: _http_error},
    )
