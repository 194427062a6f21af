"""Real agent transcripts (../shared/agent-transcripts) through the savings pass.

Read where they live (``KIMI_AGENT_TRANSCRIPTS`` overrides the folder), never copied.
Each transcript's last request goes through ``SavingsPipeline`` for a 32k window: it
must fit, keep the head and the newest round byte for byte, and stay a valid request.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.transcripts import folder, load
from hub.config import HubConfig
from hub.core.storage.savings import SavingsStore
from hub.core.storage.store import Store
from hub.core.tokens import TokenCounter, load_encoding
from hub.features.savings.rounds import head_end, round_starts
from hub.features.savings.salient import failing_tests, outline
from hub.proxy.routing import ModelRouter
from hub.proxy.upstream import ProviderPool
from hub.services.savings.pipeline import Plan, SavingsPipeline
from tests.support.chat_checks import alternates, assert_head_kept, assert_valid

WINDOW = 32_768


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter(load_encoding())


async def test_every_transcript_fits_and_stays_valid(counter: TokenCounter) -> None:
    if not folder().is_dir():
        pytest.skip(
            f"transcripts absents : {folder()} (KIMI_AGENT_TRANSCRIPTS pour un autre dossier)"
        )
    transcripts = load()
    assert transcripts, f"aucun *.json.gz dans {folder()}"
    config = HubConfig(source=Path("test"))
    store = await Store.open(":memory:")
    pool = ProviderPool(config)
    pipeline = SavingsPipeline(
        config.savings, ModelRouter(config), pool, counter, SavingsStore(store)
    )
    try:
        for transcript in transcripts:
            run = transcript.messages
            plan = Plan(True, True, WINDOW, 0.8, 10, batch=10, session_id=None, persist=False)
            result = await pipeline.run(run, plan)
            out = result.messages
            assert not result.over_window and counter.count_chat(out) <= WINDOW, transcript.name
            head = head_end(run)
            newest = round_starts(run, head)[-1]
            assert_head_kept(out, run)
            assert out[len(out) - (len(run) - newest) :] == run[newest:]
            assert_valid(out, run)
            assert alternates(out) or not alternates(run)
    finally:
        await pool.aclose()
        await store.close()


def test_outline_and_failing_tests() -> None:
    dump = "\n".join(
        [
            "   10\tclass Parser:",
            "   11\t    def parse(self):",
            "   12\t        pass",
            "",
            "def free():",
        ]
    )
    assert outline(dump) == [
        "class Parser (line 10)",
        "def parse (line 11)",
        "def free (line 5)",
    ]
    log = "\n".join(
        [
            "tests/test_a.py::test_one PASSED",
            "FAILED tests/test_a.py::test_two - AssertionError: 1 != 2",
            "FAIL: test_three (pkg.tests.TestX)",
            "[ERROR] testFour(org.example.FooTest)  Time elapsed: 0.1 s",
        ]
    )
    names = failing_tests(log)
    assert "tests/test_a.py::test_two" in names and "pkg.tests.TestX.test_three" in names
    assert any("testFour" in name for name in names)
