"""``SavingsPipeline.untouched``: the pass skipped for short requests, never wrongly.

Whenever it says a request goes out as it is, the full pass, run on the same
request, must agree: same messages, nothing saved, not over the window.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from hub.config import HubConfig
from hub.core.tokens import TokenCounter, load_encoding
from hub.proxy.routing import ModelRouter
from hub.proxy.upstream import ProviderPool
from hub.services.savings.pipeline import Plan, SavingsPipeline
from tests.support.chat_strategies import agent_runs, conversations
from tests.support.json_values import Json

SESSION = 7


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter(load_encoding())


def _pipeline(counter: TokenCounter) -> SavingsPipeline:
    config = HubConfig(source=Path("test"))  # no summariser: extractive summaries only
    return SavingsPipeline(config.savings, ModelRouter(config), ProviderPool(config), counter,
                           None)  # type: ignore[arg-type]  # fmt: skip


def _plan(window: int, keep: int) -> Plan:
    return Plan(True, True, window, 0.8, keep, batch=2, session_id=SESSION)


@settings(max_examples=200, deadline=None)
@given(run=st.one_of(conversations(), agent_runs()), data=st.data())
def test_a_skipped_pass_is_one_that_would_change_nothing(
    counter: TokenCounter, run: list[Json], data: st.DataObject
) -> None:
    keep = max(len(run) + data.draw(st.integers(-3, 3)), 1)  # around its length
    tokens = counter.count_chat(run)
    # windows whose threshold lies around the request's size: both answers and the boundary
    window = max(int(tokens / 0.8) + data.draw(st.integers(-10, 60)), 1)
    limit = min(int(0.8 * window), window)

    async def check() -> None:
        pipeline = _pipeline(counter)
        counted = await pipeline.untouched(run, [], SESSION, keep, limit)
        event(f"passe évitée : {counted is not None}")
        if counted is not None:
            assert counted == tokens
            result = await pipeline.run(run, _plan(window, keep))
            assert result.messages == run
            assert result.tokens_before == result.tokens_after == tokens
            assert not result.over_window and not result.events

    asyncio.run(check())


async def test_short_chats_skip_the_pass_and_the_limit_is_inclusive(counter: TokenCounter) -> None:
    pipeline = _pipeline(counter)
    chat: list[Json] = [
        {"role": "system", "content": "Sois bref."},
        {"role": "user", "content": "Bonjour"},
    ]
    tools: list[Json] = [{"type": "function", "function": {"name": "ls", "parameters": {}}}]
    tokens = counter.count_chat(chat, tools)
    assert await pipeline.untouched(chat, tools, SESSION, 8, tokens) == tokens
    assert await pipeline.untouched(chat, tools, SESSION, 8, tokens - 1) is None  # tools count
    assert await pipeline.untouched(chat, tools, SESSION, 8, None) == tokens  # no window known
    assert await pipeline.untouched(chat * 5, tools, SESSION, 8, None) is None  # 10 > 8


async def test_a_session_with_rewritten_rounds_takes_the_pass(counter: TokenCounter) -> None:
    pipeline = _pipeline(counter)
    run: list[Json] = [{"role": "system", "content": "s"}, {"role": "user", "content": "tâche"}]
    for i in range(12):
        call = {"id": f"c{i}", "type": "function", "function": {"name": "cat", "arguments": "{}"}}
        run.append({"role": "assistant", "content": None, "tool_calls": [call]})
        run.append({"role": "tool", "tool_call_id": f"c{i}", "content": "ligne\n" * 400})
    result = await pipeline.run(run, _plan(200_000, 2))
    assert result.tokens_after < result.tokens_before  # old rounds were rewritten
    # the same session's next request is short, but its earlier levels may still apply
    assert await pipeline.untouched(run[:2], [], SESSION, 8, 100_000) is None
    assert await pipeline.untouched(run[:2], [], SESSION + 1, 8, 100_000) is not None
