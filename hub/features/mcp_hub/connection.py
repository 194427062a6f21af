"""One supervised upstream MCP server: connect, watch, reconnect with backoff, forward calls.

``run()`` loops for the hub's lifetime inside the hub's task group. Each round opens a
``mcp.Client`` (stdio child or Streamable HTTP), lists what the server offers, then pings
it; any failure ends the round, empties the tool list and waits a bounded, doubling
delay. Cancelling ``run()`` closes the client, which ends a stdio child's whole process
group (the SDK's stdio transport starts it in its own session).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace

import anyio
import anyio.lowlevel
import anyio.to_thread
import httpx2
import mcp_types as types
from mcp.client import Client, Transport
from mcp.client._transport import TransportStreams
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.dispatcher import ProgressFnT
from mcp.shared.exceptions import MCPError

from hub.config import McpLimits, McpServerConfig
from hub.core.error_text import french_reason
from hub.core.jsontypes import JSONObject
from hub.core.stopwatch import waited
from hub.core.storage.database import DatabaseUnavailable
from hub.features.mcp_hub.child import ChildOutput, child_transport, exit_reason
from hub.features.mcp_hub.definitions import WireDefinitions
from hub.features.mcp_hub.envelope import on_the_wire
from hub.features.mcp_hub.forwarding import (
    PromptAnswer,
    ResourceAnswer,
    ToolAnswer,
    ToolCall,
    UpstreamClients,
    call_tool,
    get_prompt,
    is_modern,
    ping,
    read_resource,
)
from hub.features.mcp_hub.json_lines import JsonLinesAsEvents
from hub.features.mcp_hub.listing import list_everything, list_templates
from hub.features.mcp_hub.naming import accept_tools
from hub.features.mcp_hub.oauth_client import MemoryTokens, SignIn, oauth_provider
from hub.features.mcp_hub.progress import CoalescedProgress
from hub.features.mcp_hub.requesters import Requester, RequesterRoutes
from hub.features.mcp_hub.rounds import RoundBridge
from hub.features.mcp_hub.status import ServerState, ServerStatus
from hub.features.mcp_hub.stdout import MESSAGE_TOO_LARGE
from hub.features.mcp_hub.subscriptions import ResourceSubscriptions, watch_lists
from hub.features.mcp_hub.token_vault import TokenVault

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SupervisorSettings:
    init_timeout: float = 30.0
    ping_interval: float = 10.0
    ping_timeout: float = 5.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0


class UpstreamUnavailable(Exception):
    """The upstream is not connected; the message is French and safe to show."""


class UpstreamConnection:
    def __init__(
        self,
        config: McpServerConfig,
        settings: SupervisorSettings,
        on_change: Callable[[UpstreamConnection, bool], None],
        limits: McpLimits | None = None,
        vault: TokenVault | None = None,
        on_updated: Callable[[str, str], None] | None = None,
        rounds: RoundBridge | None = None,
    ) -> None:
        """``on_updated(server, uri)``: a resource clients subscribed to has changed;
        ``rounds``: where a 2026-07-28 client's call waits between its rounds when this
        upstream asks with 2025 requests (none: the client gets the upstream's fallback)."""
        self.config = config
        self._vault = vault
        self.settings = settings
        self.limits = limits or McpLimits()
        self.status = ServerStatus(config.name, "http" if config.url else "stdio")
        self.tools: list[types.Tool] = []
        self.resources: list[types.Resource] = []
        self.prompts: list[types.Prompt] = []
        self.flagged: dict[str, str] = {}  # tool -> injection excerpt of its description
        self.templates: list[types.ResourceTemplate] = []
        self.ttl_ms: dict[str, int] = {}  # per list kind, as the upstream said (listing.Lists)
        self.definitions = WireDefinitions()  # the lists above as the upstream wrote them
        self._on_change = on_change
        self._client: Client | None = None
        self._clients: UpstreamClients | None = None
        self._restart = anyio.Event()
        self._ready = anyio.Event()
        self._relist = anyio.Event()
        self._settled = anyio.Event()  # set once the first start succeeded or failed
        self.output = ChildOutput()  # stdio: the child's pid and last stderr lines
        self._exited = anyio.Event()
        self._exit_code: int | None = None
        secrets = (*config.env.values(), *config.headers.values())
        if config.oauth is not None and config.oauth.client_secret:
            secrets = (*secrets, config.oauth.client_secret)
        self._secrets = [v for v in secrets if len(v) >= 4]
        # auth = "oauth": kept across reconnections (and restarts, sealed, with a vault)
        self.tokens = MemoryTokens(self._keep_tokens if vault is not None else None)
        self.sign_in = SignIn(config.name, self._sign_in_changed)
        self._note_auth()
        self.requesters = RequesterRoutes(config.name)
        self._modern = False  # the round's upstream speaks 2026-07-28
        self._rounds = rounds
        updated = on_updated or (lambda server, uri: None)
        self.subscriptions = ResourceSubscriptions(config.name, lambda u: updated(config.name, u))

    # -- supervision ---------------------------------------------------------------

    async def run(self) -> None:
        if not self.config.enabled:
            self._settled.set()
            self._set(ServerState.DISABLED)
            return
        await self._restore_tokens()
        failures = 0
        while True:
            if self.status.state != ServerState.RESTARTING:
                self._set(ServerState.STARTING)
            started = time.monotonic()
            error = await self._round()
            if time.monotonic() - started > self.settings.backoff_max:
                failures = 0  # it ran for a good while: start the backoff over
            self._drop(error)
            if error is None:  # restart asked for: reconnect at once
                continue
            delay = min(self.settings.backoff_initial * 2**failures, self.settings.backoff_max)
            failures += 1
            with anyio.move_on_after(delay):
                await self._restart.wait()

    async def wait_settled(self) -> None:
        await self._settled.wait()

    def restart(self) -> None:
        """« redémarrage » from now on: new calls wait for the next round (bounded)
        instead of reaching the one being closed."""
        self._client, self._clients = None, None
        if self._ready.is_set():  # waiters now wait for the next round's readiness
            self._ready = anyio.Event()
        if self.status.state != ServerState.DISABLED:
            self._set(ServerState.RESTARTING)
        self._restart.set()

    async def _round_ready(self) -> None:
        """A call made while the upstream (re)starts waits for it, ``init_timeout`` at most."""
        if self._clients is None and self.status.state in (
            ServerState.STARTING,
            ServerState.RESTARTING,
        ):
            await self.wait_ready(self.settings.init_timeout)

    async def wait_ready(self, limit: float) -> bool:
        """Until a round is connected, across failed rounds (each has its own event)."""
        with anyio.move_on_after(limit):
            while self._client is None:
                await self._ready.wait()
        return self._client is not None

    async def _round(self) -> str | None:
        """One connection's life; the French reason it ended, None on a requested restart."""
        self._restart = anyio.Event()
        self._exited, self._exit_code = anyio.Event(), None
        try:
            with anyio.CancelScope() as scope:
                async with anyio.create_task_group() as group:
                    group.start_soon(self._init_watchdog, scope)
                    group.start_soon(self._exit_watch)
                    async with AsyncExitStack() as stack:
                        client = await stack.enter_async_context(self._new_client("auto"))
                        self._modern = is_modern(client)
                        clients = UpstreamClients(client)
                        if self._modern and self.status.transport == "http":
                            clients.legacy = await self._legacy_session(stack)
                            if clients.legacy is not None:
                                group.start_soon(self._pinger, clients.legacy)
                        await self._list_all(client, clients)
                        await self.subscriptions.attach(clients)
                        self._client, self._clients = client, clients
                        self._note_auth()
                        self._ready.set()
                        group.start_soon(self._pinger, client)
                        group.start_soon(self._relister, client, clients)
                        if self._modern:
                            interval = self.settings.ping_interval
                            group.start_soon(
                                watch_lists, client, self._relist_soon, interval, self.subscriptions
                            )
                        await self._restart.wait()
                        group.cancel_scope.cancel()
            if scope.cancelled_caught and not self._restart.is_set():
                reason = f"pas de réponse à l'initialisation après {self.settings.init_timeout:g} s"
                if self.output.stderr:
                    reason += f" ; stderr : {self._scrub(self.output.stderr[-1])}"
                logger.warning("serveur MCP %s : %s", self.config.name, reason)
                return reason
            return None
        except Exception as exc:  # any upstream fault ends the round; the hub keeps serving
            reason = await self._exit_reason() or self._describe(exc)
            logger.warning("serveur MCP %s : %s", self.config.name, reason)
            logger.debug("serveur MCP %s : détail", self.config.name, exc_info=True)
            return reason
        finally:
            self._client, self._clients = None, None
            self.subscriptions.detach()
            self._modern = False

    async def _legacy_session(self, stack: AsyncExitStack) -> Client | None:
        """A 2025-era session beside the 2026 one, for older clients; a server that speaks
        2026-07-28 only refuses it (400), and its older clients then go through the 2026
        session."""
        try:
            return await stack.enter_async_context(self._new_client("legacy"))
        except Exception as exc:  # the 2026 session stands: the round goes on without it
            logger.info(
                "serveur MCP %s : pas de session 2025-11-25 (%s) ; la session 2026 sert tous "
                "les clients",
                self.config.name,
                self._describe(exc),
            )
            logger.debug("serveur MCP %s : détail", self.config.name, exc_info=True)
            return None

    def _new_client(self, mode: str) -> Client:
        """A client of this upstream whose server-to-client traffic goes to the caller."""
        modern_wire = (lambda: self._modern) if mode == "auto" else (lambda: False)
        # the lists shown to clients are the main session's: so are their definitions
        definitions = self.definitions if mode == "auto" else None
        return Client(
            self._transport(modern_wire, definitions),
            mode=mode,
            cache=None,
            message_handler=self._on_message,
            sampling_callback=self.requesters.sampling,
            elicitation_callback=self.requesters.elicitation,
            list_roots_callback=self.requesters.roots,
            logging_callback=self.requesters.logging,
        )

    def _child_exited(self, code: int) -> None:
        self._exit_code = code
        self._exited.set()

    async def _exit_watch(self) -> None:
        """A stdio child that exits ends the round at once (not at the next ping)."""
        await self._exited.wait()
        raise UpstreamUnavailable("processus arrêté")

    async def _exit_reason(self) -> str | None:
        """Why a stdio child's round ended, if its process exited: code, signal, stderr."""
        if self.status.transport != "stdio":
            return None
        with anyio.move_on_after(0.5):  # stdout may close a poll period before the exit code
            await self._exited.wait()
        if self._exit_code is None:
            return None
        last = self._scrub(self.output.stderr[-1]) if self.output.stderr else None
        return exit_reason(self._exit_code, last)

    async def _init_watchdog(self, scope: anyio.CancelScope) -> None:
        """A slow start is cut after ``init_timeout``, unless a person is signing in."""
        while True:
            with anyio.move_on_after(self.settings.init_timeout):
                await self._restart.wait()  # a restart asked during a slow start cuts it short
            if self._ready.is_set() or self._restart.is_set() or not self.sign_in.pending:
                break
        if not self._ready.is_set():
            scope.cancel()

    async def _pinger(self, client: Client) -> None:
        while True:
            await anyio.sleep(self.settings.ping_interval)
            try:
                with anyio.fail_after(self.settings.ping_timeout):
                    await ping(client)
                if self.status.state == ServerState.DEGRADED and not self.status.warnings:
                    self._set(ServerState.READY)  # answering again after a slow call
            except TimeoutError:
                raise UpstreamUnavailable(
                    f"ne répond plus au ping ({self.settings.ping_timeout:g} s)"
                ) from None

    async def _relister(self, client: Client, clients: UpstreamClients) -> None:
        while True:
            await self._relist.wait()
            self._relist = anyio.Event()
            await self._list_all(client, clients)

    def _relist_soon(self) -> None:
        self._relist.set()

    async def _on_message(self, message: object) -> None:
        if isinstance(message, types.ServerNotification) and isinstance(
            message,
            types.ToolListChangedNotification
            | types.PromptListChangedNotification
            | types.ResourceListChangedNotification,
        ):
            self._relist.set()
        elif isinstance(message, types.ResourceUpdatedNotification):
            self.subscriptions.updated(message.params.uri)

    async def _list_all(self, client: Client, clients: UpstreamClients) -> None:
        with anyio.fail_after(self.settings.init_timeout):
            tools, resources, prompts, ttl = await list_everything(client)
            templates = await list_templates(client, ttl)
            if clients.legacy is not None:
                legacy_tools = (await list_everything(clients.legacy)).tools
                clients.legacy_tools = frozenset(t.name for t in legacy_tools)
        # schema checks of a long list would hold the event loop
        accepted = await anyio.to_thread.run_sync(accept_tools, self.config, tools, self.limits)
        self.tools, self.resources, self.prompts = accepted.tools, resources, prompts
        self.templates = templates
        self.ttl_ms = ttl
        self.flagged = accepted.flagged
        self.status.tool_count = len(accepted.tools)
        self.status.warnings = accepted.warnings
        self.status.state = ServerState.DEGRADED if accepted.warnings else ServerState.READY
        self._settled.set()
        self._on_change(self, True)

    @asynccontextmanager
    async def _transport(
        self, modern: Callable[[], bool], definitions: WireDefinitions | None
    ) -> AsyncIterator[TransportStreams]:
        """stdio child or HTTP; requests leave with their caller's envelope."""
        inner: Transport
        if self.config.command and not self.config.url:
            inner = child_transport(self.config, self.output, self._child_exited, self.limits)
        else:
            inner = self._http_transport()
        async with inner as streams:
            yield on_the_wire(streams, self.requesters, modern, definitions)

    @asynccontextmanager
    async def _http_transport(self) -> AsyncIterator[TransportStreams]:
        """The SDK leaves a caller's httpx client open: this one is closed with the round."""
        assert self.config.url is not None
        if self.config.transport == "sse":  # legacy HTTP+SSE (2024-11-05 servers)
            async with sse_client(self.config.url, headers=dict(self.config.headers)) as streams:
                yield streams
            return
        timeout = httpx2.Timeout(30, read=300)
        auth = oauth_provider(self.config, self.tokens, self.sign_in)
        transport = JsonLinesAsEvents(httpx2.AsyncHTTPTransport())
        async with httpx2.AsyncClient(
            headers=self.config.headers, timeout=timeout, auth=auth, transport=transport
        ) as http:
            # no closing DELETE: a round ends cancelled, where it never left anyway, and
            # with auth = "oauth" that cancellation landed in the SDK's OAuth flow, which
            # chained a CancelledError to itself: anyio's task group then looped on the
            # chain at 100 % CPU and the hub never stopped. The upstream expires the session.
            try:
                async with streamable_http_client(
                    self.config.url, http_client=http, terminate_on_close=False
                ) as streams:
                    yield streams
            finally:
                self._note_auth()

    def _note_auth(self) -> None:
        if self.config.oauth is not None:
            self.status.auth = self.tokens.state(self.config.oauth.client_id)
            self.status.authorization_url = self.sign_in.url

    async def _restore_tokens(self) -> None:
        oauth = self.config.oauth
        if self._vault is None or oauth is None or oauth.grant == "client_credentials":
            return
        try:
            if await self._vault.restore(self.config.name, self.tokens, oauth.issuer):
                self._note_auth()
        except DatabaseUnavailable as exc:
            logger.warning("serveur MCP %s : jetons OAuth non relus (%s)", self.config.name, exc)

    async def _keep_tokens(self, tokens: MemoryTokens) -> None:
        assert self._vault is not None
        try:
            await self._vault.keep(self.config.name, tokens)
        except DatabaseUnavailable as exc:  # signed in all the same: kept in memory
            logger.warning(
                "serveur MCP %s : jetons OAuth non enregistrés (%s)", self.config.name, exc
            )

    def _sign_in_changed(self) -> None:
        self._note_auth()
        self._on_change(self, False)

    def _drop(self, error: str | None) -> None:
        self._ready.set()  # wakes wait_ready() callers, who then wait on the next round's event
        self._ready = anyio.Event()
        had_lists = bool(self.tools or self.resources or self.prompts)
        self.tools, self.resources, self.prompts, self.templates = [], [], [], []
        self.ttl_ms = {}
        self.definitions.clear()
        self.flagged = {}
        self.status.tool_count = 0
        self.status.restarts += 1
        if error:
            self.status.state = ServerState.DOWN
        elif self.status.state != ServerState.RESTARTING:
            self.status.state = ServerState.STARTING
        if error:  # kept after the restart: the dashboard shows why it went down
            self.status.failed(error, self._exit_code, [self._scrub(s) for s in self.output.stderr])
            self._settled.set()
        self._on_change(self, had_lists)

    def _set(self, state: ServerState) -> None:
        self.status.state = state
        self._on_change(self, False)

    def _describe(self, exc: BaseException) -> str:
        while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
            exc = exc.exceptions[0]
        return self._scrub(french_reason(exc))[:500]

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    # -- forwarding ----------------------------------------------------------------

    async def call_tool(
        self,
        name: str,
        arguments: JSONObject | None,
        progress: ProgressFnT | None = None,
        caller: Requester | None = None,
        request: types.CallToolRequestParams | None = None,
    ) -> ToolAnswer:
        """Forward one call for ``caller``; a stale HTTP session gets one fresh initialize
        and one retry. ``request``: the client's own, passed on unaltered where it matters
        (a 2026-07-28 retry's ``inputResponses`` and ``requestState``, a 2025 ``task``)."""
        await self._round_ready()
        rounds = self._rounds
        if rounds is not None and caller is not None and caller.modern:
            if request is not None and request.request_state and rounds.owns(request.request_state):
                answers = {
                    key: answer.model_dump(by_alias=True, mode="json", exclude_none=True)
                    for key, answer in (request.input_responses or {}).items()
                }
                return await rounds.resume(request.request_state, answers, progress)
            asked_by_request = not is_modern(self.clients().for_caller(caller, name))
            if asked_by_request and rounds.available and not (request and request.task):

                async def run(inputs: Requester, relay: ProgressFnT) -> ToolAnswer:
                    return await self.call_tool(name, arguments, relay, inputs)

                return await rounds.start(run, caller, progress)
        started = time.perf_counter()
        ok = False
        call = ToolCall(name, arguments, progress, caller, request)
        try:
            with self.requesters.serving(caller):
                try:
                    result = await self._call_once(call)
                except MCPError as exc:
                    if exc.error.code == MESSAGE_TOO_LARGE:  # the server is fine, not this answer
                        return error_result(exc.error.message)
                    if (
                        self.status.transport == "stdio"
                        and exc.error.code == types.CONNECTION_CLOSED
                    ):
                        self.restart()  # the child died: don't wait for the next ping to notice
                        raise UpstreamUnavailable(f"« {self.config.name} » s'est arrêté") from None
                    if not await self._session_lost():
                        raise
                    result = await self._call_once(call)
            ok = not (isinstance(result, types.CallToolResult) and result.is_error)
            return result
        finally:
            elapsed = time.perf_counter() - started
            self.status.record_call(elapsed * 1000, ok=ok)
            waited(elapsed)  # the caller's stopwatch: the upstream's time, not the hub's

    async def _session_lost(self) -> bool:
        """After a protocol error from an HTTP upstream: if it no longer knows our session
        (404 per the spec, 400 from some servers after they restart), initialize afresh."""
        old = self._client
        if self.status.transport != "http" or old is None:
            return False
        try:
            with anyio.fail_after(self.settings.ping_timeout):
                await ping(old)
            return False  # the session is fine: the error was the call's own
        except (MCPError, TimeoutError):
            self.restart()
        with anyio.move_on_after(self.settings.init_timeout):
            while True:
                if self._client is not None and self._client is not old:
                    return True
                await anyio.sleep(0.02)
        raise UpstreamUnavailable("session expirée et reconnexion impossible")

    async def _call_once(self, call: ToolCall) -> ToolAnswer:
        clients = self.clients()
        timeout = self.config.call_timeout
        name = call.name
        if call.progress is not None:
            relay = CoalescedProgress(call.progress, self.limits.progress_interval)
            call = replace(call, progress=relay)
        try:
            with anyio.fail_after(timeout):
                result = await call_tool(clients, call)
                if isinstance(call.progress, CoalescedProgress):
                    await call.progress.flush()  # the newest value goes out before the result
                return result
        except TimeoutError:
            self.status.last_error = f"délai dépassé sur « {name[:100]} » ({timeout:g} s)"
            if self.status.state == ServerState.READY:
                self._set(ServerState.DEGRADED)
            return error_result(
                f"Délai dépassé : « {name} » sur « {self.config.name} » "
                f"n'a pas répondu en {timeout:g} s."
            )

    async def get_prompt(
        self, params: types.GetPromptRequestParams, caller: Requester | None = None
    ) -> PromptAnswer:
        await self._round_ready()
        clients = self.clients()
        with self.requesters.serving(caller), anyio.fail_after(self.config.call_timeout):
            return await get_prompt(clients, params, caller)

    async def read_resource(
        self, params: types.ReadResourceRequestParams, caller: Requester | None = None
    ) -> ResourceAnswer:
        await self._round_ready()
        clients = self.clients()
        with self.requesters.serving(caller), anyio.fail_after(self.config.call_timeout):
            return await read_resource(clients, params, caller)

    def clients(self) -> UpstreamClients:
        """This round's sessions (a 2025-era one beside a 2026-07-28 one on HTTP)."""
        if self._clients is None:
            self.connected()  # raises UpstreamUnavailable
            raise UpstreamUnavailable(f"serveur MCP « {self.config.name} » indisponible")
        return self._clients

    def connected(self) -> Client:
        if self._client is None:
            name = self.config.name
            if self.sign_in.pending:  # what the caller's person can do about it
                raise UpstreamUnavailable(
                    f"serveur MCP « {name} » : connexion requise (bouton « Connecter » du "
                    "tableau de bord du hub)"
                )
            state = self.status.state.value
            raise UpstreamUnavailable(f"serveur MCP « {name} » indisponible ({state})")
        return self._client


def error_result(message: str) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=message)], is_error=True
    )
