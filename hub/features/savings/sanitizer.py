"""Masking: bulky contents of older turns (and giant ones of recent turns) become a placeholder.

Pure functions over one message (``mask_one``). A placeholder keeps a head/tail preview,
the error lines, code outline, names and paths of the block, its token count and a
reference (``mask:<hash>``) from which the original is fetched byte for byte, or page by
page (``mask_get`` with a line range). Its words are the prompt's language (``Wording``). Only the
``content`` of a message (or the text of one of its parts) is replaced: roles,
``tool_calls``, ``tool_call_id`` and every other key stay as they were, so the
request stays valid for the provider. Which messages are masked (never system
messages nor the newest rounds) is decided by ``hub.features.savings.layout``.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from hub.core.jsontypes import JSON, JSONObject, as_object
from hub.core.tokens import TokenCounter
from hub.features.savings.salient import (
    clip,
    failing_tests,
    names,
    outline,
    paths,
    salient_lines,
)
from hub.features.savings.wording import ENGLISH, Wording

HASH_LENGTH = 32
PREVIEW_LINES = 3
PREVIEW_CHARS = 160
DUMP_MIN_LINES = 15
# A bigger block keeps a bigger view of itself: one more preview line per PREVIEW_STEP
# tokens (up to MAX_PREVIEW_LINES at each end), more paths, and one name per
# TOKENS_PER_NAME tokens (a name costs ~5 tokens: the names stay ~10 % of the block).
PREVIEW_STEP = 2000
MAX_PREVIEW_LINES = 10
PATHS = 12
NAMES = 20
TOKENS_PER_NAME = 50
OUTLINE = 30  # definitions kept, plus one per TOKENS_PER_DEFINITION tokens of the block
TOKENS_PER_DEFINITION = 100


@dataclass(frozen=True)
class MaskedOriginal:
    hash: str
    text: str
    tokens: int
    placeholder_tokens: int
    index: int
    kind: str


# (placeholder, kind, tokens, placeholder tokens); None = left as is
Decision = tuple[str, str, int, int] | None


class MaskMemo:
    """Masking decisions by ``hash:role:min_tokens``, the least recently used dropped past
    ``size``: clients resend whole histories every turn, so the hot entries are the live
    sessions' and the memo stays flat however many sessions come and go."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._decisions: OrderedDict[str, Decision] = OrderedDict()

    def __len__(self) -> int:
        return len(self._decisions)

    def decide(self, key: str, make: Callable[[], Decision]) -> Decision:
        if key in self._decisions:
            self._decisions.move_to_end(key)
            return self._decisions[key]
        decided = self._decisions[key] = make()
        if len(self._decisions) > self.size:
            self._decisions.popitem(last=False)
        return decided


def mask_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_LENGTH]


def is_mask_hash(value: str) -> bool:
    return len(value) == HASH_LENGTH and all(c in "0123456789abcdef" for c in value)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False  # not JSON: classified like any other text
    return True


def kind_of(text: str, role: str) -> str | None:
    """What a bulky block is, or None when it reads like prose and stays."""
    if text.lstrip()[:1] in "[{" and _is_json(text):
        return "JSON"
    if salient_lines(text, 1) and "Traceback" in text:
        return "trace d'erreur"
    if role == "tool":
        return "résultat d'outil"
    if text.count("\n") >= DUMP_MIN_LINES:
        return "journal ou fichier"
    return None


def placeholder(text: str, kind: str, tokens: int, digest: str, wording: Wording = ENGLISH) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    scale = min(tokens // PREVIEW_STEP, MAX_PREVIEW_LINES - PREVIEW_LINES)
    preview = PREVIEW_LINES + scale
    head = [clip(line, PREVIEW_CHARS) for line in lines[:preview]]
    tail = [clip(line, PREVIEW_CHARS) for line in lines[-preview:]]
    if len(lines) <= 2 * preview:
        tail = [line for line in tail if line not in head]
    count = len(text.splitlines())
    parts = [
        wording.masked.format(kind=wording.kind(kind), tokens=tokens, lines=count),
        wording.start,
        *head,
        "…",
        wording.end,
        *tail,
    ]
    tests = failing_tests(text)
    if tests:
        parts.append(wording.failing_tests + ", ".join(tests))
    salient = salient_lines(text)
    if salient:
        parts += [wording.salient, *salient]
    definitions = outline(text, OUTLINE + tokens // TOKENS_PER_DEFINITION, wording.line)
    if definitions:
        parts.append(wording.outline + "; ".join(definitions))
    found = paths(text, PATHS + PATHS * scale // 3)
    if found:
        parts.append(wording.files + ", ".join(found))
    written = "\n".join(parts)
    limit = NAMES + tokens // TOKENS_PER_NAME
    shown = [name for name in names(text, limit) if name not in written]
    if shown:
        parts.append(wording.names + ", ".join(shown))
    parts.append(wording.reference.format(digest=digest))
    return "\n".join(parts)


def _decide(
    text: str, role: str, counter: TokenCounter, min_tokens: int, digest: str, wording: Wording
) -> tuple[str, str, int, int] | None:
    kind = kind_of(text, role)
    if kind is None:
        return None
    tokens = counter.count_text(text)
    if tokens < min_tokens:
        return None
    replacement = placeholder(text, kind, tokens, digest, wording)
    replacement_tokens = counter.count_text(replacement)
    if replacement_tokens >= tokens:
        return None
    return replacement, kind, tokens, replacement_tokens


def _mask_text(
    text: str,
    role: str,
    index: int,
    counter: TokenCounter,
    min_tokens: int,
    memo: MaskMemo,
    wording: Wording,
) -> tuple[str, MaskedOriginal] | None:
    """Clients resend the history every turn: the decision is memoised by content hash."""
    if len(text) < min_tokens:  # cheap bound: a token is at least one character
        return None
    digest = mask_hash(text)
    key = f"{digest}:{role}:{min_tokens}:{wording.language}"
    decided = memo.decide(key, lambda: _decide(text, role, counter, min_tokens, digest, wording))
    if decided is None:
        return None
    replacement, kind, tokens, replacement_tokens = decided
    return replacement, MaskedOriginal(digest, text, tokens, replacement_tokens, index, kind)


def mask_one(
    message: JSONObject,
    index: int,
    counter: TokenCounter,
    min_tokens: int,
    memo: MaskMemo,
    wording: Wording = ENGLISH,
) -> tuple[JSONObject, list[MaskedOriginal]]:
    role = str(message.get("role"))
    content = message.get("content")
    if isinstance(content, str):
        done = _mask_text(content, role, index, counter, min_tokens, memo, wording)
        if done is None:
            return message, []
        return {**message, "content": done[0]}, [done[1]]
    if not isinstance(content, list):
        return message, []
    parts: list[JSON] = []
    masked: list[MaskedOriginal] = []
    for part in content:
        obj = as_object(part)
        text = obj.get("text") if obj is not None else None
        result = None
        if obj is not None and obj.get("type") == "text" and isinstance(text, str):
            result = _mask_text(text, role, index, counter, min_tokens, memo, wording)
        if obj is None or result is None:
            parts.append(part)
            continue
        parts.append({**obj, "text": result[0]})
        masked.append(result[1])
    return ({**message, "content": parts}, masked) if masked else (message, [])
