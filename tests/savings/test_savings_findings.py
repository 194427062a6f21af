"""Issue #25, one test per finding: the task and the latest user message are never folded
away, code views keep their names, giant outputs shrink even when recent (and page back
through ``mask_get``), and the hub writes English into the prompt unless told French."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from hub.config import ConfigError, HubConfig, SavingsConfig, load_config
from hub.core.storage.savings import SavingsStore
from hub.core.storage.store import Store
from hub.core.tokens import TokenCounter, load_encoding
from hub.features.savings.paging import by_lines, by_offset
from hub.features.savings.sanitizer import mask_hash
from hub.features.savings.wording import ENGLISH, FRENCH
from hub.proxy.routing import ModelRouter
from hub.proxy.upstream import ProviderPool
from hub.services.savings.pipeline import PassResult, Plan, SavingsPipeline
from tests.support.json_values import Json
from tests.support.savings_pipeline import savings_pipeline

SYSTEM = {"role": "system", "content": "You are an autonomous programmer."}
DEMONSTRATION = {
    "role": "user",
    "content": "Here is a demonstration of how to solve a task.\n"
    + "\n".join(f"open src/demo_{i}.py\n[File: src/demo_{i}.py]" for i in range(60)),
}
TASK = {"role": "user", "content": "ISSUE: `parse_header` drops the last field. Fix it."}
CODE_VIEW = "\n".join(
    [
        "[File: /repo/src/billing/invoice.py (220 lines total)]",
        "140:    def compute_tax_total(self, lines):",
        "141:        running_total = 0",
        "142:        for line_item in lines:",
        "143:            discount_rate = self._lookup_discount(line_item.sku_code)",
        "144:            running_total += line_item.amountCents * (1 - discount_rate)",
        "145:        return self.roundHalfEven(running_total)",
        *(f"{146 + i}:        # padding line {i} of the view" for i in range(40)),
    ]
)
NAMES = ("running_total", "discount_rate", "_lookup_discount", "sku_code", "amountCents")


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter(load_encoding())


@pytest.fixture
async def pipeline(counter: TokenCounter) -> AsyncIterator[SavingsPipeline]:
    async with savings_pipeline(counter) as found:
        yield found


def tool_round(i: int, output: str, text: str | None = None) -> list[Json]:
    call: Json = {
        "id": f"c{i}",
        "type": "function",
        "function": {"name": "bash", "arguments": "{}"},
    }
    return [
        {"role": "assistant", "content": text, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": f"c{i}", "content": output},
    ]


def rounds(first: int, count: int, size: int = 30) -> list[Json]:
    found: list[Json] = []
    for i in range(first, first + count):
        found += tool_round(i, f"step {i}: ok\n" * size, f"Step {i}.")
    return found


def plan(window: int | None = 131_072, **changes: object) -> Plan:
    base = Plan(True, True, window, 0.8, 4, batch=4, summarise_from=0, giant=2000)
    return replace(base, **changes)  # type: ignore[arg-type]


def text_of(result: PassResult) -> str:
    return json.dumps(result.messages, ensure_ascii=False)


async def test_the_task_is_kept_and_a_short_demonstration_too(pipeline: SavingsPipeline) -> None:
    """SWE-agent 0.x: a demonstration, then the task, both before the first answer."""
    run = [SYSTEM, DEMONSTRATION, TASK, *rounds(0, 30)]
    result = await pipeline.run(run, plan())
    assert result.compaction is not None  # old rounds were summarised...
    assert result.messages[:3] == run[:3]  # ...after the task, not over it


async def test_a_long_demonstration_is_rewritten_from_the_first_request_the_task_never(
    pipeline: SavingsPipeline,
) -> None:
    """A demonstration of a giant's size is bulky content: placeholder and mask reference
    from the first request on (the prompt cache never sees it change); the task stays."""
    long_demo: Json = {**DEMONSTRATION, "content": str(DEMONSTRATION["content"]) * 6}
    short: list[Json] = [SYSTEM, long_demo, TASK]
    first = await pipeline.run(short, plan(session_id=7))
    full: list[Json] = [*short, *rounds(0, 30)]
    later = await pipeline.run(full, plan(session_id=7))
    original = str(long_demo["content"])
    for result in (first, later):
        out: list[Json] = result.messages
        assert out[0] == SYSTEM and out[2] == TASK
        demo = str(out[1]["content"])
        assert demo.startswith("[Content masked") and "Here is a demonstration" in demo
        # the original stays reachable through mask_get
        assert (mask_hash(original), original) in [(h, t) for h, t, _ in result.masked_originals]
    assert later.messages[:3] == first.messages[:3]  # the same bytes on every request


async def test_latest_user_message_stays_in_place_when_its_round_is_summarised(
    pipeline: SavingsPipeline,
) -> None:
    notice = {"role": "user", "content": "Please always provide EXACTLY ONE action."}
    run = [SYSTEM, TASK, *rounds(0, 6)]
    run += [{"role": "assistant", "content": "I think the fix is done."}, notice]
    run += rounds(6, 30)
    result = await pipeline.run(run, plan())
    out: list[Json] = result.messages
    assert result.compaction is not None and notice in out
    where = out.index(notice)
    assert ENGLISH.summary_marker in out[where - 1]["content"]  # the rounds before it
    assert ENGLISH.summary_marker in out[where + 1]["content"]  # the rounds after it
    assert [m["role"] for m in out[where - 1 : where + 2]] == ["assistant", "user", "assistant"]


async def test_older_short_user_messages_are_quoted_word_for_word(
    pipeline: SavingsPipeline,
) -> None:
    first = "Your output was not\nformatted correctly: use one ```bash block."
    run = [SYSTEM, TASK, *rounds(0, 4), {"role": "assistant", "content": "Done?"}]
    run += [{"role": "user", "content": first}, *rounds(4, 8)]
    run += [{"role": "assistant", "content": "Done?"}, {"role": "user", "content": "Go on."}]
    run += rounds(12, 30)
    result = await pipeline.run(run, plan())
    messages: list[Json] = result.messages
    summary = messages[2]["content"]
    assert summary.startswith(ENGLISH.summary_marker) and f'"""\n{first}\n"""' in summary


async def test_names_of_a_summarised_code_view_survive(pipeline: SavingsPipeline) -> None:
    run = [SYSTEM, TASK, *tool_round(0, CODE_VIEW), *rounds(1, 30)]
    result = await pipeline.run(run, plan())
    assert result.compaction is not None
    messages: list[Json] = result.messages
    summary = messages[2]["content"]
    assert "src/billing/invoice.py" in summary
    for name in NAMES:
        assert name in summary, name


async def test_a_giant_output_shrinks_once_it_is_not_the_newest(
    pipeline: SavingsPipeline, counter: TokenCounter
) -> None:
    giant = "\n".join(f"src/main/java/pkg/Thing{i}Test.java" for i in range(900))
    run = [SYSTEM, DEMONSTRATION, TASK, *tool_round(0, "ok"), *tool_round(1, giant)]
    newest = await pipeline.run(run, plan())
    assert newest.messages == run  # the newest round fits: as sent
    run += tool_round(2, "ok")
    result = await pipeline.run(run, plan())
    out: list[Json] = result.messages
    assert out[:6] == run[:6] and out[-2:] == run[-2:]
    assert out[6]["content"].startswith("[Content masked by Kimi Proxy Hub: tool output")
    assert counter.count_chat(out) < counter.count_chat(run) / 3
    masking: Json = result.masking
    assert [(h, t) for h, t, _ in result.masked_originals] == [
        (masking["masked"][0]["hash"], giant)
    ]


async def test_a_newest_round_that_does_not_fit_is_shrunk_not_refused(
    pipeline: SavingsPipeline, counter: TokenCounter
) -> None:
    giant = "\n".join(f"line {i}: value_{i} = compute_{i}()" for i in range(3000))
    run = [SYSTEM, TASK, *rounds(0, 3), *tool_round(3, giant)]
    window = counter.count_chat(run) // 2
    result = await pipeline.run(run, plan(window))
    assert not result.over_window and counter.count_chat(result.messages) <= window
    assert result.messages[:2] == run[:2]
    last: Json = result.messages[-1]
    assert last["content"].startswith("[Content masked by Kimi Proxy Hub")
    assert result.messages[-2] == run[-2]  # the call itself is untouched


async def test_the_prompt_text_is_english_by_default_and_french_on_request(
    counter: TokenCounter,
) -> None:
    run = [SYSTEM, TASK, *rounds(0, 30)]
    config = HubConfig(source=Path("test"))
    store = await Store.open(":memory:")
    pool = ProviderPool(config)
    try:
        for language, wording in (("en", ENGLISH), ("fr", FRENCH)):
            savings = SavingsConfig(prompt_language=language)
            pipeline = SavingsPipeline(
                savings, ModelRouter(config), pool, counter, SavingsStore(store)
            )
            out: list[Json] = (await pipeline.run(run, plan())).messages
            assert out[2]["content"].startswith(wording.summary_marker)
            assert out[3] == {"role": "user", "content": wording.continue_note}
    finally:
        await pool.aclose()
        await store.close()
    assert "Poursuis" not in ENGLISH.continue_note


def test_pages_of_an_original_join_back_byte_for_byte() -> None:
    text = "first\r\nsecond\n\nfourth é\nfifth"
    assert by_lines(text, "2-3").text == "second\n\n"
    assert by_lines(text, "4").text == "fourth é\n"
    page = by_lines(text, "4-")
    assert page.text == "fourth é\nfifth" and page.total_lines == 5
    assert "".join(by_lines(text, f"{i}").text for i in range(1, 6)) == text
    assert "".join(by_offset(text, i, 7).text for i in range(0, len(text), 7)) == text


def test_prompt_language_and_giant_outputs_are_configured(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[savings]\nprompt_language = "fr"\ngiant_output_tokens = 0\n')
    savings = load_config(path, {}).savings
    assert (savings.prompt_language, savings.giant_output_tokens) == ("fr", 0)
    path.write_text("[savings]\n")
    assert load_config(path, {}).savings.prompt_language == "en"
    assert load_config(path, {}).savings.giant_output_tokens == 2048
    path.write_text('[savings]\nprompt_language = "de"\n')
    with pytest.raises(ConfigError, match="prompt_language"):
        load_config(path, {})
