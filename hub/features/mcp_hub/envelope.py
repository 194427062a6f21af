"""The wire between the hub's upstream ``Client`` and a 2026-07-28 upstream.

Outgoing: the SDK stamps every 2026-07-28 request with the ``Client``'s own capabilities;
through the hub they are the calling client's, and so is the log level it opted in to
(``_meta``), so the upstream offers each client what that client can take.
Incoming: a result without ``resultType`` is read as ``complete`` (the spec's bridge
for older servers; the SDK's client refuses such a result).
Both ways, list requests and their answers are shown to ``definitions`` (when given): the
definitions as the upstream wrote them, before the SDK's models drop what they do not know.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from types import TracebackType
from typing import Protocol, Self

import anyio
import mcp_types as types
from mcp.client._transport import TransportStreams
from mcp.shared._stream_protocols import ReadStream, WriteStream
from mcp.shared.message import SessionMessage

from hub.core.jsontypes import JSON, JSONObject
from hub.features.mcp_hub.definitions import WireDefinitions
from hub.features.mcp_hub.raw_requests import EXTENSION
from hub.features.mcp_hub.requesters import RequesterRoutes


class Closable(Protocol):
    async def aclose(self) -> None: ...


def on_the_wire(
    streams: TransportStreams,
    routes: RequesterRoutes,
    modern: Callable[[], bool],
    definitions: WireDefinitions | None = None,
) -> TransportStreams:
    read_stream, write_stream = streams
    return (
        _BridgedReads(read_stream, modern, definitions),
        _CallerEnvelope(write_stream, routes, definitions),
    )


class _Closing:
    """A stream wrapper closed with its inner stream (``async with`` too)."""

    def __init__(self, closable: Closable) -> None:
        self._closable = closable

    async def aclose(self) -> None:
        await self._closable.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        await self.aclose()
        return None


class _CallerEnvelope(_Closing):
    """``send`` runs in the sending task, so the caller is the one of the call being made."""

    def __init__(
        self,
        inner: WriteStream[SessionMessage],
        routes: RequesterRoutes,
        definitions: WireDefinitions | None,
    ) -> None:
        super().__init__(inner)
        self._inner = inner
        self._routes = routes
        self._definitions = definitions

    async def send(self, item: SessionMessage, /) -> None:
        message = item.message
        if self._definitions is not None and isinstance(message, types.JSONRPCRequest):
            self._definitions.asked(message)
        caller = self._routes.in_context()
        if caller is not None and isinstance(message, types.JSONRPCRequest) and message.params:
            meta = message.params.get("_meta")
            if isinstance(meta, dict) and types.CLIENT_CAPABILITIES_META_KEY in meta:
                asks_task = _declares_tasks(meta[types.CLIENT_CAPABILITIES_META_KEY])
                envelope: JSONObject = {
                    **meta,
                    types.CLIENT_CAPABILITIES_META_KEY: _tasks(caller.capabilities, asks_task),
                }
                envelope.pop(types.LOG_LEVEL_META_KEY, None)
                if caller.log_level is not None:
                    envelope[types.LOG_LEVEL_META_KEY] = caller.log_level
                params = {**message.params, "_meta": envelope}
                item = SessionMessage(message.model_copy(update={"params": params}), item.metadata)
        await self._inner.send(item)


def _declares_tasks(capabilities: JSON) -> bool:
    extensions = capabilities.get("extensions") if isinstance(capabilities, dict) else None
    return isinstance(extensions, dict) and EXTENSION in extensions


def _tasks(capabilities: JSONObject, declared: bool) -> JSONObject:
    """The caller's capabilities, with the tasks extension exactly where the hub's own
    request declared it: the hub decides which calls may make a task (it relays the
    handle), not the caller's blanket declaration."""
    extensions = capabilities.get("extensions")
    others = (
        {k: v for k, v in extensions.items() if k != EXTENSION}
        if isinstance(extensions, dict)
        else {}
    )
    if declared:
        others[EXTENSION] = {}
    shown = {k: v for k, v in capabilities.items() if k != "extensions"}
    if others:
        shown["extensions"] = others
    return shown


class _BridgedReads(_Closing):
    def __init__(
        self,
        inner: ReadStream[SessionMessage | Exception],
        modern: Callable[[], bool],
        definitions: WireDefinitions | None,
    ) -> None:
        super().__init__(inner)
        self._inner = inner
        self._modern = modern
        self._definitions = definitions

    @property
    def last_context(self) -> contextvars.Context | None:
        """The sender's context of the last message (the SDK's HTTP transport keeps it: a
        2025-era upstream's request then reaches the callbacks in the calling task's)."""
        context = getattr(self._inner, "last_context", None)
        return context if isinstance(context, contextvars.Context) else None

    async def receive(self) -> SessionMessage | Exception:
        item = await self._inner.receive()
        if not isinstance(item, SessionMessage):
            return item
        message = item.message
        tap = self._definitions
        if tap is not None and isinstance(message, types.JSONRPCResponse | types.JSONRPCError):
            tap.answered(message)
        if not self._modern():
            return item
        if isinstance(message, types.JSONRPCResponse) and "resultType" not in message.result:
            result = {**message.result, "resultType": "complete"}
            item = SessionMessage(message.model_copy(update={"result": result}), item.metadata)
        return item

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None
