"""The savings pass on conversations of every shape agents send (issue #25), through the real
``SavingsPipeline``: several user messages before the first answer (a demonstration, then
the task), user messages in the middle (format errors, corrections), observations sent as
user messages (text-action agents), giant outputs in the newest round, chat turns.

Whatever the window and the settings: everything before the first answer, the latest user
message and the newest round reach the model byte for byte (the newest round only while
the request fits: otherwise it is shrunk, never anything before the first answer), calls
keep their answers, nothing grows, and a request that can fit does fit."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from hub.config import HubConfig
from hub.core.storage.savings import SavingsStore
from hub.core.storage.store import Store
from hub.core.tokens import TokenCounter, load_encoding
from hub.proxy.routing import ModelRouter
from hub.proxy.upstream import ProviderPool
from hub.services.savings.pipeline import PassResult, Plan, SavingsPipeline
from tests.support.chat_checks import alternates, assert_head_kept, assert_valid
from tests.support.chat_strategies import draw_tool_round
from tests.support.json_values import Json, JsonObject

LOG_LINES = (
    '  File "src/billing/invoice.py", line 142, in compute_tax_total',
    "KeyError: 'invoice_id'",
    "   143:        discount_rate = self._lookup_discount(line_item.sku_code)",
    "tests/test_invoice.py::test_negative_discount FAILED",
    "2026-03-02 10:00:01,120 INFO [worker-1] job 8812 done in 41 ms",
)
GIANT = 600  # tokens: outputs this big shrink even when recent (the plan's ``giant``)


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter(load_encoding())


def block(lines: int, seed: int) -> str:
    return "\n".join(f"{LOG_LINES[(seed + i) % len(LOG_LINES)]} #{i}" for i in range(lines))


short = st.sampled_from(("Fix it.", "Please go on with the task.", "Use one action.", "ok"))
output = st.one_of(
    short,
    st.builds(block, st.integers(2, 10), st.integers(0, 9)),  # small
    st.builds(block, st.integers(30, 60), st.integers(0, 9)),  # bulky
    st.builds(block, st.integers(80, 160), st.integers(0, 9)),  # giant
)


@st.composite
def runs(draw: st.DrawFn) -> list[JsonObject]:
    messages: list[JsonObject] = [
        {"role": "system", "content": f"System prompt {i}."} for i in range(draw(st.integers(0, 2)))
    ]
    for i in range(draw(st.integers(1, 3))):  # demonstration(s), then the task
        messages.append({"role": "user", "content": draw(output) + f"\n(user message {i})"})
    calls = 0
    for _ in range(draw(st.integers(0, 24))):
        shape = draw(st.sampled_from(("tools", "tools", "tools", "observation", "nudge", "chat")))
        if shape == "tools":
            calls = draw_tool_round(draw, messages, calls, short, output)
        else:  # an observation sent as a user message, a nudge, a chat turn
            messages.append({"role": "assistant", "content": draw(short)})
            text = draw(output) if shape == "observation" else draw(short)
            messages.append({"role": "user", "content": text})
    if draw(st.booleans()):
        messages.append({"role": "assistant", "content": draw(short)})
    return messages


async def run_pass(counter: TokenCounter, messages: list[JsonObject], plan: Plan) -> PassResult:
    config = HubConfig(source=Path("test"))
    store = await Store.open(":memory:")
    pool = ProviderPool(config)
    try:
        pipeline = SavingsPipeline(
            config.savings, ModelRouter(config), pool, counter, SavingsStore(store)
        )
        return await pipeline.run(messages, plan)  # type: ignore[arg-type]
    finally:
        await pool.aclose()
        await store.close()


def first_answer(messages: list[JsonObject]) -> int:
    return next((i for i, m in enumerate(messages) if m["role"] == "assistant"), len(messages))


def newest_start(messages: list[JsonObject]) -> int:
    """Where the newest round starts: the last assistant or user message after the head."""
    head = first_answer(messages)
    starts = [i for i in range(head, len(messages)) if messages[i]["role"] in ("assistant", "user")]
    return starts[-1] if starts else len(messages)


@settings(max_examples=120, deadline=None)
@given(
    run=runs(),
    window=st.sampled_from((None, 1500, 3000, 6000, 131_072)),
    keep=st.integers(1, 4),
    batch=st.integers(1, 4),
)
def test_every_shape_keeps_what_must_reach_the_model(
    counter: TokenCounter, run: list[JsonObject], window: int | None, keep: int, batch: int
) -> None:
    plan = Plan(True, True, window, 0.8, keep, batch=batch, summarise_from=0, giant=GIANT)
    result = asyncio.run(run_pass(counter, run, plan))
    out: list[Json] = result.messages
    head = first_answer(run)
    assert_head_kept(out, run)  # system prompt and task byte for byte; a demonstration masked
    assert_valid(out, run)
    assert alternates(out) or not alternates(run)
    tokens = counter.count_chat(out)
    assert tokens == result.tokens_after <= counter.count_chat(run)
    newest = newest_start(run)
    tail = len(run) - newest
    kept_newest = out[len(out) - tail :] == run[newest:]
    if window is not None and not result.over_window:
        assert tokens <= window
    if not kept_newest:  # shrunk only because the request would not fit with it whole
        assert window is not None
        assert counter.count_chat(out[: len(out) - tail] + run[newest:]) > window
    users = [m for m in run[head:] if m["role"] == "user"]
    if users and (kept_newest or run.index(users[-1]) < newest):
        assert users[-1] in out  # the last thing the user said, byte for byte
    event(f"newest round kept: {kept_newest}")
    event(f"summarised: {result.compaction is not None}")
    event(f"masked: {result.masking is not None}")


def test_the_giant_output_of_the_newest_round_is_shrunk_before_a_refusal(
    counter: TokenCounter,
) -> None:
    call: Json = {"id": "c", "type": "function", "function": {"name": "bash", "arguments": "{}"}}
    run: list[JsonObject] = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "task"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c", "content": block(400, 1)},
    ]
    window = counter.count_chat(run) // 3
    plan = Plan(True, True, window, 0.8, 4, batch=4, giant=GIANT)
    result = asyncio.run(run_pass(counter, run, plan))
    assert not result.over_window and counter.count_chat(result.messages) <= window
    assert result.messages[:3] == run[:3]
    assert json.dumps(result.messages[3]).count("mask:") >= 1
