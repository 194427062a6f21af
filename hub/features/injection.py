"""Text that tells a model to drop its instructions ("ignore previous instructions").

Tool results and tool descriptions come from servers the user does not control; text
in them that addresses the model is a classic prompt-injection vector. The hub flags it
(audit row, bus event, server warning) and never rewrites it: a false positive must not
change what the agent reads, and a rewritten attack would hide the evidence.

Patterns are English and French, on the lower-cased text, accents optional; they aim at
the phrasings seen in published attacks, not at every mention of "instruction". Each
starts with a literal word and runs alone, only when its keyword is in the text: one
alternation of them all cost ~0.5 µs a character (7.5 s on a 16 MB result), these cost
a few nanoseconds (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import re

EXCERPT_CHARS = 120
WINDOW = 256 * 1024
OVERLAP = 1024  # longer than any match
_E = "[eéèêë]"
_A = "[aàâä]"
_VERB_EN = r"(?:ignor(?:e|ing)|disregard|forget|override|bypass)"
_EARLIER = r"(?:previous|prior|preceding|above|earlier|former|original|system)"
_ORDERS = r"(?:instructions?|prompts?|messages?|directions?|rules|guidelines|context)"
_ORDERS_FR = rf"(?:instructions|consignes|r{_E}gles|directives)"
_EARLIER_FR = rf"(?:pr{_E}c{_E}dentes|ant{_E}rieures|ci-dessus|initiales|du\s+syst{_E}me)"
_USER_FR = r"l['’]utilisat(?:eur|rice)"

# (literals one of which every match holds, the pattern): patterns start with a word
_RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("ignor", "disregard", "forget", "override", "bypass"),
        rf"{_VERB_EN}\s+(?:(?:all|any|the|your|of)\s+)*{_EARLIER}\s+{_ORDERS}\b",
    ),
    (("the user",), r"do\s+not\s+(?:tell|inform|alert|mention\s+(?:this\s+)?to)\s+the\s+user\b"),
    (("the user",), r"without\s+(?:telling|informing|alerting)\s+the\s+user\b"),
    (("mode",), r"you\s+are\s+now\s+(?:in\s+)?(?:developer|dan|jailbreak|god)\s*mode\b"),
    (("instructions",), r"new\s+(?:system\s+)?instructions\s*:"),
    (("im_start",), r"<\|im_start\|>\s*system"),
    (("inst]",), r"\[/?inst\]"),
    (("system",), r"<\s*/?\s*system\s*>"),
    (
        ("ignor", "oubli", "glige"),
        rf"(?:ignor{_E}|oublie|n{_E}glige)[rsz]?\s+(?:toutes\s+|tous\s+)?"
        rf"(?:les\s+|tes\s+|vos\s+|ces\s+)?{_ORDERS_FR}\s+{_EARLIER_FR}",
    ),
    (
        ("utilisat",),
        rf"ne\s+(?:le\s+|rien\s+)?(?:dis|dites|r{_E}v{_E}le[sz]?|mentionne[sz]?)\s+"
        rf"(?:pas\s+|rien\s+)?{_A}\s+{_USER_FR}",
    ),
    (
        ("utilisat",),
        rf"sans\s+(?:le\s+)?(?:dire|signaler|pr{_E}venir|informer)\s+(?:{_A}\s+)?{_USER_FR}",
    ),
    (("nouvelles",), r"nouvelles\s+(?:instructions|consignes)\s*:"),
    (("mode",), rf"tu\s+es\s+(?:maintenant|d{_E}sormais)\s+en\s+mode\s+(?:d{_E}veloppeur|dan)"),
)
_COMPILED = tuple((keys, re.compile(pattern)) for keys, pattern in _RULES)
_KEYS = frozenset(key for keys, _ in _RULES for key in keys)


def injection_excerpt(text: str) -> str | None:
    """The first instruction-injection phrase found in ``text`` (trimmed), else None.

    Read in windows of ``WINDOW`` characters (overlapping by more than a match is long):
    a regular expression holds the GIL for its whole call, so a 16 MB text in one call
    would stall the event loop even from a worker thread.
    """
    for start in range(0, max(len(text), 1), WINDOW):
        found = _scan(text[start : start + WINDOW + OVERLAP])
        if found is not None:
            return found
    return None


def _scan(window: str) -> str | None:
    lowered = window.lower()
    # lower() keeps the length but for a few letters (İ): then the excerpt stays lower-case
    shown = window if len(lowered) == len(window) else lowered
    present = {key for key in _KEYS if key in lowered}
    for keys, pattern in _COMPILED:
        if present.isdisjoint(keys):
            continue
        for found in pattern.finditer(lowered):
            start, end = found.span()
            if start == 0 or not lowered[start - 1].isalnum():  # a word starts there
                return " ".join(shown[start:end].split())[:EXCERPT_CHARS]
    return None
