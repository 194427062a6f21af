"""Text that tells a model to drop its instructions ("ignore previous instructions").

Tool results and tool descriptions come from servers the user does not control; text
in them that addresses the model is a classic prompt-injection vector. The hub flags it
(audit row, bus event, server warning) and never rewrites it: a false positive must not
change what the agent reads, and a rewritten attack would hide the evidence.

Patterns are English and French, case-insensitive, accents optional; they aim at the
phrasings seen in published attacks, not at every mention of the word "instruction".
"""

from __future__ import annotations

import re

EXCERPT_CHARS = 120
_E = "[eéèêë]"
_A = "[aàâä]"

_PATTERNS = (
    # English
    r"\b(?:ignore|disregard|forget|override|bypass)\s+(?:all\s+|any\s+|the\s+|your\s+|of\s+)*"
    r"(?:previous|prior|preceding|above|earlier|former|original|system)\s+"
    r"(?:instructions?|prompts?|messages?|directions?|rules|guidelines|context)\b",
    r"\bdo\s+not\s+(?:tell|inform|alert|mention\s+(?:this\s+)?to)\s+the\s+user\b",
    r"\bwithout\s+(?:telling|informing|alerting)\s+the\s+user\b",
    r"\byou\s+are\s+now\s+(?:in\s+)?(?:developer|dan|jailbreak|god)\s*mode\b",
    r"\bnew\s+(?:system\s+)?instructions\s*:",
    r"<\|im_start\|>\s*system|\[/?INST\]|<\s*/?\s*system\s*>",
    # French
    rf"\b(?:ignore[rsz]?|oublie[rsz]?|n{_E}glige[rsz]?)\s+(?:toutes\s+|tous\s+)?"
    rf"(?:les\s+|tes\s+|vos\s+|ces\s+)?(?:instructions|consignes|r{_E}gles|directives)\s+"
    rf"(?:pr{_E}c{_E}dentes|ant{_E}rieures|ci-dessus|initiales|du\s+syst{_E}me)\b",
    rf"\bne\s+(?:le\s+|rien\s+)?(?:dis|dites|r{_E}v{_E}le[sz]?|mentionne[sz]?)\s+"
    rf"(?:pas\s+|rien\s+)?{_A}\s+l'utilisat(?:eur|rice)\b",
    rf"\bsans\s+(?:le\s+)?(?:dire|signaler|pr{_E}venir|informer)\s+(?:{_A}\s+)?"
    r"l'utilisat(?:eur|rice)\b",
    r"\bnouvelles\s+(?:instructions|consignes)\s*:",
    r"\btu\s+es\s+(?:maintenant|d[ée]sormais)\s+en\s+mode\s+(?:d[ée]veloppeur|dan|jailbreak)\b",
)
_SUSPICIOUS = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)


def injection_excerpt(text: str) -> str | None:
    """The first instruction-injection phrase in ``text`` (trimmed), else None."""
    found = _SUSPICIOUS.search(text)
    if found is None:
        return None
    return " ".join(found.group(0).split())[:EXCERPT_CHARS]
