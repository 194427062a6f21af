"""Ranked keyword search over tool names, descriptions and parameter names (Okapi BM25).

Names and parameter names count more than prose (their words are repeated in the
document); words are split on case changes, ``_``, ``-``, ``.`` and ``/`` and folded
to ASCII lowercase, so « écrire » finds « ecrire » and ``readTextFile`` finds « read ».
Built once per catalogue (the index is rebuilt only when the tool lists change).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import mcp_types as types

K1 = 1.2
B = 0.75
NAME_WEIGHT = 3
PARAMETER_WEIGHT = 2
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", _CAMEL.sub(" ", text))
    ascii_text = folded.encode("ascii", "ignore").decode().lower()
    return _WORD.findall(ascii_text)


def _parameters(tool: types.Tool) -> list[str]:
    properties = tool.input_schema.get("properties")
    return [str(key) for key in properties] if isinstance(properties, dict) else []


def document(tool: types.Tool) -> list[str]:
    terms = words(tool.name) * NAME_WEIGHT
    terms += words(tool.title or "") * NAME_WEIGHT
    for parameter in _parameters(tool):
        terms += words(parameter) * PARAMETER_WEIGHT
    terms += words(tool.description or "")
    return terms


@dataclass(frozen=True)
class Hit:
    name: str
    score: float


class SearchIndex:
    def __init__(self, tools: Sequence[types.Tool]) -> None:
        self._names = [tool.name for tool in tools]
        self._counts = [Counter(document(tool)) for tool in tools]
        self._lengths = [sum(c.values()) for c in self._counts]
        self._average = (sum(self._lengths) / len(self._lengths)) if self._lengths else 0.0
        frequency: Counter[str] = Counter()
        for counts in self._counts:
            frequency.update(counts.keys())
        total = len(tools)
        self._idf = {
            term: math.log(1 + (total - seen + 0.5) / (seen + 0.5))
            for term, seen in frequency.items()
        }

    def search(self, query: str, limit: int) -> list[Hit]:
        terms = list(dict.fromkeys(words(query)))
        hits: list[Hit] = []
        for name, counts, length in zip(self._names, self._counts, self._lengths, strict=True):
            score = 0.0
            for term in terms:
                tf = counts.get(term, 0)
                if tf:
                    norm = K1 * (1 - B + B * length / self._average)
                    score += self._idf[term] * tf * (K1 + 1) / (tf + norm)
            if score > 0:
                hits.append(Hit(name, round(score, 4)))
        hits.sort(key=lambda hit: (-hit.score, hit.name))
        return hits[:limit]
