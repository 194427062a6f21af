"""Masking and compaction keep every request valid, lose nothing and spare the newest rounds:
property tests over conversations and agent runs, through the live ``Layout``."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from hub.core.storage.masks import MaskStore
from hub.core.storage.store import Store
from hub.core.tokens import TokenCounter, load_encoding
from hub.features.savings.layout import Layout
from hub.features.savings.rounds import Levels, head_end
from hub.features.savings.sanitizer import MaskMemo, mask_hash, placeholder
from hub.features.savings.state import History
from hub.features.savings.summariser import rounds_digest
from hub.features.savings.wording import ENGLISH
from tests.support.chat_checks import alternates, assert_head_kept, assert_valid
from tests.support.chat_strategies import LINES, agent_runs, conversations, draw_tool_round
from tests.support.json_values import Json


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter(load_encoding())


def roles(messages: list[Json]) -> list[str]:
    return [m["role"] for m in messages]


def systems(messages: list[Json]) -> list[str]:
    return [json.dumps(m) for m in messages if m["role"] == "system"]


def test_placeholder_keeps_the_error_and_the_reference(counter: TokenCounter) -> None:
    trace = "\n".join(["Traceback (most recent call last):", *LINES[1:2] * 30, LINES[2]])
    text = placeholder(trace, "trace d'erreur", 999, mask_hash(trace))
    assert "Content masked" in text and "KeyError: 'invoice_id'" in text
    assert f"GET /api/mask/{mask_hash(trace)}" in text
    assert "src/billing/invoice.py" in text


def test_rounds_digest_keeps_asks_errors_paths_identifiers() -> None:
    region: list[Json] = [
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
    summary = rounds_digest(region)
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


@settings(max_examples=150, deadline=None)
@given(run=st.one_of(agent_runs(), conversations()), data=st.data(), batch=st.integers(1, 4))
def test_round_rewrites_stay_valid(
    counter: TokenCounter, run: list[Json], data: st.DataObject, batch: int
) -> None:
    history = History()
    history.sync(run, counter)
    layout = Layout(run, history, counter, batch=batch, min_tokens=20, memo=MaskMemo(1000))
    rounds = layout.rounds
    summarised = data.draw(st.integers(0, max(rounds - 1, 0)))
    masked = data.draw(st.integers(summarised, max(rounds - 1, summarised)))
    out, _ = layout.build(Levels(summarised, masked))
    head = head_end(run)
    assert_head_kept(out, run)  # system prompt and task, byte for byte
    if rounds:
        newest = layout.start(rounds - 1)
        assert out[len(out) - (len(run) - newest) :] == run[newest:]
    assert_valid(out, run)
    event(f"résumé : {summarised > 0}")
    if summarised:
        summary: Json = out[head]
        assert summary["content"].startswith(ENGLISH.summary_marker)
        if alternates(run):
            assert alternates(out)
    assert layout.size(Levels(summarised, masked)) == counter.count_chat(out)


def test_summary_grows_by_appending() -> None:
    counter = TokenCounter(load_encoding())
    run: list[Json] = [{"role": "system", "content": "s"}, {"role": "user", "content": "tâche"}]
    for i in range(30):
        call = {"id": f"c{i}", "type": "function", "function": {"name": "bash", "arguments": "{}"}}
        run += [
            {"role": "assistant", "content": f"étape {i}", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": f"c{i}", "content": f"sortie {i}\n" * 30},
        ]
    history = History()
    history.sync(run, counter)
    layout = Layout(run, history, counter, batch=10, min_tokens=20, memo=MaskMemo(1000))
    first, _ = layout.build(Levels(10, 10))
    second, _ = layout.build(Levels(20, 20))
    earlier: Json = first[2]
    later: Json = second[2]
    assert later["content"].startswith(earlier["content"])


REFERENCE = re.compile(r"\[Content masked by Kimi Proxy Hub: .*mask:([0-9a-f]{32}) ", re.S)


def unmask(messages: list[Json], originals: Mapping[str, str]) -> list[Json]:
    """Placeholders replaced by the originals their ``mask:<hash>`` reference names."""

    def back(text: object) -> object:
        found = REFERENCE.match(text) if isinstance(text, str) else None
        return originals[found.group(1)] if found else text

    out = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            content = [{**p, "text": back(p["text"])} if "text" in p else p for p in content]
        out.append({**message, "content": back(content)})
    return out


def masked_layout(run: list[Json], counter: TokenCounter, min_tokens: int) -> Layout:
    history = History()
    history.sync(run, counter)
    return Layout(run, history, counter, batch=1, min_tokens=min_tokens, memo=MaskMemo(1000))


@settings(max_examples=150, deadline=None)
@given(
    run=st.one_of(agent_runs(), conversations()),
    data=st.data(),
    min_tokens=st.integers(20, 200),
)
def test_masking_is_reversible_stable_and_spares_the_tail(
    counter: TokenCounter, run: list[Json], data: st.DataObject, min_tokens: int
) -> None:
    layout = masked_layout(run, counter, min_tokens)
    masked = data.draw(st.integers(0, max(layout.rounds - 1, 0)))
    out, originals = layout.build(Levels(0, masked))
    kept = layout.start(masked)
    assert roles(out) == roles(run)
    assert out[kept:] == run[kept:]  # the newest rounds go as sent
    assert systems(out) == systems(run)
    assert_valid(out, run)
    for item in originals:
        assert item.hash == mask_hash(item.text) and item.placeholder_tokens < item.tokens
        assert f"mask:{item.hash}" in json.dumps(out[item.index], ensure_ascii=False)
    event(f"masqué : {bool(originals)}")
    # nothing lost: every placeholder gives back its original, byte for byte
    assert unmask(out, {m.hash: m.text for m in originals}) == run
    # stable: a new pass (fresh memo) and a further frontier keep the same placeholders
    again, _ = masked_layout(run, counter, min_tokens).build(Levels(0, masked))
    assert json.dumps(again) == json.dumps(out)
    further, _ = layout.build(Levels(0, min(masked + 1, max(layout.rounds - 1, 0))))
    assert json.dumps(further[:kept]) == json.dumps(out[:kept])


async def test_masked_originals_come_back_from_the_mask_store(
    counter: TokenCounter, tmp_path: Path
) -> None:
    run: list[Json] = [{"role": "system", "content": "s"}, {"role": "user", "content": "tâche"}]
    for i in range(4):
        call = {"id": f"c{i}", "type": "function", "function": {"name": "bash", "arguments": "{}"}}
        output = "\n".join([*LINES, f"ligne {i} 🙂"] * 20)
        run += [
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": f"c{i}", "content": output},
        ]
    layout = masked_layout(run, counter, 20)
    out, originals = layout.build(Levels(0, layout.rounds - 1))
    assert len(originals) == 3  # the newest round stays whole
    async with await Store.open(tmp_path / "hub.db") as store:
        masks = MaskStore(store, retention=100)
        await masks.put([(m.hash, m.text, m.tokens) for m in originals])
        fetched: dict[str, str] = {}
        for item in originals:
            text = await masks.get(item.hash)
            assert text is not None, item.hash
            fetched[item.hash] = text
    assert unmask(out, fetched) == run


POOL = [f"    line {i}: value_{i} = compute_{i % 7}(item_{i})" for i in range(40)]


@st.composite
def viewing_runs(draw: st.DrawFn) -> list[Json]:
    """An agent that views overlapping parts of one file, some of them whole (giant)."""
    view = st.lists(st.sampled_from(POOL), min_size=8, max_size=40).map("\n".join)
    messages: list[Json] = [
        {"role": "system", "content": "tools"},
        {"role": "user", "content": "fix"},
    ]
    calls = 0
    for _ in range(draw(st.integers(2, 12))):
        calls = draw_tool_round(draw, messages, calls, st.just("next"), view)
    messages.append({"role": "assistant", "content": "done"})
    return messages


@settings(max_examples=100, deadline=None)
@given(run=st.one_of(agent_runs(), viewing_runs()), data=st.data(), giant=st.integers(20, 400))
def test_a_rewritten_message_never_changes_again(
    counter: TokenCounter, run: list[Json], data: st.DataObject, giant: int
) -> None:
    """Replayed turn by turn (one request before each assistant message, masked rounds
    that only grow), a message forwarded rewritten keeps that exact form (decision 0038)."""
    history = History()
    memo = MaskMemo(1000)
    forms: dict[int, Json] = {}
    masked = 0
    for end, message in enumerate(run):
        if message.get("role") != "assistant":
            continue
        request = run[:end]
        history.sync(request, counter)
        layout = Layout(request, history, counter, batch=1, min_tokens=20, memo=memo, giant=giant)
        masked = data.draw(st.integers(min(masked, layout.rounds), layout.rounds))
        out, _ = layout.build(Levels(0, masked))
        assert len(out) == len(request)  # nothing summarised: message i stands for request[i]
        for index, sent in enumerate(out):
            if index in forms:
                assert sent == forms[index]
            elif sent != request[index]:
                forms[index] = sent
    event(f"réécrits : {min(len(forms), 3)}")
