"""Split an SSE byte stream into events as they arrive, and read what we need from them.

Events are passed on as the exact bytes received; only their ``data`` is parsed
(to learn content, usage and finish) and only the usage chunk may be dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from hub.core.jsontypes import JSONObject, as_int, as_list, as_object, as_str


class SSESplitter:
    """Feeds bytes, yields complete events (each ending with a blank line)."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        self._buffer += chunk
        if b"\r\n" in self._buffer:
            self._buffer = self._buffer.replace(b"\r\n", b"\n")
        events: list[bytes] = []
        while True:
            end = self._buffer.find(b"\n\n")
            if end < 0:
                return events
            events.append(self._buffer[: end + 2])
            self._buffer = self._buffer[end + 2 :]

    def rest(self) -> bytes:
        """Bytes of an unterminated last event (a stream cut mid-event)."""
        rest, self._buffer = self._buffer, b""
        return rest


def event_data(event: bytes) -> str | None:
    lines = [
        line[5:].removeprefix(b" ") for line in event.split(b"\n") if line.startswith(b"data:")
    ]
    return b"\n".join(lines).decode("utf-8", errors="replace") if lines else None


@dataclass
class Usage:
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0  # prompt tokens the provider served from its prompt cache


def cached_of(usage: JSONObject) -> int:
    """Cached prompt tokens under the names providers use, 0 when none is given.

    OpenAI (and Kimi's OpenAI-compatible API): ``prompt_tokens_details.cached_tokens``;
    Kimi (Moonshot) also puts ``cached_tokens`` at the top of ``usage``; DeepSeek says
    ``prompt_cache_hit_tokens``.
    """
    details = as_object(usage.get("prompt_tokens_details")) or {}
    for value in (
        details.get("cached_tokens"),
        usage.get("cached_tokens"),
        usage.get("prompt_cache_hit_tokens"),
    ):
        count = as_int(value)
        if count is not None and count > 0:
            return count
    return 0


def usage_of(payload: JSONObject) -> Usage | None:
    usage = as_object(payload.get("usage"))
    if usage is None:
        return None
    prompt = as_int(usage.get("prompt_tokens"))
    completion = as_int(usage.get("completion_tokens"))
    if prompt is None or completion is None:
        return None
    return Usage(prompt, completion, min(cached_of(usage), max(prompt, 0)))


def completion_text(payload: JSONObject) -> str:
    """Text the model produced in a full (non-streamed) response, tool calls included."""
    parts: list[str] = []
    for choice in as_list(payload.get("choices")):
        message = as_object((as_object(choice) or {}).get("message"))
        if message is None:
            continue
        parts.append(as_str(message.get("content")) or "")
        parts.extend(_tool_call_text(message))
    return "".join(parts)


def _tool_call_text(holder: JSONObject) -> list[str]:
    parts: list[str] = []
    for call in as_list(holder.get("tool_calls")):
        function = as_object((as_object(call) or {}).get("function"))
        if function:
            parts.append(as_str(function.get("name")) or "")
            parts.append(as_str(function.get("arguments")) or "")
    return parts


@dataclass
class StreamTracker:
    """What a relayed stream said: text so far, usage if sent, whether it finished."""

    parts: list[str] = field(default_factory=list)
    usage: Usage | None = None
    done: bool = False
    finished: bool = False

    def observe(self, event: bytes) -> bool:
        """Record one event; True if it is a usage-only chunk (choices empty)."""
        data = event_data(event)
        if data is None:
            return False
        if data.strip() == "[DONE]":
            self.done = True
            return False
        try:
            parsed = json.loads(data)
        except ValueError:
            return False
        payload = as_object(parsed)
        if payload is None:
            return False
        choices = as_list(payload.get("choices"))
        for choice in choices:
            obj = as_object(choice) or {}
            delta = as_object(obj.get("delta")) or {}
            self.parts.append(as_str(delta.get("content")) or "")
            self.parts.extend(_tool_call_text(delta))
            if obj.get("finish_reason"):
                self.finished = True
        usage = usage_of(payload)
        if usage is not None:
            self.usage = usage
            return not choices
        return False

    @property
    def text(self) -> str:
        return "".join(self.parts)
