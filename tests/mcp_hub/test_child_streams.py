"""What a stdio child writes, read defensively: lines in linear time with a size cap,
progress floods thinned, progress relayed at a bounded rate."""

from __future__ import annotations

import json
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.features.mcp_hub.lines import LineSplitter, Oversized
from hub.features.mcp_hub.progress import BURST, CoalescedProgress, LineThrottle

LINES = st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=20)


def split_all(data: bytes, cuts: list[int], limit: int) -> list[bytes | Oversized]:
    splitter = LineSplitter(limit)
    found: list[bytes | Oversized] = []
    start = 0
    for cut in [*sorted(cuts), len(data)]:
        found += splitter.feed(data[start:cut])
        start = max(start, cut)
    rest = splitter.rest()
    return found + ([rest] if rest is not None else [])


@settings(max_examples=300, deadline=None)
@given(LINES, st.lists(st.integers(0, 1000), max_size=30))
def test_any_chunking_gives_the_same_lines(lines: list[bytes], cuts: list[int]) -> None:
    data = b"\n".join(lines)
    expected = data.split(b"\n")
    if expected[-1] == b"":  # after the last newline: no line yet
        expected.pop()
    assert split_all(data, [c % (len(data) + 1) for c in cuts], 10_000) == expected


@settings(max_examples=200, deadline=None)
@given(LINES, st.integers(1, 30))
def test_lines_over_the_limit_come_out_as_oversized(lines: list[bytes], limit: int) -> None:
    data = b"\n".join(lines) + b"\n"
    for line, got in zip(data.split(b"\n"), split_all(data, [7, 19], limit), strict=False):
        if len(line) <= limit:
            assert got == line
        else:
            assert isinstance(got, Oversized) and got.size == len(line)
            assert got.head == line[:512] and got.tail == line[-512:]


def test_an_oversized_response_keeps_its_id_first_or_last() -> None:
    body = "x" * 100_000
    python = json.dumps({"jsonrpc": "2.0", "id": 7, "result": {"t": body}}).encode()
    typescript = json.dumps({"result": {"t": body}, "jsonrpc": "2.0", "id": "r-8"}).encode()
    nested = json.dumps({"method": "x", "params": {"id": 9, "t": body}}).encode()
    found = split_all(python + b"\n" + typescript + b"\n" + nested + b"\n", [5000, 150_000], 1000)
    assert [o.message_id() for o in found if isinstance(o, Oversized)] == [7, "r-8", None]


def test_reading_is_linear_in_the_line_length() -> None:
    """The old reader re-split its whole buffer on every chunk: quadratic (150 MB of
    stderr without a newline held the loop for seconds). Ratio of two sizes, one run."""

    def cost(megabytes: int) -> float:
        chunk = b"e" * 65_536
        splitter = LineSplitter(1024 * 1024)
        started = time.perf_counter()
        for _ in range(megabytes * 16):
            for _line in splitter.feed(chunk):
                pass
        return time.perf_counter() - started

    cost(4)  # warm up
    # interleaved, best of 5: one pause of a loaded machine (seen: 25x once, in a fresh
    # clone's run) must not land on one size only
    pairs = [(cost(8), cost(64)) for _ in range(5)]
    small, large = min(p[0] for p in pairs), min(p[1] for p in pairs)
    assert large / small < 8 * 3, (small, large)  # 8x the bytes; quadratic would be 64x


def progress_line(token: object, value: int) -> bytes:
    params = {"progressToken": token, "progress": value}
    message = {"jsonrpc": "2.0", "method": "notifications/progress", "params": params}
    return json.dumps(message).encode()


def test_a_progress_flood_is_thinned_before_parsing() -> None:
    throttle = LineThrottle(3600.0)  # past the burst, nothing passes within the test
    delivered: list[bytes] = []
    for value in range(1, 1001):
        delivered += throttle.admit(progress_line("a", value))
        delivered += throttle.admit(progress_line(5, value))
    response = b'{"jsonrpc":"2.0","id":1,"result":{}}'
    delivered += throttle.admit(response)
    values = [json.loads(line)["params"]["progress"] for line in delivered[:-1]]
    burst = [value for value in range(1, BURST + 1) for _ in ("a", 5)]
    assert values == [*burst, 1000, 1000] and delivered[-1] == response  # last ones before it
    assert throttle.release() == []
    assert throttle.admit(b'{"method":"notifications/progress"') == [
        b'{"method":"notifications/progress"'
    ]  # not JSON: passed on for the session to report


async def test_progress_values_are_coalesced_and_never_go_back() -> None:
    sent: list[float] = []

    async def relay(progress: float, total: float | None, message: str | None) -> None:
        sent.append(progress)

    coalesced = CoalescedProgress(relay, 3600.0)
    values = [*range(1, BURST + 1), 7, BURST, 9]  # past the burst: held, newest wins
    for value in values:
        await coalesced(value, None, None)
    await coalesced.flush()
    await coalesced(8, None, None)  # lower than what was sent: dropped
    await coalesced.flush()
    assert sent == [*range(1, BURST + 1), 9] and coalesced.received == len(values) + 1
    every = CoalescedProgress(relay, 0.0)  # interval 0: every increasing value
    sent.clear()
    for value in (1, 2, 2, 3):
        await every(value, None, None)
    assert sent == [1, 2, 3]
