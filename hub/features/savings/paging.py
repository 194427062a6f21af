"""A page of a masked original: by line range or by character offset.

A giant output shrunk to its placeholder (head, tail, outline, errors) stays
reachable in pieces: ``mask_get`` (MCP) and ``GET /api/mask/{hash}`` take a line range
(``lines="120-180"``, 1-based, inclusive; ``"120-"`` to the end, ``"120"`` one line) or
an ``offset`` and ``length`` in characters. Pages are exact slices of the original:
joined in order, they give it back byte for byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LINES = re.compile(r"^\s*(\d+)\s*(?:(-)\s*(\d*))?\s*$")


class PageError(ValueError):
    """A line range or an offset that does not describe a page (message in French)."""


@dataclass(frozen=True)
class Page:
    text: str
    total_lines: int
    total_chars: int
    first_line: int | None = None  # of a line range, 1-based
    last_line: int | None = None
    offset: int | None = None  # of a character range
    length: int | None = None


def by_lines(text: str, spec: str) -> Page:
    match = LINES.match(spec)
    if match is None:
        raise PageError(f"Plage de lignes invalide « {spec} » : « 10-20 », « 10- » ou « 10 ».")
    lines = text.splitlines(keepends=True)
    first = int(match.group(1))
    last = int(match.group(3)) if match.group(3) else (len(lines) if match.group(2) else first)
    if first < 1 or last < first:
        raise PageError(f"Plage de lignes invalide « {spec} » : lignes numérotées à partir de 1.")
    last = min(last, len(lines))
    return Page("".join(lines[first - 1 : last]), len(lines), len(text), first, last)


def by_offset(text: str, offset: int, length: int | None) -> Page:
    if offset < 0 or (length is not None and length < 0):
        raise PageError("« offset » et « length » doivent être positifs ou nuls.")
    end = len(text) if length is None else offset + length
    piece = text[offset:end]
    return Page(piece, len(text.splitlines()), len(text), offset=offset, length=len(piece))
