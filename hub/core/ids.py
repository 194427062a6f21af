"""Integers from text that people and pages send: ASCII digits within SQLite's range.

``int()`` alone accepts "٣", "1_000" and " +7 ", and values past 2**63 - 1 that
SQLite cannot bind (an OverflowError, so a 500): every id, limit and offset read
from a path, a query or a header goes through here instead.
"""

from __future__ import annotations

MAX_ID = 2**63 - 1
MAX_DIGITS = len(str(MAX_ID))


def ascii_int(text: str) -> int | None:
    """The non-negative integer ``text`` spells in ASCII digits, or None."""
    text = text.strip()
    if not text or len(text) > MAX_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= MAX_ID else None
