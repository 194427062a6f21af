"""Per-session memory of the savings pass: turn N+1 only pays for its new messages.

A client resends its whole history every turn. For each session the pass keeps
the messages it saw last time with, per message, its token count, its chained
prefix hash and (once computed) its masked form; the new request is compared
message by message (``==`` on parsed JSON, no hashing) and only what follows the
first difference is counted, hashed and masked again. Round summaries are kept
by round range and prefix hash, so an unchanged history gives the same bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from hub.core.jsontypes import JSON, as_object
from hub.core.tokens import TokenCounter
from hub.features.savings.rounds import Levels
from hub.features.savings.sanitizer import MaskedOriginal

SESSIONS = 64  # histories kept in memory (least recently used dropped)
SEED = hashlib.sha256(b"kimi-prefix").digest()


@dataclass
class MessageInfo:
    message: JSON
    tokens: int
    prefix: bytes  # chained hash of every message up to and including this one
    role: str = ""
    masked: tuple[JSON, list[MaskedOriginal], int] | None = None
    lines: frozenset[str] | None = None  # distinct lines of a bulky output (``repeats``)
    repeated_by: int | None = None  # index of a later output that shows it again
    repeated: tuple[JSON, list[MaskedOriginal], int] | None = None  # its shrunk form
    # the rewritten form it was first forwarded in: it keeps it (decided once, never changed)
    sent: tuple[JSON, list[MaskedOriginal], int] | None = None


@dataclass
class Segment:
    text: str
    tokens: int
    summariser: str
    reason: str | None = None
    originals: list[tuple[str, str, int]] = field(default_factory=list)  # hash, text, tokens


@dataclass
class History:
    infos: list[MessageInfo] = field(default_factory=list)
    segments: dict[tuple[int, int, bytes], Segment] = field(default_factory=dict)
    applied: Levels = field(
        default_factory=lambda: Levels(0, 0)
    )  # rounds summarised on demand (``apply``): a floor
    applied_prefix: bytes = b""
    levels: Levels = field(
        default_factory=lambda: Levels(0, 0)
    )  # last pass's levels: kept while they still fit
    levels_prefix: bytes = b""
    repeats_checked: int = 0  # later outputs compared with the earlier ones up to here
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one pass at a time

    def common(self, messages: Sequence[JSON]) -> int:
        """How many leading messages are the ones seen last time."""
        same = 0
        limit = min(len(messages), len(self.infos))
        while same < limit and self.infos[same].message == messages[same]:
            same += 1
        return same

    def sync(self, messages: Sequence[JSON], counter: TokenCounter) -> int:
        """Bring the memory in line with ``messages``; returns how many were new."""
        same = self.common(messages)
        del self.infos[same:]
        for info in self.infos:  # an edited history: repeats found in what changed are void
            if info.repeated_by is not None and info.repeated_by >= same:
                info.repeated_by, info.repeated, info.sent = None, None, None
        self.repeats_checked = min(self.repeats_checked, same)
        state = self.infos[-1].prefix if self.infos else SEED
        for message in messages[same:]:
            obj = as_object(message)
            tokens = counter.count_message(obj) if obj is not None else 0
            canonical = json.dumps(message, sort_keys=True, ensure_ascii=False)
            digest = hashlib.sha256(canonical.encode("utf-8")).digest()
            state = hashlib.sha256(state + digest).digest()
            role = str(obj.get("role")) if obj is not None else ""
            self.infos.append(MessageInfo(message, tokens, state, role))
        if len(self.segments) > 4 * len(self.infos) + 64:  # an edited history left old ones
            self.segments.clear()
        return len(messages) - same

    def prefix(self, end: int) -> bytes:
        """Hash of ``messages[:end]``."""
        return self.infos[end - 1].prefix if end > 0 else SEED


class Histories:
    """The ``History`` of recent sessions (LRU); a pass without a session gets a fresh one."""

    def __init__(self, size: int = SESSIONS) -> None:
        self._size = size
        self._items: OrderedDict[int, History] = OrderedDict()

    def get(self, session_id: int | None) -> History:
        if session_id is None:
            return History()
        found = self._items.get(session_id)
        if found is None:
            found = self._items[session_id] = History()
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        self._items.move_to_end(session_id)
        return found

    def peek(self, session_id: int) -> History | None:
        """The session's history if it has one, without creating it or touching the order."""
        return self._items.get(session_id)
