"""A stdio child's stdout as session messages, read defensively.

Lines are split in linear time (``lines.LineSplitter``); a message over
``[mcp].max_message_bytes`` is dropped while it streams in, and the request it answers
gets a French error (``MESSAGE_TOO_LARGE``, which the connection turns into an
``isError`` result) instead of waiting for its timeout; progress floods are thinned
before parsing (``progress.LineThrottle``); lines over 16 KiB are parsed in a worker
thread.
"""

from __future__ import annotations

import functools
import logging

import mcp_types as types
from anyio.abc import ByteReceiveStream
from anyio.streams.memory import MemoryObjectSendStream
from mcp.shared.message import SessionMessage

from hub.config import McpLimits
from hub.core.offload import run_sized
from hub.features.mcp_hub.lines import LineSplitter, Oversized
from hub.features.mcp_hub.progress import LineThrottle

logger = logging.getLogger(__name__)
# JSON-RPC "server error" range: the answer to a request was over [mcp].max_message_bytes
MESSAGE_TOO_LARGE = -32090
Sink = MemoryObjectSendStream[SessionMessage | Exception]


def _parse(line: bytes) -> SessionMessage | Exception:
    try:
        return SessionMessage(types.jsonrpc_message_adapter.validate_json(line, by_name=False))
    except ValueError as exc:  # handed to the session, which reports it
        return exc


def _too_large(name: str, line: Oversized, limit: int) -> SessionMessage | None:
    """The French error answering the request an oversized message belonged to."""
    message_id = line.message_id()
    logger.warning(
        "serveur MCP %s : message de %d octets ignoré (limite %d, [mcp].max_message_bytes)",
        name,
        line.size,
        limit,
    )
    if message_id is None:
        return None
    error = types.ErrorData(
        code=MESSAGE_TOO_LARGE,
        message=f"Réponse de « {name} » trop grande : plus de {line.size // 1_000_000} Mo "
        f"(limite [mcp].max_message_bytes = {limit // 1_000_000} Mo) ; elle est ignorée.",
    )
    return SessionMessage(types.JSONRPCError(jsonrpc="2.0", id=message_id, error=error))


async def read_messages(
    stdout: ByteReceiveStream, sink: Sink, name: str, limits: McpLimits
) -> None:
    """Until the child closes stdout; the sink's errors (session gone) propagate."""
    splitter = LineSplitter(limits.max_message_bytes)
    throttle = LineThrottle(limits.progress_interval)

    async def deliver(line: bytes | Oversized) -> None:
        if isinstance(line, Oversized):
            answer = _too_large(name, line, limits.max_message_bytes)
            if answer is not None:
                await sink.send(answer)
            return
        if line.strip():
            for admitted in throttle.admit(line):
                await sink.send(await run_sized(len(admitted), functools.partial(_parse, admitted)))

    async for chunk in stdout:
        for line in splitter.feed(chunk):
            await deliver(line)
    rest = splitter.rest()
    if rest is not None:
        await deliver(rest)
    for held in throttle.release():
        await sink.send(_parse(held))
