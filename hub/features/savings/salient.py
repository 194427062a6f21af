"""Salient facts in bulky text: error lines, file paths, code outlines, names, failing tests.

Shared by the sanitizer (placeholders keep them) and the extractive digest of rounds.
Plain regular expressions: deterministic, fast, no model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

ERROR_LINE = re.compile(
    r"(Traceback \(most recent call last\)|\b\w*(Error|Exception|Warning)\b[:(]"
    r"|\bFAILED\b|\bFAIL:|\bERROR\b|panic:|fatal:|\berror(\[\w+\])?:|Erreur|échec"
    r"|\bassert\b.*==|^E\s{2,}\S)",
    re.IGNORECASE | re.MULTILINE,
)
EXCEPTION_LINE = re.compile(r"^\s*(E\s+)?[\w.]*(Error|Exception|Warning|Exit)\b:")
FRAME = re.compile(r'File "([^"]+)", line (\d+), in ([\w<>.]+)')
PATH = re.compile(
    r"(?<![\w/.-])(/?(?:[\w.-]+/)+[\w.-]+\.[A-Za-z]{1,8}|[\w-]+\.(?:py|ts|tsx|js|mjs|rs|go|java|"
    r"toml|json|yaml|yml|md|cfg|ini|sql|sh|html|css|txt|lock))(?![\w/])"
)
MAX_LINE = 240


def unique(items: Iterable[str], limit: int) -> list[str]:
    """Order-preserving de-duplication, stopping at ``limit`` items."""
    seen: dict[str, None] = {}
    for item in items:
        if item and item not in seen:
            seen[item] = None
            if len(seen) >= limit:
                break
    return list(seen)


def clip(line: str, limit: int = MAX_LINE) -> str:
    line = line.strip()
    return line if len(line) <= limit else line[: limit - 1] + "…"


def error_lines(text: str, limit: int = 40) -> list[str]:
    """Lines that report an error, de-duplicated; exception lines (``KeyError: …``) first.

    Exception lines carry the message a reader needs most, so they are kept before
    log lines and test-summary lines when ``limit`` is reached.
    """
    found = [clip(line) for line in text.splitlines() if ERROR_LINE.search(line)]
    found = [line for line in found if not line.startswith("File ")]
    first = [line for line in found if EXCEPTION_LINE.search(line)]
    return unique((*first, *found), limit)


def paths(text: str, limit: int = 100) -> list[str]:
    return unique((m.group(1) for m in PATH.finditer(text)), limit)


def salient_lines(text: str, limit: int = 12) -> list[str]:
    """What a masked block must still say: its errors, then its frames' locations."""
    lines = error_lines(text, limit)
    frames = [f"{m.group(1)}:{m.group(2)} {m.group(3)}" for m in FRAME.finditer(text)]
    return unique((*lines, *frames[-4:]), limit)


DEFINITION = re.compile(
    r"^\s*(?:\d+[:\s|]\s*)?(?:export\s+)?(?:async\s+)?(?:pub\s+)?"
    r"(?:(?:public|private|protected|static|final|abstract)\s+)*"
    r"(class|def|function|func|fn|interface|enum|struct|impl|trait)\s+([A-Za-z_$][\w$]*)"
)
NUMBERED = re.compile(r"^\s*(\d+)[:\s|]")
FAILING_TEST = re.compile(
    r"(?:^(?:FAILED|ERROR)\s+(\S+::\S+)|^(\S+::\S+)\s+(?:FAILED|ERROR)\b"
    r"|^(?:FAIL|ERROR):\s+(\w+)\s+\(([\w.]+)\)|^\[ERROR\]\s+(\S+?)(?:\s|:|$))",
    re.MULTILINE,
)


def outline(text: str, limit: int = 40, word: str = "line") -> list[str]:
    """``class``/``def``/``function`` names of a code dump with their line numbers.

    The line number is the one printed by the tool (``cat -n``, ``nl``, an editor
    view) when the dump carries them, else the line's position in the dump.
    ``word`` is written before the number (the prompt's language).
    """
    found: list[str] = []
    for position, line in enumerate(text.splitlines(), start=1):
        match = DEFINITION.match(line)
        if match is None:
            continue
        numbered = NUMBERED.match(line)
        number = numbered.group(1) if numbered else str(position)
        found.append(f"{match.group(1)} {match.group(2)} ({word} {number})")
    return unique(found, limit)


# Names a reader can tell from prose: snake_case, CamelCase, lowerCamelCase, UPPER_CASE
# with an underscore; plain words (``value``, ``parse``) are only taken after a keyword
# that defines them (``def parse``), since prose is full of them.
COMPOUND = re.compile(
    r"\b_*(?:[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]*[A-Za-z0-9]"
    r"|[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+|[a-z][a-z0-9]*(?:[A-Z][A-Za-z0-9]*)+)\b"
)
DEFINED_NAME = re.compile(
    r"\b(?:def|class|fn|func|function|struct|interface|enum|trait|type)\s+([A-Za-z_$][\w$]*)"
)
NAME_MIN = 4


def names(text: str, limit: int = 200, known: set[str] | None = None) -> list[str]:
    """The identifiers a code view or log shows (defined or used), first seen first.

    What agents come back for after reading code: local variables, attributes, helper
    names. ``known`` names (already written elsewhere) are skipped and the new ones added.
    Names inside file paths are not taken: a listing's file names are its paths.
    """
    text = PATH.sub(" ", text)
    spots = [(m.start(), m.group(0)) for m in COMPOUND.finditer(text)]
    spots += [(m.start(1), m.group(1)) for m in DEFINED_NAME.finditer(text)]
    found = [name for _, name in sorted(spots)]
    skip = known if known is not None else set()
    picked = unique((n for n in found if len(n) >= NAME_MIN and n not in skip), limit)
    if known is not None:
        known.update(picked)
    return picked


def failing_tests(text: str, limit: int = 20) -> list[str]:
    """Test ids reported as failed (pytest, unittest, Maven/JUnit summaries)."""
    names = []
    for match in FAILING_TEST.finditer(text):
        groups = [g for g in match.groups() if g]
        names.append("::".join(groups[:1]) if len(groups) == 1 else f"{groups[1]}.{groups[0]}")
    return unique(names, limit)
