"""An MCP client transport that keeps every result as it came off the wire (raw JSON,
keys in the sender's order): what the SDK's models would drop stays visible to tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Self

import anyio
import mcp_types as types
from mcp.client._transport import TransportStreams
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._stream_protocols import ReadStream
from mcp.shared.message import SessionMessage

from tests.support.json_values import JsonObject


class _Recording:
    def __init__(self, inner: ReadStream[SessionMessage | Exception], into: list[JsonObject]):
        self._inner = inner
        self._into = into

    async def receive(self) -> SessionMessage | Exception:
        item = await self._inner.receive()
        if isinstance(item, SessionMessage) and isinstance(item.message, types.JSONRPCResponse):
            self._into.append(item.message.result)
        return item

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None


@asynccontextmanager
async def recorded(
    transport: AbstractAsyncContextManager[TransportStreams], into: list[JsonObject]
) -> AsyncIterator[TransportStreams]:
    """``transport``'s streams, every result also appended to ``into``."""
    async with transport as (read, write):
        yield _Recording(read, into), write


def recorded_http(
    url: str, into: list[JsonObject]
) -> AbstractAsyncContextManager[TransportStreams]:
    return recorded(streamable_http_client(url), into)
