"""Context savings on the generated corpus: tokens before/after and key-fact retention.

    python scripts/bench.py savings_corpus [--keep N] [--replay-context TOKENS]

For each transcript of tests/data/savings_corpus, the whole history is treated as
the next request: masking alone, compaction alone (forced, extractive summary:
no summariser model configured) and both, through the real ``SavingsPipeline``
on an in-memory SQLite store. Retention is the share of the transcript's key facts
(errors, files, identifiers, user asks) still present, as substrings, in what
would be sent. The replay table sends the largest transcript turn by turn
(one request per user message) with a small context window, to count how many
summaries are written and how many turns reuse a cached one.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

from hub.config import HubConfig, SavingsConfig
from hub.core.jsontypes import JSON, as_list, as_object, as_str
from hub.core.storage.savings import SavingsStore
from hub.core.storage.store import Store
from hub.core.tokens import TokenCounter, load_encoding
from hub.features.savings.rounds import head_end, round_starts
from hub.features.savings.summariser import text_of
from hub.proxy.routing import ModelRouter
from hub.proxy.upstream import ProviderPool
from hub.services.savings.pipeline import Plan, SavingsPipeline

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data" / "savings_corpus"


def load_corpus() -> list[dict[str, JSON]]:
    return [json.loads(gzip.decompress(p.read_bytes())) for p in sorted(CORPUS.glob("*.json.gz"))]


def sent_text(messages: list[JSON]) -> str:
    parts = []
    for message in messages:
        obj = as_object(message) or {}
        parts.append(text_of(obj))
        for call in as_list(obj.get("tool_calls")):
            function = as_object((as_object(call) or {}).get("function")) or {}
            parts.append(f"{function.get('name')} {function.get('arguments')}")
    return "\n".join(parts)


def all_facts(facts: JSON) -> list[str]:
    groups = (as_object(facts) or {}).values()
    return [as_str(f) or "" for group in groups for f in as_list(group)]


def retention(messages: list[JSON], wanted: list[str]) -> float:
    text = sent_text(messages)
    return sum(1 for fact in wanted if fact in text) / len(wanted) if wanted else 1.0


def old_facts(messages: list[JSON], wanted: list[str], keep: int) -> list[str]:
    """Facts found nowhere in the ``keep`` newest rounds (never rewritten): only the
    placeholders or the summary can keep them."""
    starts = round_starts(messages, head_end(messages))
    kept = sent_text(messages[starts[-keep] if len(starts) > keep else 0 :])
    return [fact for fact in wanted if fact not in kept]


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench savings")
    parser.add_argument("--keep", type=int, default=SavingsConfig().keep_recent_rounds)
    parser.add_argument("--replay-context", type=int, default=32_000)
    args = parser.parse_args(argv)
    config = HubConfig(source=Path("bench"))
    counter = TokenCounter(load_encoding())
    store = await Store.open(":memory:")
    pool = ProviderPool(config)
    pipeline = SavingsPipeline(
        config.savings,
        ModelRouter(config),
        pool,
        counter,
        SavingsStore(store),
    )
    modes = {
        "masquage": Plan(True, False, None, 0.8, args.keep, force=True, persist=False),
        "compaction": Plan(False, True, None, 0.8, args.keep, force=True, persist=False),
        "les deux": Plan(True, True, None, 0.8, args.keep, force=True, persist=False),
    }
    print(
        f"{'transcript':<28}{'avant':>8}"
        + "".join(f"{name + ' (après/gain/rét.)':>34}" for name in modes)
    )
    big_saved: list[float] = []
    big_retained: list[float] = []
    started = time.perf_counter()
    corpus = load_corpus()
    for index, item in enumerate(corpus, start=1):
        messages = as_list(item["messages"])
        before = counter.count_chat(messages)
        row = f"{index:02d}-{item['name']!s:<25}{before:>8}"
        wanted = all_facts(item["key_facts"])
        old = old_facts(messages, wanted, args.keep)
        for name, plan in modes.items():
            result = await pipeline.run(messages, plan)
            saved = 1 - result.tokens_after / before
            kept = retention(result.messages, wanted)
            row += f"{result.tokens_after:>16}{saved:>9.1%}{kept:>9.1%}"
            if name == "les deux" and before > 50_000:
                big_saved.append(saved)
                big_retained.append(kept)
        print(f"{row}{len(old):>15}{retention(result.messages, old):>9.1%}")
    elapsed = time.perf_counter() - started
    print(
        f"\n> 50k tokens ({len(big_saved)} transcripts), masquage + compaction extractive : "
        f"gain min {min(big_saved):.1%}, moyen {sum(big_saved) / len(big_saved):.1%} ; "
        f"rétention min {min(big_retained):.1%}, moyenne "
        f"{sum(big_retained) / len(big_retained):.1%}"
    )
    print(f"durée : {elapsed:.2f} s pour {len(corpus) * 3} passes")
    await replay(pipeline, counter, corpus[-1], args.keep, args.replay_context)
    await pool.aclose()
    await store.close()


async def replay(
    pipeline: SavingsPipeline,
    counter: TokenCounter,
    item: dict[str, JSON],
    keep: int,
    context: int,
) -> None:
    """Send the transcript turn by turn, as a client resending its history would."""
    messages = as_list(item["messages"])
    turns = [i for i, m in enumerate(messages) if (as_object(m) or {}).get("role") == "user"]
    plan = Plan(True, True, context, 0.8, keep, session_id=None)
    written = hits = sent = original = 0
    durations: list[float] = []
    for turn in [*turns[1:], len(messages)]:
        request = messages[:turn]
        started = time.perf_counter()
        result = await pipeline.run(request, plan)
        durations.append((time.perf_counter() - started) * 1000)
        original += counter.count_chat(request)
        sent += result.tokens_after
        detail = result.compaction or {}
        written += 1 if detail.get("cache_hit") is False else 0
        hits += 1 if detail.get("cache_hit") is True else 0
    print(
        f"\nrejeu tour par tour de {item['name']} ({len(turns)} tours, fenêtre {context} "
        f"tokens, seuil 80 %) : {written} résumé(s) écrit(s), {hits} tour(s) servis par le "
        f"cache ; tokens envoyés {sent} au lieu de {original} ({1 - sent / original:.1%} "
        f"de moins)"
    )
    ordered = sorted(durations)
    print(
        f"temps du pipeline par tour (masquage + compaction, cache et mémo chauds après le "
        f"1er tour) : médiane {ordered[len(ordered) // 2]:.1f} ms, max {ordered[-1]:.1f} ms"
    )
