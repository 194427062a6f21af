"""``kimi-proxy mcp``: stdin lines with a lone UTF-16 half, answered instead of dropped.

The SDK's stdio transport parses each line with pydantic's strict JSON parser, which
refuses a ``"\\ud800"`` escape; the SDK then drops the line and the client waits for
an answer forever. Such a line is parsed again with ``json.loads`` (as the 2026-07-28
HTTP transport does) and handed to the server, whose handlers refuse it in French
(``hub.api.mcp.common.invalid_text``), exactly as over HTTP. Nothing runs either way.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable

import mcp_types as types
from anyio.streams.memory import MemoryObjectSendStream
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

from hub.core.jsontypes import JSON, has_lone_surrogate

Item = SessionMessage | Exception


async def reparse_lone_surrogates(
    source: AsyncIterable[Item], sink: MemoryObjectSendStream[Item]
) -> None:
    """Forward ``source`` to ``sink``, re-parsing lines refused for a lone surrogate."""
    async with sink:
        async for item in source:
            await sink.send(_reparsed(item) if isinstance(item, ValidationError) else item)


def _reparsed(error: ValidationError) -> Item:
    details = error.errors()
    line = details[0].get("input") if details and details[0]["type"] == "json_invalid" else None
    if not isinstance(line, str) or not ("\\ud" in line or "\\uD" in line):
        return error
    try:
        parsed: JSON = json.loads(line)
    except (ValueError, RecursionError):
        return error
    if not isinstance(parsed, dict):
        return error
    envelope: JSON = {key: value for key, value in parsed.items() if key != "params"}
    if has_lone_surrogate(envelope):  # only params reach handlers that refuse it
        return error
    try:
        return SessionMessage(types.jsonrpc_message_adapter.validate_python(parsed, by_name=False))
    except ValidationError:
        return error
