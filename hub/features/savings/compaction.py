"""Compaction text: the running summary and the messages that carry it.

Pure functions. The summary of the oldest rounds (``hub.features.savings.layout``)
is one text of appended segments; ``summary_block`` gives it the role the
conversation expects next, with a short note of the other role when needed so roles
keep alternating. Their words are the prompt's language (``Wording``).
"""

from __future__ import annotations

from collections.abc import Sequence

from hub.core.jsontypes import JSON
from hub.features.savings.wording import ENGLISH, Wording


def running_summary(segments: Sequence[tuple[int, int, str]], wording: Wording = ENGLISH) -> str:
    """One summary text for rounds ``[a, b)`` of each segment, oldest first.

    Segments are only ever appended: the text of the older ones stays byte-identical,
    so a prompt cache keeps serving them after the newest segment is added.
    """
    parts = [wording.summary_marker]
    for start, end, text in segments:
        parts.append(f"{wording.steps.format(first=start + 1, last=end)}\n{text.strip()}")
    return "\n".join(parts)


def summary_block(before: str, after: str, summary: str, wording: Wording = ENGLISH) -> list[JSON]:
    """The summary between a message of role ``before`` and one of role ``after``.

    The summary takes the role the conversation expects next (assistant after the
    task); a note of the other role follows only when the next message has the
    summary's own role, so roles keep alternating.
    """
    role = "assistant" if before == "user" else "user"
    block: list[JSON] = [{"role": role, "content": summary}]
    if after == role:
        block.append(
            {"role": "user", "content": wording.continue_note}
            if role == "assistant"
            else {"role": "assistant", "content": wording.acknowledgement}
        )
    return block
