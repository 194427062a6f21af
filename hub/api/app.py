"""The application factory. Every object is built here, once, inside the lifespan."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import anyio.to_thread
import httpx2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse

from hub.api.errors import error_response, hub_error_handler
from hub.api.mcp import profiles as mcp_profiles
from hub.api.mcp import proxy as mcp_proxy
from hub.api.mcp.french_errors import FrenchMcpErrors
from hub.api.middleware.auth import ApiKeyMiddleware
from hub.api.middleware.browser_guard import BrowserGuard, BrowserPolicy
from hub.api.middleware.slow_clients import BodyDeadline, deadline_state
from hub.api.routes import analytics as analytics_routes
from hub.api.routes import audit as audit_routes
from hub.api.routes import dashboard, health, mcp_servers, oauth_metadata, sign_in, ws
from hub.api.routes import keys as keys_routes
from hub.api.routes import metrics as metrics_route
from hub.api.routes import openai as openai_routes
from hub.api.routes import savings as savings_routes
from hub.api.routes import sessions as rest
from hub.api.state import HubState
from hub.config import HubConfig, McpServerConfig, audience_of, with_callbacks
from hub.core.errors import HubError
from hub.core.storage.audit import AuditStore
from hub.core.storage.bodies import BodyStore
from hub.core.storage.database import DatabaseUnavailable
from hub.core.storage.journal import Journal
from hub.core.storage.keys import KeyStore
from hub.core.storage.masks import MaskStore
from hub.core.storage.mcp_tasks import TaskHandles
from hub.core.storage.oauth_tokens import SealedTokens
from hub.core.storage.savings import SavingsStore
from hub.core.storage.store import Store, StoreOpenError
from hub.core.tokens import TokenCounter, load_encoding
from hub.features.mcp_hub import UpstreamHub
from hub.features.mcp_hub.modern_tasks import ModernTasks
from hub.features.mcp_hub.servers_json import configured_servers
from hub.features.mcp_hub.tasks import TaskRouter
from hub.features.mcp_hub.token_vault import KEY_VARIABLE, TokenVault
from hub.proxy.routing import ModelRouter, missing_key_warning
from hub.proxy.upstream import ProviderPool
from hub.services.access.budgets import LimitService
from hub.services.access.counters import Counters, MemoryCounters
from hub.services.access.keys import REVOKED_KIND, KeyService
from hub.services.access.oauth_keys import IssuerKeys
from hub.services.access.oauth_resource import ProtectedResource
from hub.services.access.oauth_tokens import TokenVerifier
from hub.services.access.tool_gate import ToolGate
from hub.services.chat.failure_log import log_failure
from hub.services.chat.service import ChatService
from hub.services.cluster.joining import joined_cluster, replica_name
from hub.services.cluster.protocol import ClusterLink
from hub.services.events import EventBus
from hub.services.recording.audit import AuditLog
from hub.services.recording.durable import DurableRows
from hub.services.recording.recorder import RequestRecorder
from hub.services.recording.row_writer import recover
from hub.services.reporting.analytics import AnalyticsService
from hub.services.reporting.prometheus import PrometheusMetrics
from hub.services.reporting.session_stats import StatsService
from hub.services.savings.pipeline import SavingsPipeline
from hub.services.savings.service import SavingsService
from hub.services.sessions.service import SessionService
from hub.services.sessions.shared import SharedSessionState
from hub.services.sessions.state import MemorySessionState, SessionState
from hub.services.telemetry import Telemetry

log = logging.getLogger("hub")
V1 = "/v1"


@asynccontextmanager
async def open_hub(
    config: HubConfig, transport: httpx2.AsyncBaseTransport | None = None
) -> AsyncIterator[HubState]:
    """Build the hub's objects; shared by the HTTP app and the stdio MCP server."""
    encoding = await anyio.to_thread.run_sync(load_encoding)
    async with AsyncExitStack() as stack:
        store = await Store.open(
            config.database.url or config.database_path, pool_size=config.database.pool_size
        )
        stack.push_async_callback(store.close)  # runs last: after every writer stopped
        await recover(store, config.database_path)
        directory, prefix = Journal.location(config.database_path)
        journal = Journal(directory, prefix)
        pool = ProviderPool(config, transport)
        stack.push_async_callback(pool.aclose)
        bus = EventBus(replica=replica_name(config.cluster))
        cluster = await stack.enter_async_context(joined_cluster(config.cluster, bus))
        counter = TokenCounter(encoding)
        telemetry = Telemetry(config.telemetry, bus.replica)
        stack.push_async_callback(telemetry.aclose)  # after the last request's span
        router = ModelRouter(config)
        for provider, variable in router.missing_keys().items():
            log.warning(missing_key_warning(provider, variable))
        local = await MemorySessionState.load(store)
        # team mode: session changes reach the other replicas' memory at once
        state: SessionState = local if cluster is None else SharedSessionState(local, cluster)
        sessions = SessionService(store, state, bus, config.sessions)
        bodies = BodyStore(store, config.logging.body_retention, pool.redactor)
        kept = bodies if config.logging.store_bodies else None
        durable = DurableRows(store) if store.db.dialect == "postgresql" else None
        recorder = RequestRecorder(
            store, bus, config.sessions, router.models, journal, bodies=kept, durable=durable
        )
        await stack.enter_async_context(recorder.running())
        masks, savings_store = MaskStore(store, config.savings.mask_retention), SavingsStore(store)
        pipeline = SavingsPipeline(config.savings, router, pool, counter, savings_store)
        savings = SavingsService(config.savings, router, pipeline, masks, savings_store, bus)
        stack.push_async_callback(savings.flush)
        servers = with_callbacks(configured_servers(config.mcp, os.environ), config.server)
        upstreams = UpstreamHub(
            servers,
            on_status=lambda s: bus.publish("mcp_status", s),
            limits=config.mcp.limits,
            vault=_token_vault(store, servers),
        )
        audit = await stack.enter_async_context(AuditLog(AuditStore(store), bus).running())
        tasks = ModernTasks(TaskRouter(upstreams, TaskHandles(store)))
        await stack.enter_async_context(tasks.running())
        await stack.enter_async_context(sessions.running())
        # Upstream MCP children stop first (before the store closes).
        await stack.enter_async_context(upstreams.running())
        keys, limits = await _open_access(stack, store, cluster, counter, config, recorder)
        metrics = PrometheusMetrics(
            upstreams, keys, limits, (router.models.keys(), config.providers.keys()), telemetry
        )
        recorder.observers.append(metrics.observe)
        recorder.observers.append(limits.row_stored)
        recorder.observers.append(functools.partial(log_failure, log))
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
            chat=ChatService(pool, sessions, recorder, counter, savings),
            savings=savings,
            analytics=AnalyticsService(store, recorder, bodies, config.logging.store_bodies),
            upstreams=upstreams,
            gate=ToolGate(upstreams, audit, bus, telemetry),
            tasks=tasks,
            audit=audit,
            keys=keys,
            limits=limits,
            metrics=metrics,
            telemetry=telemetry,
            cluster=cluster,
            oauth=await _open_oauth(stack, config),
        )


def abandon_stop(limit: float) -> None:
    """The hub was asked to stop and its parts are still closing after ``limit`` s: log
    where each task waits, then end the process. Nothing answered is lost (the journal
    holds every row not yet stored); a hub that never stops is worse (a supervisor's
    restart, a deploy, a test run wait on it forever)."""
    for task in asyncio.all_tasks():
        frames = task.get_stack(limit=12)
        where = " ← ".join(
            f"{frame.f_code.co_name} ({Path(frame.f_code.co_filename).name}:{frame.f_lineno})"
            for frame in reversed(frames)
        )
        log.error("Arrêt bloqué depuis %g s, tâche %s : %s", limit, task.get_name(), where)
    log.error("Arrêt forcé : les lignes non écrites sont dans le journal (relu au démarrage).")
    logging.shutdown()
    os._exit(70)


def _token_vault(store: Store, servers: Mapping[str, McpServerConfig]) -> TokenVault | None:
    """Sealed upstream tokens when ``KIMI_PROXY_TOKEN_KEY`` is set; a warning when a
    server signed in by a person would lose its tokens at each restart without it."""
    passphrase = os.environ.get(KEY_VARIABLE)
    if passphrase:
        return TokenVault(SealedTokens(store), passphrase)
    signed = sorted(
        name
        for name, server in servers.items()
        if server.oauth is not None and server.oauth.grant == "authorization_code"
    )
    if signed:
        log.warning(
            "Serveurs MCP %s : jetons OAuth gardés en mémoire seulement (nouvelle connexion "
            "après chaque redémarrage) ; définir %s pour les garder chiffrés.",
            ", ".join(signed),
            KEY_VARIABLE,
        )
    return None


async def _open_access(
    stack: AsyncExitStack,
    store: Store,
    cluster: ClusterLink | None,
    counter: TokenCounter,
    config: HubConfig,
    recorder: RequestRecorder,
) -> tuple[KeyService, LimitService]:
    """Virtual keys and their limits; revocations travel over the cluster link."""
    key_store = KeyStore(store)
    if cluster is None:
        keys = KeyService(key_store)
    else:
        keys = KeyService(key_store, lambda data: cluster.publish(REVOKED_KIND, data))
        cluster.on(REVOKED_KIND, keys.revoked_elsewhere)
    await stack.enter_async_context(keys.running())
    counters: Counters = MemoryCounters(key_store)
    if cluster is not None:
        counters = await stack.enter_async_context(cluster.key_counters(key_store))
    limits = LimitService(counters, counter, config.limits, keys.live, recorder.new_request_id)
    return keys, limits


async def _open_oauth(stack: AsyncExitStack, config: HubConfig) -> ProtectedResource | None:
    """``[auth.oauth]``: the issuer's keys are fetched on the first token, not at start-up."""
    if config.oauth is None:
        return None
    http = httpx2.AsyncClient(timeout=httpx2.Timeout(10.0), follow_redirects=False)
    stack.push_async_callback(http.aclose)
    audience = audience_of(config.oauth, config.server)
    verifier = TokenVerifier(config.oauth, audience, IssuerKeys(config.oauth, http))
    return ProtectedResource(config.oauth, audience, verifier)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if exc.status_code == 404 and (path == V1 or path.startswith(V1 + "/")):
        return error_response(_no_v1_prefix(request, path))
    messages = {404: "Route introuvable.", 405: "Méthode non autorisée pour cette route."}
    message = messages.get(exc.status_code, str(exc.detail))
    return error_response(HubError(message, status=exc.status_code, code="http_error"))


def _no_v1_prefix(request: Request, path: str) -> HubError:
    """Many clients default to a base URL ending in /v1; the hub's routes have none."""
    base = str(request.base_url).rstrip("/")
    route = path.removeprefix(V1) or "/"
    return HubError(
        f"Route introuvable : {path[:200]}. Le hub n'a pas de préfixe /v1 : donnez à votre "
        f"client l'URL de base {base} (sans /v1) ; cette route est alors {route[:200]}.",
        status=404,
        code="no_v1_prefix",
    )


async def _storage_error(request: Request, exc: Exception) -> JSONResponse:
    """A failing database (full disk, locked, read-only): OpenAI-shaped 503, never a bare 500."""
    log.error("Base de données en échec sur %s : %s", request.url.path, exc)
    error = HubError(
        f"Base de données indisponible : {exc}.",
        status=503,
        error_type="server_error",
        code="storage_unavailable",
    )
    return error_response(error)


def create_app(
    config: HubConfig,
    *,
    transport: httpx2.AsyncBaseTransport | None = None,
    stop_limit: float | None = None,
) -> Starlette:
    """``transport`` lets tests inject upstream faults that are hard to cause for real.
    ``stop_limit`` (the CLI's processes): seconds the closing of the hub's parts may take
    once asked to stop; past it, ``abandon_stop`` says where it hangs and ends the process."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, float]]:
        watchdog: asyncio.TimerHandle | None = None
        try:
            async with AsyncExitStack() as stack:
                try:
                    hub = await stack.enter_async_context(open_hub(config, transport))
                except StoreOpenError as exc:  # uvicorn then exits ("Application startup failed")
                    log.critical("%s", exc)
                    raise
                await stack.enter_async_context(mcp_profiles.serve_http(app, hub))
                await stack.enter_async_context(mcp_proxy.serve_http(app, hub))
                app.state.hub = hub
                yield deadline_state(config.server)  # read by uvicorn's HeaderDeadlineProtocol
                if stop_limit is not None:  # armed while the stack below closes
                    loop = asyncio.get_running_loop()
                    watchdog = loop.call_later(stop_limit, abandon_stop, stop_limit)
        finally:
            if watchdog is not None:
                watchdog.cancel()

    server = config.server
    middleware = [  # outermost first: a foreign Host/Origin is refused before any key check
        Middleware(BrowserGuard, policy=BrowserPolicy.from_config(server)),
        Middleware(BodyDeadline, timeout=server.body_timeout),
        Middleware(ApiKeyMiddleware, api_key=server.api_key, metrics_key=server.metrics_key),
        Middleware(FrenchMcpErrors),  # the MCP SDK's own English errors, in French
    ]
    return Starlette(
        routes=[
            *health.routes,
            *oauth_metadata.routes,
            *sign_in.routes,
            *openai_routes.routes,
            *rest.routes,
            *keys_routes.routes,
            *metrics_route.routes,
            *ws.routes,
            *savings_routes.routes,
            *analytics_routes.routes,
            *audit_routes.routes,
            *mcp_servers.routes,
            *mcp_proxy.routes,
            *mcp_profiles.routes,
            *dashboard.routes,
        ],
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={
            HubError: hub_error_handler,
            HTTPException: _http_error,
            sqlite3.Error: _storage_error,
            DatabaseUnavailable: _storage_error,
        },
    )
