"""Compaction text: the running summary and the messages that carry it.

Pure functions. The summary of the oldest rounds (``hub.features.savings.layout``)
is one text of appended segments; ``summary_block`` gives it the role the
conversation expects next, with a short acknowledgement when needed so roles keep
alternating.
"""

from __future__ import annotations

from collections.abc import Sequence

from hub.core.jsontypes import JSON

SUMMARY_MARKER = "[Résumé de la conversation antérieure, rédigé par Kimi Proxy Hub]"
ACKNOWLEDGEMENT = "Compris : je poursuis à partir de ce résumé."
CONTINUE = "Poursuis la tâche à partir de ce résumé."


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
