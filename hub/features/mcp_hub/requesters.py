"""Server-to-client traffic of an upstream, routed to the client whose request caused it.

An upstream asks things of "its client" (sampling, elicitation, roots) and sends it log
lines; through the hub, that client is whichever downstream client made the call being
served. ``RequesterRoutes.serving(caller)`` marks a call: the upstream ``Client``'s callbacks
find the caller from the task's context (2026-07-28 upstreams: ``input_required`` rounds
are resolved in the calling task), else the latest call in flight (a 2025-era upstream
sends its requests on the connection, not on the call). A caller that did not declare a
capability gets the SDK's own refusal, so the upstream falls back as with such a client.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

import mcp_types as types
from mcp.client.session import ClientRequestContext

from hub.core.jsontypes import JSONObject

SamplingAnswer = types.CreateMessageResult | types.CreateMessageResultWithTools | types.ErrorData


class Requester(Protocol):
    """The downstream client one upstream call serves."""

    @property
    def capabilities(self) -> JSONObject:
        """What the client declared (wire form, as its own request carried it)."""
        ...

    @property
    def modern(self) -> bool:
        """A 2026-07-28 client: ``input_required`` results go to it as they are."""
        ...

    @property
    def log_level(self) -> types.LoggingLevel | None: ...

    @property
    def client_key(self) -> str:
        """Who the client is, for per-client children: its MCP session, else its key."""
        ...

    async def sample(self, params: types.CreateMessageRequestParams) -> SamplingAnswer: ...

    async def elicit(
        self, params: types.ElicitRequestParams
    ) -> types.ElicitResult | types.ErrorData: ...

    async def list_roots(self) -> types.ListRootsResult | types.ErrorData: ...

    async def log(self, params: types.LoggingMessageNotificationParams) -> None: ...


def _refusal(what: str) -> types.ErrorData:
    """The refusal of a client without the capability (the SDK's own words)."""
    return types.ErrorData(code=types.INVALID_REQUEST, message=f"{what} not supported")


def elicitation_declared(capabilities: JSONObject, mode: str) -> bool:
    declared = capabilities.get("elicitation")
    if not isinstance(declared, dict):
        return False
    if mode == "url":
        return "url" in declared
    return "form" in declared or "url" not in declared  # {} means form (2025-06-18)


class RequesterRoutes:
    """The callers of one upstream connection's calls in flight."""

    def __init__(self, name: str) -> None:
        self._current: ContextVar[Requester | None] = ContextVar(f"mcp-caller-{name}", default=None)
        self._in_flight: list[Requester] = []

    @contextmanager
    def serving(self, caller: Requester | None) -> Iterator[None]:
        token = self._current.set(caller)
        if caller is not None:
            self._in_flight.append(caller)
        try:
            yield
        finally:
            self._current.reset(token)
            if caller is not None:
                self._in_flight.remove(caller)

    def in_context(self) -> Requester | None:
        """The caller of the call this task is making, if any."""
        return self._current.get()

    def current(self) -> Requester | None:
        """The caller of this task's call, else the latest call in flight."""
        caller = self._current.get()
        if caller is None and self._in_flight:
            caller = self._in_flight[-1]
        return caller

    # -- the upstream Client's callbacks -------------------------------------------------

    async def sampling(
        self, context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> SamplingAnswer:
        caller = self.current()
        if caller is None or "sampling" not in caller.capabilities:
            return _refusal("Sampling")
        return await caller.sample(params)

    async def elicitation(
        self, context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult | types.ErrorData:
        caller = self.current()
        mode = params.mode or "form"
        if caller is None or not elicitation_declared(caller.capabilities, mode):
            return _refusal("Elicitation")
        return await caller.elicit(params)

    async def roots(self, context: ClientRequestContext) -> types.ListRootsResult | types.ErrorData:
        caller = self.current()
        if caller is None or "roots" not in caller.capabilities:
            return _refusal("List roots")
        return await caller.list_roots()

    async def logging(self, params: types.LoggingMessageNotificationParams) -> None:
        caller = self.current()
        if caller is not None:
            await caller.log(params)
