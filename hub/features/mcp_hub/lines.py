"""Newline-delimited messages from a child's pipe, in linear time and bounded memory.

Each chunk is searched for newlines once (never the whole buffer again), and a line
that grows past ``limit`` bytes stops being kept: the rest of it is counted and
dropped until its newline, and only its first and last bytes are handed on (enough to
find a JSON-RPC response's ``id`` and answer the request it belongs to).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

EDGE = 512  # bytes kept from each end of an oversized line
# A response's id, first after "jsonrpc" (Python SDK) or last before the final brace
# (TypeScript SDK): only the object's own top-level "id" can sit there.
_ID_VALUE = rb'(-?\d{1,18}|"[^"\\]{0,200}")'
_HEAD_ID = re.compile(rb'^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*' + _ID_VALUE)
_TAIL_ID = re.compile(rb'"id"\s*:\s*' + _ID_VALUE + rb"\s*\}\s*$")


@dataclass(frozen=True)
class Oversized:
    """A line past the limit: its size, its first and its last bytes."""

    size: int
    head: bytes
    tail: bytes

    def message_id(self) -> int | str | None:
        """The JSON-RPC id of the message, when it sits where SDKs write it."""
        found = _HEAD_ID.match(self.head) or _TAIL_ID.search(self.tail)
        if found is None:
            return None
        raw = found.group(1)
        return raw[1:-1].decode(errors="replace") if raw.startswith(b'"') else int(raw)


class LineSplitter:
    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._parts: list[bytes] = []
        self._size = 0
        self._over: Oversized | None = None

    def feed(self, chunk: bytes) -> Iterator[bytes | Oversized]:
        """The lines ``chunk`` completes (without their newline), in order."""
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                self._add(chunk[start:])
                return
            self._add(chunk[start:end])
            yield self._take()
            start = end + 1

    def rest(self) -> bytes | Oversized | None:
        """What is left after the stream's end (a last line without newline)."""
        return self._take() if self._size or self._over else None

    def _add(self, piece: bytes) -> None:
        if not piece:
            return
        over = self._over
        if over is not None:
            head = over.head if len(over.head) >= EDGE else (over.head + piece)[:EDGE]
            tail = (over.tail + piece[-EDGE:])[-EDGE:]
            self._over = Oversized(over.size + len(piece), head, tail)
            return
        if self._size + len(piece) <= self._limit:
            self._parts.append(piece)
            self._size += len(piece)
            return
        line = b"".join(self._parts) + piece  # once per oversized line: still linear
        self._over = Oversized(len(line), line[:EDGE], line[-EDGE:])
        self._parts, self._size = [], 0

    def _take(self) -> bytes | Oversized:
        over = self._over
        if over is not None:
            self._over = None
            return over
        line = b"".join(self._parts)
        self._parts, self._size = [], 0
        return line
