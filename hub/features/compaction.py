"""Compaction: older turns become one summary exchange; the rest stays byte-identical.

Pure functions over a message list. The cut is always placed on a user message,
so an assistant ``tool_calls`` entry and its ``tool`` answers are never split.
The summary goes in as a user message followed by a short assistant
acknowledgement: the kept tail starts with a user message, so the role order
the provider sees keeps alternating exactly as the original did. Leading system
messages stay first; system messages from the replaced region are kept, in order,
right after the summary exchange.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from hub.core.jsontypes import JSON, JSONObject, as_object
from hub.features.rounds import SYSTEM_ROLES, role_of

SUMMARY_MARKER = "[Résumé de la conversation antérieure, rédigé par Kimi Proxy Hub]"
ACKNOWLEDGEMENT = "Compris : je poursuis à partir de ce résumé."
CONTINUE = "Poursuis la tâche à partir de ce résumé."


def leading_system(messages: Sequence[JSON]) -> int:
    """How many messages at the start are system (or developer) messages."""
    count = 0
    while count < len(messages) and role_of(messages[count]) in SYSTEM_ROLES:
        count += 1
    return count


def user_indices(messages: Sequence[JSON]) -> list[int]:
    return [i for i, message in enumerate(messages) if role_of(message) == "user"]


def compaction_cut(messages: Sequence[JSON], keep_recent_exchanges: int) -> int | None:
    """Index of the first kept message: the start of the N-th last exchange.

    None when there is nothing older than the kept exchanges to replace.
    """
    starts = user_indices(messages)
    if keep_recent_exchanges <= 0 or len(starts) <= keep_recent_exchanges:
        return None
    cut = starts[-keep_recent_exchanges]
    return cut if replaced_region(messages, cut) else None


def message_digest(message: JSON) -> bytes:
    canonical = json.dumps(message, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).digest()


def prefix_hashes(messages: Sequence[JSON]) -> list[str]:
    """``result[i]`` identifies ``messages[:i]`` (chained, so one pass for all i)."""
    hashes = [hashlib.sha256(b"kimi-prefix").hexdigest()]
    state = hashlib.sha256(b"kimi-prefix").digest()
    for message in messages:
        state = hashlib.sha256(state + message_digest(message)).digest()
        hashes.append(state.hex())
    return hashes


def is_summary(message: JSON) -> bool:
    obj = as_object(message)
    content = obj.get("content") if obj is not None else None
    return isinstance(content, str) and content.startswith(SUMMARY_MARKER)


def summary_exchange(summary: str) -> list[JSON]:
    text = summary if summary.startswith(SUMMARY_MARKER) else f"{SUMMARY_MARKER}\n{summary}"
    user: JSONObject = {"role": "user", "content": text}
    assistant: JSONObject = {"role": "assistant", "content": ACKNOWLEDGEMENT}
    return [user, assistant]


def replaced_region(messages: Sequence[JSON], cut: int) -> list[JSON]:
    """The messages a summary replaces (system messages excluded)."""
    head = leading_system(messages)
    return [m for m in messages[head:cut] if role_of(m) not in SYSTEM_ROLES]


def replacement_prefix(messages: Sequence[JSON], cut: int, summary: str) -> list[JSON]:
    """What stands in for ``messages[:cut]``: system prompt, summary exchange, systems."""
    head = leading_system(messages)
    kept_systems = [m for m in messages[head:cut] if role_of(m) in SYSTEM_ROLES]
    return [*messages[:head], *summary_exchange(summary), *kept_systems]


def compacted(messages: Sequence[JSON], cut: int, summary: str) -> list[JSON]:
    return [*replacement_prefix(messages, cut, summary), *messages[cut:]]


def running_summary(segments: Sequence[tuple[int, int, str]]) -> str:
    """One summary text for rounds ``[a, b)`` of each segment, oldest first.

    Segments are only ever appended: the text of the older ones stays byte-identical,
    so a prompt cache keeps serving them after the newest segment is added.
    """
    parts = [SUMMARY_MARKER]
    for start, end, text in segments:
        parts.append(f"### Étapes {start + 1} à {end}\n{text.strip()}")
    return "\n".join(parts)


def summary_block(before: str, after: str, summary: str) -> list[JSON]:
    """The summary between a message of role ``before`` and one of role ``after``.

    The summary takes the role the conversation expects next (assistant after the
    task); an acknowledgement of the other role follows only when the kept rounds
    start with the summary's own role, so roles keep alternating.
    """
    role = "assistant" if before == "user" else "user"
    block: list[JSON] = [{"role": role, "content": summary}]
    if after == role:
        block.append(
            {"role": "user", "content": CONTINUE}
            if role == "assistant"
            else {"role": "assistant", "content": ACKNOWLEDGEMENT}
        )
    return block
