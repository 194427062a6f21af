"""Split an SSE byte stream into events as they arrive, and read what we need from them.

Events are passed on as the exact bytes received; only their ``data`` is parsed
(to learn content, usage and finish) and only the usage chunk may be dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from hub.core.jsoncodec import loads
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


OTHER, USAGE_ONLY, DONE = 0, 1, 2  # what ``StreamTracker.observe`` saw


@dataclass
class StreamTracker:
    """What a relayed stream said: usage if sent, whether it ended, the text (lazily).

    Only events that mention ``usage`` are parsed while the stream runs; the others are
    kept as text and parsed once, at the end, if their text is needed (no upstream usage
    to record, or a stream cut before ``[DONE]``). JSON work per event was most of the
    hub's CPU on a stream.
    """

    usage: Usage | None = None
    done: bool = False
    _pending: list[str] = field(default_factory=list)
    _parts: list[str] = field(default_factory=list)
    _finished: bool = False
    last: JSONObject = field(default_factory=dict)  # ``id``/``model``/``created`` seen last

    def observe(self, event: bytes) -> int:
        """Record one event: ``USAGE_ONLY`` (a usage chunk, choices empty), ``DONE``, ``OTHER``."""
        data = event_data(event)
        if data is None:
            return OTHER
        if data.strip() == "[DONE]":
            self.done = True
            return DONE
        if '"usage"' not in data:
            self._pending.append(data)
            return OTHER
        payload = _payload(data)
        if payload is None:
            return OTHER
        if as_list(payload.get("choices")):
            self._pending.append(data)
        usage = usage_of(payload)
        if usage is None:
            return OTHER
        self.usage = usage
        return OTHER if as_list(payload.get("choices")) else USAGE_ONLY

    def outcome(self) -> tuple[Usage | None, str]:
        """A complete stream's usage, and its text only when there is none (to estimate)."""
        return (self.usage, "") if self.usage is not None else (None, self.text)

    def _parse(self) -> None:
        pending, self._pending = self._pending, []
        for data in pending:
            payload = _payload(data)
            if payload is None:
                continue
            self.last = {k: payload[k] for k in ("id", "model", "created") if k in payload}
            for choice in as_list(payload.get("choices")):
                obj = as_object(choice) or {}
                delta = as_object(obj.get("delta")) or {}
                self._parts.append(as_str(delta.get("content")) or "")
                self._parts.extend(_tool_call_text(delta))
                if obj.get("finish_reason"):
                    self._finished = True

    @property
    def finished(self) -> bool:
        self._parse()
        return self._finished

    @property
    def text(self) -> str:
        self._parse()
        return "".join(self._parts)


def _payload(data: str) -> JSONObject | None:
    try:
        parsed = loads(data.encode())
    except ValueError:
        return None
    return as_object(parsed)


def usage_event(base: JSONObject, prompt: int, completion: int) -> bytes:
    """A final usage chunk the hub writes itself (the upstream sent none): estimated."""
    payload: JSONObject = {
        **base,
        "object": "chat.completion.chunk",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
        "x_kimi_usage": "estimated",
    }
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()
