"""JSON on the proxy's hot path: orjson, with the standard library as the reference.

Per proxied request the hub parses the client's body and the provider's answer and
encodes the upstream body and two journal lines; orjson does that several times faster
than ``json`` (docs/BENCHMARKS.md). Everywhere else (exports, MCP, token counting) ``json`` stays:
off the hot path, its output (``", "`` separators) is what token counts were made with.

``loads`` gives what ``json.loads`` gives, or raises what it raises: the input goes to
``json`` whenever orjson refuses it (a lone ``\\ud800``, 1 025 levels of nesting…) or
could read it differently (orjson turns integers past 64 bits into floats: any run of 19
digits takes the reference path). One deliberate difference: ``NaN``, ``Infinity`` and
numbers that overflow to infinity are refused (``ValueError``) on both paths. They are not
JSON (RFC 8259), no provider parses them, and ``json`` would have let them through to be
written back as ``NaN``. A property test holds the two paths to that.
"""

from __future__ import annotations

import json
import math

import orjson

from hub.core.jsontypes import JSON

# 19 digits reach past 2**63: such an integer would come back from orjson as a float.
# Found by mapping every digit to "0" and the rest to " ", then a substring search: 1.5 ns
# a byte, where ``re.search(rb"[0-9]{19}")`` took 22 (more than orjson's whole parse).
_DIGITS_ONLY = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_NUMBER = b"0" * 19
MAX_DEPTH = 254  # levels of lists and objects: what orjson encodes


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"nombre hors limites : {text[:40]}")
    return value


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} n'est pas une valeur JSON")


def loads(raw: bytes) -> JSON:
    """``json.loads(raw.decode("utf-8"))``, faster.

    Raises ``UnicodeDecodeError`` (not UTF-8, UTF-8-encoded surrogates included),
    ``ValueError`` (not JSON) or ``RecursionError`` (nested too deep), as ``json`` does.
    """
    if _LONG_NUMBER not in raw.translate(_DIGITS_ONLY):
        try:
            parsed: JSON = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # the reference path says why, in its own words
        else:
            return parsed
    text = raw.decode("utf-8")
    reference: JSON = json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    return reference


def dumps(value: JSON) -> bytes:
    """Compact UTF-8 JSON (no ``ensure_ascii`` escapes).

    Integers past 64 bits (only a body parsed by the reference path holds one) are
    encoded by ``json``.
    """
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def too_deep(value: JSON) -> bool:
    """Lists and objects nested more than ``MAX_DEPTH`` levels.

    ``loads`` accepts 1 024 levels (orjson) or what the recursion limit allows (``json``),
    but ``json`` encoding such a body later, deep in a request's call stack, fails past
    ~950 (a 500 with an English RecursionError). orjson's encoder finds the depth fastest
    (a fraction of the parse); a body it refuses for another reason (an integer past 64
    bits) is walked.
    """
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        return "Recursion" in str(exc) or _depth(value) > MAX_DEPTH
    return False


def _depth(value: JSON) -> int:
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, level + 1) for child in children)
    return deepest
