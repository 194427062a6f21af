"""Upstream progress, relayed at a bounded rate: the latest value wins.

An upstream may send thousands of ``notifications/progress`` a second (one per byte
read, or a hostile flood); relaying each would flood the client and hold the upstream
session's reader, which awaits every relay. Here a call's first ``BURST`` notifications
pass as they come (a short task's few steps all reach the client, as they would
directly), then at most one per ``interval``: a value arriving sooner waits, replaced by
any newer one, until a notification arrives after the interval or the call ends (it
then goes out just before the result). No timer task: a burst followed by silence shows
its newest value late, never out of order. Values that do not increase are dropped (the
MCP spec says progress increases).
"""

from __future__ import annotations

import json
import time

from mcp.shared.dispatcher import ProgressFnT

Values = tuple[float, float | None, str | None]

BURST = 5  # notifications that pass before the rate applies


class Bucket:
    """A token bucket: ``BURST`` tokens, one more each ``interval`` (none needed when
    ``interval`` is 0 or less)."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._tokens = float(BURST)
        self._at = time.monotonic()

    def take(self) -> bool:
        if self._interval <= 0:
            return True
        now = time.monotonic()
        self._tokens = min(float(BURST), self._tokens + (now - self._at) / self._interval)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class CoalescedProgress:
    def __init__(self, relay: ProgressFnT, interval: float) -> None:
        self._relay = relay
        self._bucket = Bucket(interval)
        self._last: float | None = None  # the last progress value sent
        self._pending: Values | None = None
        self.received = 0
        self.sent = 0

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.received += 1
        self._pending = (progress, total, message)
        if self._bucket.take():
            await self.flush()

    async def flush(self) -> None:
        """Send the newest value not sent yet, if it increases."""
        pending, self._pending = self._pending, None
        if pending is None or (self._last is not None and pending[0] <= self._last):
            return
        self._last = pending[0]
        self.sent += 1
        await self._relay(*pending)


PROGRESS_METHOD = b'"notifications/progress"'
SMALL_LINE = 4096  # progress notifications are small; longer lines are never one


class LineThrottle:
    """The same bound one step earlier, on a stdio child's raw lines, before they are
    parsed: a flood of progress notifications is read at pipe speed (the SDK's session
    costs ~0.4 ms a message, so 20 000 held the session for 8 s and the child blocked
    on a full pipe). Per progress token, past a burst of ``BURST``, a line arriving within
    ``interval`` of the last one passed is kept aside, replaced by newer ones, and
    released before the next line that is not a progress notification (the response it
    precedes) or at the end."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._buckets: dict[str, Bucket] = {}
        self._held: dict[str, bytes] = {}

    def admit(self, line: bytes) -> list[bytes]:
        """The lines to deliver now, in order (``line`` may be held back)."""
        token = _progress_token(line)
        if token is None:
            held = list(self._held.values())
            self._held.clear()
            return [*held, line]
        bucket = self._buckets.setdefault(token, Bucket(self._interval))
        if bucket.take():
            self._held.pop(token, None)
            return [line]
        self._held[token] = line
        return []

    def release(self) -> list[bytes]:
        held = list(self._held.values())
        self._held.clear()
        return held


def _progress_token(line: bytes) -> str | None:
    if len(line) > SMALL_LINE or PROGRESS_METHOD not in line:
        return None
    try:
        message = json.loads(line)
    except ValueError:
        return None
    params = message.get("params") if isinstance(message, dict) else None
    token = params.get("progressToken") if isinstance(params, dict) else None
    return (
        None if token is None or message.get("method") != "notifications/progress" else str(token)
    )
