"""The mask memo is bounded: a long-lived hub serving many sessions keeps it flat."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import HubConfig
from hub.core.jsontypes import JSON
from hub.core.tokens import TokenCounter, load_encoding
from hub.features.savings.sanitizer import MaskMemo
from hub.proxy.routing import ModelRouter
from hub.proxy.upstream import ProviderPool
from hub.services.savings.pipeline import Plan, SavingsPipeline

MEMO_SIZE = 40


def test_least_recently_used_decision_goes_first() -> None:
    memo = MaskMemo(2)
    made: list[str] = []

    def make(key: str) -> tuple[str, str, int, int]:
        made.append(key)
        return (f"[{key}]", "texte", 10, 2)

    memo.decide("a", lambda: make("a"))
    memo.decide("b", lambda: make("b"))
    memo.decide("a", lambda: make("a"))  # a hit: "a" is now the most recent
    memo.decide("c", lambda: make("c"))  # over the bound: "b" goes, not "a"
    assert len(memo) == 2
    memo.decide("a", lambda: make("a"))
    memo.decide("b", lambda: make("b"))
    assert made == ["a", "b", "c", "b"]


def _session(number: int) -> list[JSON]:
    """An agent run whose old tool outputs are bulky and unique to the session."""
    run: list[JSON] = [
        {"role": "system", "content": "Tu es un agent."},
        {"role": "user", "content": f"Tâche {number}"},
    ]
    for i in range(6):
        call: JSON = {
            "id": f"c{i}",
            "type": "function",
            "function": {"name": "cat", "arguments": "{}"},
        }
        run.append({"role": "assistant", "content": None, "tool_calls": [call]})
        body = "".join(f"session {number} sortie {i} ligne {n}\n" for n in range(120))
        run.append({"role": "tool", "tool_call_id": f"c{i}", "content": body})
    return run


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter(load_encoding())


async def test_memo_stays_flat_after_many_sessions(counter: TokenCounter) -> None:
    config = HubConfig(source=Path("test"))  # no summariser: masking only here
    pipeline = SavingsPipeline(
        config.savings,
        ModelRouter(config),
        ProviderPool(config),
        counter,
        None,  # type: ignore[arg-type]  # no summariser, so the store is never read
        memo_size=MEMO_SIZE,
    )
    sizes, first = [], None
    for number in range(60):
        plan = Plan(True, False, None, 0.8, 2, batch=2, session_id=number)
        result = await pipeline.run(_session(number), plan)
        assert result.masking is not None  # old outputs were masked, so decisions were made
        sizes.append(len(pipeline.memo))
        first = result.messages
    assert max(sizes) == MEMO_SIZE  # the bound was reached, and never passed
    assert sizes[-20:] == [MEMO_SIZE] * 20  # flat from then on
    # the live session's next turn forwards the same bytes (a provider's cache keeps them)
    plan = Plan(True, False, None, 0.8, 2, batch=2, session_id=59)
    again = await pipeline.run(_session(59), plan)
    assert again.messages == first
    assert len(pipeline.memo) == MEMO_SIZE
