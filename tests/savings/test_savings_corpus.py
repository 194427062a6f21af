"""The committed savings corpus is what docs/BENCHMARKS.md says it is."""

from __future__ import annotations

from bench.savings_corpus import CORPUS, all_facts, load_corpus, sent_text
from tests.support.json_values import Json


def test_corpus_shape() -> None:
    corpus: list[Json] = load_corpus()
    assert len(corpus) >= 10
    assert sum(p.stat().st_size for p in CORPUS.glob("*.json.gz")) < 15 * 1024 * 1024
    assert sum(1 for item in corpus if item["tokens"] > 50_000) >= 3
    for item in corpus:
        assert 20_000 <= item["tokens"] <= 150_000
        text = sent_text(item["messages"])
        facts = all_facts(item["key_facts"])
        assert len(facts) >= 10 and all(fact in text for fact in facts)
        kinds = {m["role"] for m in item["messages"]}
        assert kinds == {"system", "user", "assistant", "tool"}
