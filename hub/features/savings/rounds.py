"""Tool rounds: the unit of recency for masking and compaction.

Today's agents send one user message (the task) and then hundreds of rounds: an
assistant message with ``tool_calls`` and the ``tool`` answers to them. A *round*
here starts at every assistant or user message and takes the ``tool`` (and
system) messages that follow it, so a cut placed at a round start never splits a
call from its answers. The *head* (every message before the model's first answer:
the system prompt, the task, and whatever an agent sends before it, such as an
in-context demonstration) is never rewritten, nor is the latest user message, nor the
newest round while it fits the window.

The frontier (how many of the oldest rounds are rewritten) moves in steps of
``batch`` rounds: between two steps the rewritten prefix is byte-identical from
turn to turn, so a provider's prompt cache keeps serving it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hub.core.jsontypes import JSON, as_object

SYSTEM_ROLES = ("system", "developer")
ROUND_ROLES = ("assistant", "user")


def role_of(message: JSON) -> str:
    obj = as_object(message)
    return str(obj.get("role")) if obj is not None else ""


def head_end(messages: Sequence[JSON], roles: Sequence[str] | None = None) -> int:
    """Every message before the first assistant message: system prompt, task, demonstration.

    Agents with in-context examples (SWE-agent 0.x) send a demonstration and then the
    task as two user messages before the model's first answer: both belong to the head.
    ``roles``: the messages' roles when the caller has them already.
    """
    roles = roles if roles is not None else [role_of(m) for m in messages]
    for index, role in enumerate(roles):
        if role == "assistant":
            return index
    return len(roles)


def latest_user(
    messages: Sequence[JSON], head: int, roles: Sequence[str] | None = None
) -> int | None:
    """Index of the last user message after the head (the last thing the user said)."""
    roles = roles if roles is not None else [role_of(m) for m in messages]
    for index in range(len(roles) - 1, head - 1, -1):
        if roles[index] == "user":
            return index
    return None


def round_starts(
    messages: Sequence[JSON], head: int, roles: Sequence[str] | None = None
) -> list[int]:
    """Index of the first message of each round after the head."""
    roles = roles if roles is not None else [role_of(m) for m in messages]
    starts = [i for i in range(head, len(roles)) if roles[i] in ROUND_ROLES]
    if head < len(roles) and (not starts or starts[0] != head):
        starts.insert(0, head)  # stray tool/system messages right after the head
    return starts


def natural_frontier(rounds: int, keep: int, batch: int) -> int:
    """How many of the oldest rounds are rewritten: a multiple of ``batch``, ``keep`` stay."""
    if rounds <= keep:
        return 0
    return (rounds - keep) // max(batch, 1) * max(batch, 1)


@dataclass(frozen=True)
class Levels:
    """Rounds ``[0, summarised)`` are summarised, ``[summarised, masked)`` masked, rest whole.

    "Whole" rounds still have their giant outputs shrunk, except the newest round:
    ``newest`` 0 sends it as it is, 1 shrinks its giant outputs, 2 masks every bulky
    content of it (only when it does not fit the window otherwise).
    """

    summarised: int
    masked: int
    newest: int = 0


def escalate(
    start: Levels,
    rounds: int,
    size: Callable[[Levels], int],
    budget: int,
    *,
    can_mask: bool,
    can_summarise: bool,
) -> Levels:
    """The first levels that fit ``budget``: mask, then summarise, one round at a time.

    The newest round is never touched. Returns the smallest configuration tried
    when none fits (the caller checks it against the hard window).
    """
    levels = start
    if size(levels) <= budget:
        return levels
    last = max(rounds - 1, 0)
    if can_summarise and levels.summarised < levels.masked:
        levels = Levels(levels.masked, levels.masked)  # summarise what is already masked
        if size(levels) <= budget:
            return levels
    if can_mask:
        while levels.masked < last:
            levels = Levels(levels.summarised, levels.masked + 1)
            if size(levels) <= budget:
                return levels
    if can_summarise:
        while levels.summarised < last:
            step = levels.summarised + 1
            levels = Levels(step, max(levels.masked, step))
            if size(levels) <= budget:
                return levels
    return levels
