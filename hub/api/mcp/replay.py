"""Resumable SSE streams on the hub's MCP endpoints (``server-sse-polling``).

With an event store, the SDK's transport opens each SSE stream with a priming event (an
``id`` and no data) and sends the ``retry`` field: a client whose stream drops reconnects
with ``Last-Event-ID`` and gets what it missed, as from the upstream directly. The store
is bounded: the oldest events go first, and a client asking for a forgotten one gets
nothing replayed (it re-sends its request, as after any lost stream).
"""

from __future__ import annotations

from collections import OrderedDict
from itertools import count

from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from mcp_types import JSONRPCMessage

RETRY_MS = 1000  # what the `retry` field tells a client to wait before reconnecting
MAX_EVENTS = 1000  # per endpoint: a stream's events beyond are forgotten, oldest first


class ReplayStore(EventStore):
    """The last ``MAX_EVENTS`` events of one endpoint's streams, in memory."""

    def __init__(self, limit: int = MAX_EVENTS) -> None:
        self._limit = limit
        self._ids = count(1)
        self._events: OrderedDict[str, tuple[StreamId, JSONRPCMessage | None]] = OrderedDict()

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        event_id = str(next(self._ids))
        self._events[event_id] = (stream_id, message)
        while len(self._events) > self._limit:
            self._events.popitem(last=False)
        return event_id

    async def replay_events_after(
        self, last_event_id: EventId, send_callback: EventCallback
    ) -> StreamId | None:
        known = self._events.get(last_event_id)
        if known is None:
            return None
        stream_id, after = known[0], int(last_event_id)
        later = [
            (event_id, message)
            for event_id, (stream, message) in list(self._events.items())
            if stream == stream_id and int(event_id) > after and message is not None
        ]
        for event_id, message in later:
            await send_callback(EventMessage(message, event_id))
        return stream_id
