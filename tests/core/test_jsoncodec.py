"""The hot path's JSON (orjson) against the reference (`json`): same values, same errors."""

import json
import math
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.core.jsoncodec import dumps, loads
from hub.core.jsontypes import JSON, has_lone_surrogate

# Every JSON value, with the edges where orjson and json part: integers past 64 bits,
# floats at the ends of their range, any text (lone surrogates included), deep nesting.
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**62, max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec=None))
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


def _outcome(parse: Callable[[bytes], object], raw: bytes) -> tuple[str, str]:
    """What a parser made of ``raw``: the value (``repr`` tells 1 from 1.0 and -0.0 from 0.0)
    or the kind of error."""
    try:
        return "value", repr(parse(raw))
    except UnicodeDecodeError:
        return "error", "unicode"
    except (ValueError, RecursionError):
        return "error", "value"


def _non_finite(value: object) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        value = list(value.values())
    return isinstance(value, list) and any(_non_finite(item) for item in value)


def _reference(raw: bytes) -> object:
    parsed = json.loads(raw.decode("utf-8"))
    if _non_finite(parsed):
        raise ValueError("NaN, Infinity : pas du JSON")
    return parsed


@settings(deadline=None)  # a loaded CI core: no per-example time limit
@given(values, st.booleans(), st.sampled_from([None, 1]))
def test_loads_reads_what_json_reads(value: JSON, ascii_only: bool, indent: int | None) -> None:
    raw = json.dumps(value, ensure_ascii=ascii_only, indent=indent).encode("utf-8", "surrogatepass")
    assert _outcome(loads, raw) == _outcome(_reference, raw)


@settings(deadline=None)  # a loaded CI core: no per-example time limit
@given(st.binary(max_size=60) | values.map(lambda v: json.dumps(v)[:-1].encode("utf-8", "replace")))
def test_loads_refuses_what_json_refuses(raw: bytes) -> None:
    assert _outcome(loads, raw) == _outcome(_reference, raw)


@settings(deadline=None)  # a loaded CI core: no per-example time limit
@given(values)
def test_dumps_round_trips(value: JSON) -> None:
    if has_lone_surrogate(value):
        return  # never reaches dumps: read_json refuses it first (errors.invalid_unicode)
    assert repr(json.loads(dumps(value).decode("utf-8"))) == repr(json.loads(json.dumps(value)))


@pytest.mark.parametrize(
    "raw", [b'{"t": NaN}', b"[Infinity]", b"[-Infinity]", b'{"t": 1e400}', b"[-1e999]"]
)
def test_non_finite_numbers_are_refused(raw: bytes) -> None:
    with pytest.raises(ValueError) as caught:
        loads(raw)
    assert "JSON" in str(caught.value) or "hors limites" in str(caught.value)


def test_integers_past_64_bits_survive_both_ways() -> None:
    raw = b'{"seed": 123456789012345678901234567890, "n": -9223372036854775809}'
    parsed = loads(raw)
    assert parsed == {"seed": 123456789012345678901234567890, "n": -9223372036854775809}
    assert json.loads(dumps(parsed)) == parsed
    assert dumps({"é": 1.5, "x": [True, None]}) == '{"é":1.5,"x":[true,null]}'.encode()
    largest = loads(b"[1.7976931348623157e308]")
    assert isinstance(largest, list) and isinstance(largest[0], float)
    assert math.isfinite(largest[0])
