"""Per-client children: ``isolation = "per-client"`` gives each MCP client its own upstream.

A stateful server (Sequential Thinking's thought history, a memory kept in RAM) holds
one state per process: shared by every client, it mixes them. Here each client key (an
MCP session, else a virtual key, else the stdio user: ``Requester.client_key``) gets its
own ``UpstreamConnection``, started on its first call and closed after ``idle_timeout``
seconds without one. At most ``max_clients`` run at once: a new client closes the least
recently used idle one, and is refused (French message) when every one is busy. The
server's shared connection still runs: it lists what every client sees.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field

import anyio
from anyio.abc import TaskGroup

from hub.config import McpLimits, McpServerConfig
from hub.features.mcp_hub.connection import (
    SupervisorSettings,
    UpstreamConnection,
    UpstreamUnavailable,
)
from hub.features.mcp_hub.requesters import Requester
from hub.features.mcp_hub.status import ServerStatus

logger = logging.getLogger(__name__)

Serving = Callable[
    [UpstreamConnection, Requester | None], AbstractAsyncContextManager[UpstreamConnection]
]
"""``UpstreamHub.serving``: the connection that serves a caller (its own, or the shared one)."""


@dataclass
class _Child:
    connection: UpstreamConnection
    last_used: float
    busy: int = 0
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)


class ClientChildren:
    """The per-client connections of one upstream server; their calls and their number
    are counted in the server's shared ``status``."""

    def __init__(
        self,
        config: McpServerConfig,
        settings: SupervisorSettings,
        status: ServerStatus,
        limits: McpLimits,
    ) -> None:
        self.config = config
        self._settings = settings
        self._limits = limits
        self._status = status
        self._status.clients = 0
        self._children: dict[str, _Child] = {}
        self._group: TaskGroup | None = None

    async def run(self) -> None:
        """Own the children for the hub's lifetime; close the idle ones as time passes."""
        async with anyio.create_task_group() as group:
            self._group = group
            try:
                while True:
                    await anyio.sleep(max(self.config.idle_timeout / 4, 0.05))
                    self._reap(time.monotonic() - self.config.idle_timeout)
            finally:
                self._group = None
                group.cancel_scope.cancel()

    @asynccontextmanager
    async def serving(self, key: str) -> AsyncIterator[UpstreamConnection]:
        """The connection of client ``key`` (started if new), marked busy meanwhile."""
        child = self._children.get(key) or self._start(key)
        child.busy += 1
        own = child.connection.status
        calls, errors = own.calls, own.errors
        try:
            yield child.connection
        finally:
            child.busy -= 1
            child.last_used = time.monotonic()
            if own.calls > calls and own.latency_last_ms is not None:
                self._status.record_call(own.latency_last_ms, ok=own.errors == errors)

    def _start(self, key: str) -> _Child:
        if self._group is None:
            raise UpstreamUnavailable(f"serveur MCP « {self.config.name} » arrêté")
        if len(self._children) >= self.config.max_clients and not self._reap(None):
            raise UpstreamUnavailable(
                f"« {self.config.name} » sert déjà {self.config.max_clients} clients, "
                "tous occupés (max_clients) : réessayer dans un instant"
            )
        child = _Child(
            UpstreamConnection(self.config, self._settings, _ignore, self._limits), time.monotonic()
        )
        self._children[key] = child
        self._status.clients = len(self._children)
        self._group.start_soon(self._run_child, key, child)
        logger.info("serveur MCP %s : processus dédié au client %s", self.config.name, key[:40])
        return child

    async def _run_child(self, key: str, child: _Child) -> None:
        with child.scope:
            await child.connection.run()

    def close_all(self) -> None:
        """A restart of the server: every client starts afresh on its next call."""
        for key in list(self._children):
            self._children.pop(key).scope.cancel()
        self._status.clients = 0

    def _reap(self, before: float | None) -> bool:
        """Close the idle children last used before ``before``; None: the least recently
        used idle one. True when one was closed."""
        idle = sorted((c.last_used, k) for k, c in self._children.items() if c.busy == 0)
        chosen = [k for used, k in idle if before is not None and used < before]
        if before is None:
            chosen = [k for _, k in idle[:1]]
        for key in chosen:
            self._children.pop(key).scope.cancel()
            self._status.clients = len(self._children)
            logger.info("serveur MCP %s : processus du client %s fermé", self.config.name, key[:40])
        return bool(chosen)


def _ignore(connection: UpstreamConnection, lists_changed: bool) -> None:
    """A client's child lists what the shared connection lists: nothing to announce."""
