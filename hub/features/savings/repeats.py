"""Outputs that a later output repeats: an editor view shown again after an edit, a file
region opened twice, a test suite run again.

Agents look at the same thing over and over; once a later tool answer repeats most
lines of an earlier one, the earlier one adds little to what the model has in view.
It shrinks to the lines found only in it (the old version of the edited lines, a
line the new view scrolled past) and its ``mask:<hash>`` reference. Line numbers
printed by viewers (``166:``, ``cat -n``) are ignored when lines are compared, so an
insertion that shifts them still counts as a repeat. Pure functions; the layout
decides where the shrunk form is used (never in the newest round, never in the head).
"""

from __future__ import annotations

import re

from hub.features.savings.salient import clip
from hub.features.savings.wording import Wording

NUMBERED = re.compile(r"^\s*\d+\s*[:|\t]")
MIN_LINES = 8  # shorter outputs are not worth a comparison
SHARE = 0.6  # of an output's distinct lines found in the later one: a repeat
ONLY_LINES = 40  # lines found only in the older output, kept in its shrunk form
MIN_CHARS = 4  # braces and blank lines are in every view: not compared


def line_set(text: str) -> frozenset[str]:
    """The distinct lines of an output, without the line numbers a viewer printed."""
    found = set()
    for line in text.splitlines():
        core = NUMBERED.sub("", line, count=1).strip()
        if len(core) >= MIN_CHARS:
            found.add(core)
    return frozenset(found)


def repeats(older: frozenset[str], newer: frozenset[str]) -> bool:
    """``newer`` shows most of ``older``'s lines again."""
    return len(older) >= MIN_LINES and len(older & newer) >= SHARE * len(older)


def shrunk(text: str, newer: frozenset[str], tokens: int, digest: str, wording: Wording) -> str:
    """The older output as a note: the lines the later one does not show, and the reference."""
    only: list[str] = []
    seen: set[str] = set()
    for line in text.splitlines():
        core = NUMBERED.sub("", line, count=1).strip()
        if len(core) >= MIN_CHARS and core not in newer and core not in seen:
            seen.add(core)
            only.append(clip(line))
    parts = [wording.repeated.format(tokens=tokens, lines=len(text.splitlines()))]
    parts += only[:ONLY_LINES] or [wording.nothing_else]
    if len(only) > ONLY_LINES:
        parts.append(f"… (+{len(only) - ONLY_LINES})")
    parts.append(wording.reference.format(digest=digest))
    return "\n".join(parts)
