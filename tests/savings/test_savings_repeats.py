"""An output that a later output shows again (an editor view after an edit) shrinks to the
lines found only in it, in recent rounds too; the newest round and the head stay as sent."""

from __future__ import annotations

import json

import pytest

from hub.core.tokens import TokenCounter, load_encoding
from hub.features.savings.layout import Layout
from hub.features.savings.repeats import line_set, repeats
from hub.features.savings.rounds import Levels
from hub.features.savings.sanitizer import MaskMemo
from hub.features.savings.state import History
from tests.support.json_values import Json, JsonObject


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter(load_encoding())


def view(edited: str, shift: int = 0) -> str:
    """A SWE-agent-like editor window; an insertion above shifts the line numbers."""
    lines = [
        f"{160 + shift + i}:            builder.addProperty(prop_{i}, value_{i});"
        for i in range(40)
    ]
    lines[6] = f"{166 + shift}:            {edited}"
    return "[File: /repo/src/main/java/Thing.java (420 lines total)]\n" + "\n".join(lines)


def run_of(outputs: list[str]) -> list[JsonObject]:
    run: list[JsonObject] = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "task"},
    ]
    for i, output in enumerate(outputs):
        call: Json = {
            "id": f"c{i}",
            "type": "function",
            "function": {"name": "edit", "arguments": "{}"},
        }
        run += [
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": f"c{i}", "content": output},
        ]
    return run


def layout_of(run: list[JsonObject], counter: TokenCounter) -> Layout:
    history = History()
    history.sync(run, counter)
    return Layout(run, history, counter, batch=10, min_tokens=50, memo=MaskMemo(100))


def test_line_numbers_do_not_hide_a_repeat() -> None:
    old, new = line_set(view("if (cause == null) {")), line_set(view("if (cause != null) {", 2))
    assert repeats(old, new) and not repeats(line_set("a\nb"), new)


def test_an_older_view_shrinks_to_what_only_it_shows(counter: TokenCounter) -> None:
    run = run_of([view("if (cause == null) {"), view("if (cause != null) {", 1)])
    built, originals = layout_of(run, counter).build(Levels(0, 0))
    out: list[Json] = built
    assert out[:2] == run[:2] and out[-2:] == run[-2:]  # head and newest round as sent
    note = out[3]["content"]
    assert note.startswith("[Output shown again by a later tool output")
    assert "if (cause == null) {" in note  # the old version of the edited line
    assert "prop_12" not in note  # shown again below: not repeated
    assert [(o.hash, o.text) for o in originals] == [(originals[0].hash, run[3]["content"])]
    assert f"mask:{originals[0].hash}" in note
    assert counter.count_chat(out) < counter.count_chat(run) * 0.7


def test_a_new_request_keeps_the_same_bytes(counter: TokenCounter) -> None:
    outputs = [view("a = 1;"), view("a = 2;"), "short answer"]
    run = run_of(outputs)
    history = History()
    history.sync(run[:-2], counter)
    Layout(run[:-2], history, counter, batch=10, min_tokens=50, memo=MaskMemo(100))
    history.sync(run, counter)
    again = Layout(run, history, counter, batch=10, min_tokens=50, memo=MaskMemo(100))
    fresh = layout_of(run, counter)
    assert json.dumps(again.build(Levels(0, 0))[0]) == json.dumps(fresh.build(Levels(0, 0))[0])


def test_a_far_repeat_is_left_alone_the_cache_is_worth_more(counter: TokenCounter) -> None:
    """Shrinking an output re-sends, uncached, all that follows it: not for a far repeat."""
    between = [
        "\n".join(f"log line {i} of step {s}: nothing to see" for i in range(60)) for s in range(3)
    ]
    run = run_of([view("a = 1;"), *between, view("a = 2;")])
    out, _ = layout_of(run, counter).build(Levels(0, 0))
    assert out == run
