"""Masking: bulky contents of older turns become a short French placeholder.

Pure functions over one message (``mask_one``). A placeholder keeps a head/tail preview,
the error lines and paths of the block, its token count and a reference
(``mask:<hash>``) from which the original is fetched byte for byte. Only the
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
from hub.features.savings.salient import clip, failing_tests, outline, paths, salient_lines

HASH_LENGTH = 32
PREVIEW_LINES = 3
PREVIEW_CHARS = 160
DUMP_MIN_LINES = 15


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


def placeholder(text: str, kind: str, tokens: int, digest: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    head = [clip(line, PREVIEW_CHARS) for line in lines[:PREVIEW_LINES]]
    tail = [clip(line, PREVIEW_CHARS) for line in lines[-PREVIEW_LINES:]]
    if len(lines) <= 2 * PREVIEW_LINES:
        tail = [line for line in tail if line not in head]
    parts = [
        f"[Contenu masqué par Kimi Proxy Hub : {kind}, {tokens} tokens, {len(lines)} lignes]",
        "Début :",
        *head,
        "…",
        "Fin :",
        *tail,
    ]
    tests = failing_tests(text)
    if tests:
        parts.append("Tests en échec : " + ", ".join(tests))
    salient = salient_lines(text)
    if salient:
        parts += ["Points saillants :", *salient]
    definitions = outline(text, 30)
    if definitions:
        parts.append("Plan du code : " + "; ".join(definitions))
    found = paths(text, 12)
    if found:
        parts.append("Fichiers : " + ", ".join(found))
    parts.append(f"Référence : mask:{digest} (original complet : GET /api/mask/{digest})")
    return "\n".join(parts)


def _decide(
    text: str, role: str, counter: TokenCounter, min_tokens: int, digest: str
) -> tuple[str, str, int, int] | None:
    kind = kind_of(text, role)
    if kind is None:
        return None
    tokens = counter.count_text(text)
    if tokens < min_tokens:
        return None
    replacement = placeholder(text, kind, tokens, digest)
    replacement_tokens = counter.count_text(replacement)
    if replacement_tokens >= tokens:
        return None
    return replacement, kind, tokens, replacement_tokens


def _mask_text(
    text: str, role: str, index: int, counter: TokenCounter, min_tokens: int, memo: MaskMemo
) -> tuple[str, MaskedOriginal] | None:
    """Clients resend the history every turn: the decision is memoised by content hash."""
    if len(text) < min_tokens:  # cheap bound: a token is at least one character
        return None
    digest = mask_hash(text)
    key = f"{digest}:{role}:{min_tokens}"
    decided = memo.decide(key, lambda: _decide(text, role, counter, min_tokens, digest))
    if decided is None:
        return None
    replacement, kind, tokens, replacement_tokens = decided
    return replacement, MaskedOriginal(digest, text, tokens, replacement_tokens, index, kind)


def mask_one(
    message: JSONObject, index: int, counter: TokenCounter, min_tokens: int, memo: MaskMemo
) -> tuple[JSONObject, list[MaskedOriginal]]:
    role = str(message.get("role"))
    content = message.get("content")
    if isinstance(content, str):
        done = _mask_text(content, role, index, counter, min_tokens, memo)
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
            result = _mask_text(text, role, index, counter, min_tokens, memo)
        if obj is None or result is None:
            parts.append(part)
            continue
        parts.append({**obj, "text": result[0]})
        masked.append(result[1])
    return ({**message, "content": parts}, masked) if masked else (message, [])
