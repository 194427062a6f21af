"""Real agent transcripts (``../shared/agent-transcripts``) and what the savings bench measures.

The transcripts are read where they live (never copied into the repository):
``KIMI_AGENT_TRANSCRIPTS`` overrides the folder, default ``../shared/agent-transcripts``
next to the repository. Each ``*.json.gz`` is one gzipped JSON object with
``name`` and OpenAI ``messages`` (see the folder's README.md and manifest.json).

- **Prefix cache**: a request's cached part is its leading part byte-identical to the
  previous request of the same session (whole identical messages, then the common
  start of the first differing message's text), billed at ``CACHED_PRICE``.
- **Kept when used**: a fact (path, identifier, error name, ``line N``) that appears in
  a tool output and is mentioned again by a later assistant message must be present
  in the request that produced that assistant message. Facts already in the head
  (system prompt, task) are left out: they are always sent.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hub.core.jsontypes import JSON, as_list, as_object, as_str
from hub.core.tokens import TokenCounter
from hub.features.savings.rounds import head_end
from hub.features.savings.summariser import text_of

ROOT = Path(__file__).resolve().parents[1]
ENV = "KIMI_AGENT_TRANSCRIPTS"
CACHED_PRICE = 0.1
FACT = re.compile(
    r"(?<![\w/.-])((?:[\w.-]+/)+[\w.-]+\.[A-Za-z]{1,8}|[\w-]+\.(?:py|java|js|ts|rs|go|c|h|cfg"
    r"|toml|ini|txt|xml|json|yaml|yml|md|rst|sh))(?![\w/])"  # paths and file names
    r"|\b([A-Za-z_]*(?:Error|Exception))\b"  # error names
    r"|\b(line \d+)\b"
    r"|\b([a-z][a-z0-9]*_[a-z0-9_]*[a-z0-9]|[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)+)\b"  # identifiers
)


def folder() -> Path:
    return Path(os.environ.get(ENV, ROOT.parent / "shared" / "agent-transcripts"))


@dataclass(frozen=True)
class Transcript:
    name: str
    messages: list[JSON]


def load(path: Path | None = None) -> list[Transcript]:
    found = sorted((path or folder()).glob("*.json.gz"))
    items = []
    for file in found:
        doc = as_object(json.loads(gzip.decompress(file.read_bytes()))) or {}
        items.append(Transcript(str(doc.get("name", file.stem)), as_list(doc.get("messages"))))
    return items


def said(message: JSON) -> str:
    """An assistant's words: its text and its tool calls' arguments."""
    obj = as_object(message) or {}
    parts = [text_of(obj)]
    for call in as_list(obj.get("tool_calls")):
        function = as_object((as_object(call) or {}).get("function")) or {}
        parts.append(as_str(function.get("arguments")) or "")
    return "\n".join(parts)


def request_text(messages: Sequence[JSON]) -> str:
    return "\n".join(said(m) for m in messages)


def facts(text: str) -> set[str]:
    return {next(g for g in m.groups() if g) for m in FACT.finditer(text)}


def used_facts(messages: Sequence[JSON]) -> dict[int, set[str]]:
    """For each assistant message index: the tool-output facts it mentions again."""
    head = request_text(messages[: head_end(messages)])
    seen: set[str] = set()
    used: dict[int, set[str]] = {}
    for index, message in enumerate(messages):
        obj = as_object(message) or {}
        role = obj.get("role")
        if role == "tool":
            seen |= {f for f in facts(text_of(obj)) if f not in head}
        elif role == "assistant" and seen:
            words = said(obj)
            mentioned = {f for f in seen if f in words}
            if mentioned:
                used[index] = mentioned
    return used


def cached_tokens(previous: Sequence[JSON], current: Sequence[JSON], counter: TokenCounter) -> int:
    """Tokens of ``current``'s leading part byte-identical to ``previous``."""
    total = 0
    for old, new in zip(previous, current, strict=False):
        if old == new:
            total += counter.count_message(as_object(new) or {})
            continue
        a, b = as_object(old) or {}, as_object(new) or {}
        if a.get("role") == b.get("role"):
            x, y = text_of(a), text_of(b)
            common = 0
            limit = min(len(x), len(y))
            while common < limit and x[common] == y[common]:
                common += 1
            total += counter.count_text(x[:common]) if common else 0
        break
    return total
