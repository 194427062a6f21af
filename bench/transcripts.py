"""Real agent transcripts (``../shared/agent-transcripts``) and what the savings bench measures.

The transcripts are read where they live (never copied into the repository):
``KIMI_AGENT_TRANSCRIPTS`` overrides the folder, default ``../shared/agent-transcripts``
next to the repository. Each ``*.json.gz`` is one gzipped JSON object with
``name`` and OpenAI ``messages`` (see the folder's README.md and manifest.json).

The measures follow the acceptance described in that README:

- **Prefix cache**: a request's cached part is its leading part byte-identical to the
  previous request of the same session (whole identical messages, then the common
  start of the first differing message's text), billed at ``CACHED_PRICE``.
- **Kept when used**: a *fact* first appears in a ``tool`` message, is in no system or
  user message, and is mentioned again by a later assistant message (text or tool-call
  arguments); it must be in the request that produced that assistant message. Facts:
  file paths (their last three parts), identifiers of five characters or more
  (snake_case, CamelCase, lowerCamelCase, names after ``def``/``class``/``fn``/``func``/
  ``function``/``struct``), names ending in Error/Exception/Warning, ``line N`` (N ≥ 10).
- **Structure**: what must reach the upstream byte for byte on every turn (``violations``).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hub.core.jsontypes import JSON, as_list, as_object, as_str
from hub.core.tokens import TokenCounter
from hub.features.savings.summariser import text_of

ROOT = Path(__file__).resolve().parents[1]
ENV = "KIMI_AGENT_TRANSCRIPTS"
CACHED_PRICE = 0.1
PATH = re.compile(
    r"(?<![\w/.-])((?:[\w.-]+/)+[\w.-]+\.[A-Za-z]{1,8}|[\w-]+\.(?:py|java|js|ts|rs|go|c|h|cfg"
    r"|toml|ini|txt|xml|json|yaml|yml|md|rst|sh))(?![\w/])"
)
ERROR_NAME = re.compile(r"\b(\w+(?:Error|Exception|Warning))\b")
LINE = re.compile(r"\bline (\d+)\b")
IDENTIFIER = re.compile(
    r"\b([a-z][a-z0-9]*(?:_[a-z0-9]+)+"  # snake_case
    r"|[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+"  # CamelCase
    r"|[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+)\b"  # lowerCamelCase
)
DEFINED = re.compile(r"\b(?:def|class|fn|func|function|struct)\s+([A-Za-z_]\w*)")
MIN_IDENTIFIER = 5
MIN_LINE = 10


def folder() -> Path:
    """``$KIMI_AGENT_TRANSCRIPTS``, else ``../shared`` beside this checkout, else beside the
    local checkout it was cloned from (``git clone /work/main /tmp/x``)."""
    if ENV in os.environ:
        return Path(os.environ[ENV])
    found = ROOT.parent / "shared" / "agent-transcripts"
    if found.is_dir():
        return found
    origin = subprocess.run(
        ["git", "-C", str(ROOT), "config", "--get", "remote.origin.url"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    beside = Path(origin).parent / "shared" / "agent-transcripts" if origin else found
    return beside if beside.is_dir() else found


@dataclass(frozen=True)
class Transcript:
    name: str
    messages: list[JSON]

    @property
    def family(self) -> str:
        """The agent family: the name's first part (``swea0``, ``mini1``, ``openhands``…)."""
        return self.name.split("-", 1)[0]


def load(path: Path | None = None) -> list[Transcript]:
    found = sorted((path or folder()).glob("*.json.gz"))
    items = []
    for file in found:
        doc = as_object(json.loads(gzip.decompress(file.read_bytes()))) or {}
        items.append(Transcript(str(doc.get("name", file.stem)), as_list(doc.get("messages"))))
    return items


def role(message: JSON) -> str:
    return str((as_object(message) or {}).get("role"))


def said(message: JSON) -> str:
    """A message's words: its text and its tool calls' arguments."""
    obj = as_object(message) or {}
    parts = [text_of(obj)]
    for call in as_list(obj.get("tool_calls")):
        function = as_object((as_object(call) or {}).get("function")) or {}
        parts.append(as_str(function.get("arguments")) or "")
    return "\n".join(parts)


def request_text(messages: Sequence[JSON]) -> str:
    return "\n".join(said(m) for m in messages)


def facts(text: str) -> set[str]:
    found = {"/".join(m.group(1).split("/")[-3:]) for m in PATH.finditer(text)}
    found |= {m.group(1) for m in ERROR_NAME.finditer(text)}
    found |= {f"line {m.group(1)}" for m in LINE.finditer(text) if int(m.group(1)) >= MIN_LINE}
    names = [m.group(1) for m in IDENTIFIER.finditer(text)]
    names += [m.group(1) for m in DEFINED.finditer(text)]
    found |= {name for name in names if len(name) >= MIN_IDENTIFIER}
    return found


def used_facts(messages: Sequence[JSON], once: bool = False) -> dict[int, set[str]]:
    """For each assistant message index: the tool-output facts it mentions again.

    ``once``: each fact only at its first mention again (a harsher count, closer to the
    acceptance's published figures: a fact used many times while in view weighs once).
    """
    told = request_text([m for m in messages if role(m) in ("system", "developer", "user")])
    before: list[str] = []  # every message so far: a fact must *first* appear in a tool output
    seen: set[str] = set()
    rejected: set[str] = set()
    counted: set[str] = set()
    used: dict[int, set[str]] = {}
    for index, message in enumerate(messages):
        words = said(message)
        if role(message) == "tool":
            earlier = "\n".join(before)
            for fact in facts(words) - seen - rejected:
                if fact in told or fact in earlier:
                    rejected.add(fact)
                else:
                    seen.add(fact)
        elif role(message) == "assistant" and seen:
            mentioned = {f for f in seen if f in words}
            if once:
                mentioned -= counted
                counted |= mentioned
            if mentioned:
                used[index] = mentioned
        before.append(words)
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


def floor(request: Sequence[JSON]) -> list[JSON]:
    """The least a rewrite may forward: every message before the first answer and the
    newest round (the last assistant message and what follows), all else dropped."""
    roles = [role(m) for m in request]
    if "assistant" not in roles:
        return list(request)
    first = roles.index("assistant")
    last = len(roles) - 1 - roles[::-1].index("assistant")
    return [*request[:first], *request[last:]]


def _answered(messages: Sequence[JSON]) -> bool:
    """Every tool call is answered right after its message; no tool message is orphan."""
    index = 0
    while index < len(messages):
        obj = as_object(messages[index]) or {}
        if role(obj) == "tool":
            return False  # a tool message not right after the calls it answers
        calls = {str((as_object(c) or {}).get("id")) for c in as_list(obj.get("tool_calls"))}
        index += 1
        answers = []
        while index < len(messages) and role(messages[index]) == "tool":
            answers.append(str((as_object(messages[index]) or {}).get("tool_call_id")))
            index += 1
        if sorted(answers) != sorted(calls):
            return False
    return True


def violations(request: Sequence[JSON], forwarded: Sequence[JSON]) -> list[str]:
    """What the forwarded request broke of the structure acceptance checks.

    ``newest round`` (the last assistant message and what follows) is reported apart:
    it may change only when it does not fit the window.
    """
    found = []
    systems = 0
    while systems < len(request) and role(request[systems]) in ("system", "developer"):
        systems += 1
    first_answer = next((i for i, m in enumerate(request) if role(m) == "assistant"), len(request))
    if list(forwarded[:systems]) != list(request[:systems]):
        found.append("system")
    # the task: the last user message before the first answer (a demonstration before it
    # is bulky content, rewritten like any other)
    head_users = [m for m in request[:first_answer] if role(m) == "user"]
    if head_users and head_users[-1] not in forwarded[:first_answer]:
        found.append("task")
    users = [m for m in request if role(m) == "user"]
    if users and users[-1] not in forwarded:
        found.append("latest user message")
    last = max((i for i, m in enumerate(request) if role(m) == "assistant"), default=None)
    if last is not None:
        tail = len(request) - last
        if len(forwarded) < tail or list(forwarded[-tail:]) != list(request[last:]):
            found.append("newest round")
    if not _answered(forwarded):
        found.append("tool calls")
    return found
