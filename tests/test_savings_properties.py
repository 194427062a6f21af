"""Masking and compaction keep every request valid: a property test over conversations."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from hub.core.tokens import TokenCounter, load_encoding
from hub.features.compaction import (
    SUMMARY_MARKER,
    compacted,
    compaction_cut,
    leading_system,
    prefix_hashes,
    replaced_region,
)
from hub.features.rounds import Levels, head_end
from hub.features.sanitizer import mask_hash, mask_messages, placeholder, protected_from
from hub.features.summariser import extractive_summary
from hub.services.savings_layout import Layout
from hub.services.savings_state import History

LINES = (
    "2026-03-02 10:00:01,120 INFO [worker-1] job 8812 traité en 41 ms",
    '  File "src/billing/invoice.py", line 142, in compute_tax_total',
    "KeyError: 'invoice_id'",
    '{"name": "requests", "version": "2.32.3", "licence": "Apache-2.0"}',
    "tests/test_invoice.py::test_negative_discount PASSED",
    "    rate = rates[line['invoice_id']]  # é à ü 🙂",
)


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter(load_encoding())


short_text = st.text(max_size=30)
bulky_text = st.builds(
    lambda lines, n: "\n".join(lines * n),
    st.lists(st.sampled_from(LINES), min_size=1, max_size=4),
    st.integers(5, 30),
)
text = st.one_of(short_text, bulky_text)
image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
parts = st.lists(
    st.one_of(st.builds(lambda t: {"type": "text", "text": t}, text), st.just(image)),
    min_size=1,
    max_size=3,
)


@st.composite
def conversations(draw: st.DrawFn) -> list[dict]:
    messages: list[dict] = []
    if draw(st.booleans()):
        messages.append({"role": "system", "content": draw(text)})
    calls = 0
    for _ in range(draw(st.integers(1, 6))):
        messages.append({"role": "user", "content": draw(st.one_of(text, parts))})
        for _ in range(draw(st.integers(0, 2))):
            ids = [f"call_{calls + i}" for i in range(draw(st.integers(1, 3)))]
            calls += len(ids)
            tool_calls = [
                {
                    "id": i,
                    "type": "function",
                    "function": {
                        "name": "read_file",
                        "arguments": json.dumps({"path": "src/a.py"}),
                    },
                }
                for i in ids
            ]
            content = draw(st.one_of(st.none(), short_text))
            messages.append({"role": "assistant", "content": content, "tool_calls": tool_calls})
            for call_id in ids:
                tool_content = draw(st.one_of(text, parts))
                messages.append({"role": "tool", "tool_call_id": call_id, "content": tool_content})
        if draw(st.booleans()):
            messages.append({"role": "system", "content": "Rappel : réponds en français."})
        messages.append({"role": "assistant", "content": draw(text)})
    if draw(st.booleans()):
        messages.append({"role": "user", "content": draw(text)})
    return messages


def same(a: object, b: object) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def assert_valid(messages: list[dict], original: list[dict]) -> None:
    originals = [json.dumps(m.get("tool_calls"), sort_keys=True) for m in original]
    for index, message in enumerate(messages):
        content = message.get("content")
        assert content is None or isinstance(content, str | list)
        for part in content if isinstance(content, list) else []:
            assert isinstance(part, dict) and isinstance(part.get("type"), str)
            if part["type"] == "text":
                assert isinstance(part["text"], str)
        if message.get("tool_calls"):
            # ids untouched: the very same tool_calls list exists in the original
            assert json.dumps(message["tool_calls"], sort_keys=True) in originals
            ids = [c["id"] for c in message["tool_calls"]]
            answers = []
            for follower in messages[index + 1 :]:
                if follower["role"] != "tool":
                    break
                answers.append(follower["tool_call_id"])
            assert sorted(answers) == sorted(ids)  # any order, one answer per call
        if message["role"] == "tool":
            previous = index - 1
            while messages[previous]["role"] == "tool":
                previous -= 1
            ids = [c["id"] for c in messages[previous].get("tool_calls") or []]
            assert message["tool_call_id"] in ids


def systems(messages: list[dict]) -> list[str]:
    return [json.dumps(m) for m in messages if m["role"] == "system"]


@settings(max_examples=150, deadline=None)
@given(conversation=conversations(), keep=st.integers(1, 3), min_tokens=st.integers(20, 200))
def test_rewrites_stay_valid(counter, conversation, keep, min_tokens) -> None:
    protect = protected_from(conversation)
    outcome = mask_messages(conversation, counter, protect_from=protect, min_tokens=min_tokens)
    masked = outcome.messages
    assert [m["role"] for m in masked] == [m["role"] for m in conversation]
    assert masked[protect:] == conversation[protect:]
    assert systems(masked) == systems(conversation)
    assert_valid(masked, conversation)
    for item in outcome.masked:
        assert item.hash == mask_hash(item.text) and item.placeholder_tokens < item.tokens

    event(f"masqué : {bool(outcome.masked)}")
    cut = compaction_cut(masked, keep)
    event(f"compacté : {cut is not None}")
    if cut is None:
        return
    summary = extractive_summary(replaced_region(conversation, cut))
    out = compacted(masked, cut, summary)
    head = leading_system(conversation)
    region_systems = [m for m in conversation[head:cut] if m["role"] == "system"]
    expected_roles = [
        *(m["role"] for m in conversation[:head]),
        "user",
        "assistant",
        *(m["role"] for m in region_systems),
        *(m["role"] for m in conversation[cut:]),
    ]
    assert [m["role"] for m in out] == expected_roles
    assert out[:head] == conversation[:head]
    tail = len(conversation) - cut
    assert same(out[len(out) - tail :], masked[cut:])
    assert out[len(out) - (len(conversation) - protect) :] == conversation[protect:]
    assert systems(out) == systems(conversation)
    assert out[head]["content"].startswith(SUMMARY_MARKER)
    assert_valid(out, conversation)


def test_placeholder_is_french_and_keeps_the_error(counter) -> None:
    trace = "\n".join(["Traceback (most recent call last):", *LINES[1:2] * 30, LINES[2]])
    text = placeholder(trace, "trace d'erreur", 999, mask_hash(trace))
    assert "Contenu masqué" in text and "KeyError: 'invoice_id'" in text
    assert f"GET /api/mask/{mask_hash(trace)}" in text
    assert "src/billing/invoice.py" in text


def test_extractive_summary_keeps_asks_errors_paths_identifiers() -> None:
    region = [
        {"role": "user", "content": "Corrige `compute_tax_total` : les remises négatives cassent."},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {
                        "name": "run_tests",
                        "arguments": '{"path": "tests/test_invoice.py"}',
                    },
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "\n".join(LINES * 40)},
        {
            "role": "assistant",
            "content": "Je modifie `apply_discount_rules` dans src/billing/rules.py.",
        },
    ]
    summary = extractive_summary(region)
    for fact in (
        "les remises négatives cassent",
        "KeyError: 'invoice_id'",
        "compute_tax_total",
        "apply_discount_rules",
        "src/billing/rules.py",
        "tests/test_invoice.py",
    ):
        assert fact in summary
    assert len(summary) < len(region[2]["content"]) / 3


def test_prefix_hashes_identify_prefixes() -> None:
    a = [{"role": "user", "content": "un"}, {"role": "assistant", "content": "deux"}]
    b = [*a, {"role": "user", "content": "trois"}]
    assert prefix_hashes(a) == prefix_hashes(b)[:3]
    assert prefix_hashes([{"role": "user", "content": "autre"}])[1] != prefix_hashes(a)[1]


def test_no_compaction_with_too_few_exchanges() -> None:
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    assert compaction_cut(messages, 1) is None
    assert compaction_cut([*messages, {"role": "assistant", "content": "a"}], 4) is None


@st.composite
def agent_runs(draw: st.DrawFn) -> list[dict]:
    """The shape of today's agents: one task, then many tool rounds (and stray feedback)."""
    messages: list[dict] = [{"role": "system", "content": draw(text)}]
    messages.append({"role": "user", "content": draw(text)})
    calls = 0
    for _ in range(draw(st.integers(0, 14))):
        shape = draw(st.sampled_from(("tools", "tools", "tools", "plain", "feedback")))
        if shape == "feedback":  # a format-error reply or "please continue"
            messages.append({"role": "assistant", "content": draw(text)})
            messages.append({"role": "user", "content": draw(text)})
            continue
        if shape == "plain":
            messages.append({"role": "assistant", "content": draw(text)})
            continue
        ids = [f"call_{calls + i}" for i in range(draw(st.integers(1, 3)))]
        calls += len(ids)
        tool_calls = [
            {"id": i, "type": "function", "function": {"name": "bash", "arguments": "{}"}}
            for i in ids
        ]
        content = draw(st.one_of(st.none(), text))
        messages.append({"role": "assistant", "content": content, "tool_calls": tool_calls})
        for call_id in draw(st.permutations(ids)):
            messages.append({"role": "tool", "tool_call_id": call_id, "content": draw(text)})
    return messages


def alternates(messages: list[dict]) -> bool:
    """User and assistant turns alternate once tool and system messages are set aside."""
    roles = [m["role"] for m in messages if m["role"] in ("user", "assistant")]
    return all(a != b for a, b in itertools.pairwise(roles))


@settings(max_examples=150, deadline=None)
@given(run=st.one_of(agent_runs(), conversations()), data=st.data(), batch=st.integers(1, 4))
def test_round_rewrites_stay_valid(counter, run, data, batch) -> None:
    history = History()
    history.sync(run, counter)
    layout = Layout(run, history, counter, batch=batch, min_tokens=20, memo={})
    rounds = layout.rounds
    summarised = data.draw(st.integers(0, max(rounds - 1, 0)))
    masked = data.draw(st.integers(summarised, max(rounds - 1, summarised)))
    out, _ = layout.build(Levels(summarised, masked))
    head = head_end(run)
    assert out[:head] == run[:head]  # system prompt and task, byte for byte
    if rounds:
        newest = layout.start(rounds - 1)
        assert out[len(out) - (len(run) - newest) :] == run[newest:]
    assert_valid(out, run)
    event(f"résumé : {summarised > 0}")
    if summarised:
        summary = out[head]
        assert summary["content"].startswith(SUMMARY_MARKER)
        if alternates(run):
            assert alternates(out)
    assert layout.size(Levels(summarised, masked)) == counter.count_chat(out)


def test_summary_grows_by_appending() -> None:
    counter = TokenCounter(load_encoding())
    run: list[dict] = [{"role": "system", "content": "s"}, {"role": "user", "content": "tâche"}]
    for i in range(30):
        call = {"id": f"c{i}", "type": "function", "function": {"name": "bash", "arguments": "{}"}}
        run += [
            {"role": "assistant", "content": f"étape {i}", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": f"c{i}", "content": f"sortie {i}\n" * 30},
        ]
    history = History()
    history.sync(run, counter)
    layout = Layout(run, history, counter, batch=10, min_tokens=20, memo={})
    first, _ = layout.build(Levels(10, 10))
    second, _ = layout.build(Levels(20, 20))
    assert second[2]["content"].startswith(first[2]["content"])
