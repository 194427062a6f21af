"""The prompt cache on real agent transcripts, replayed turn by turn through the pass.

Read where they live (``../shared/agent-transcripts``, ``KIMI_AGENT_TRANSCRIPTS``
overrides the folder), never copied. A provider caches the leading part of a request
that is byte-identical to the previous one: a message forwarded rewritten keeps that
form (decided once), and an escalation that cannot win much does not break the cache.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench.transcripts import Transcript, folder, load
from hub.config import HubConfig
from hub.core.jsontypes import JSON
from hub.core.tokens import TokenCounter, load_encoding
from hub.features.savings.wording import ENGLISH
from hub.services.savings.pipeline import Plan, SavingsPipeline
from tests.support.savings_pipeline import savings_pipeline


def transcripts(prefix: str) -> list[Transcript]:
    if not folder().is_dir():
        pytest.skip(
            f"transcripts absents : {folder()} (KIMI_AGENT_TRANSCRIPTS pour un autre dossier)"
        )
    found = [t for t in load() if t.name.startswith(prefix)]
    assert found, f"aucun transcript {prefix}-* dans {folder()}"
    return found


@pytest.fixture
async def pipeline() -> AsyncIterator[SavingsPipeline]:
    async with savings_pipeline(TokenCounter(load_encoding())) as found:
        yield found


async def replay(
    pipeline: SavingsPipeline, transcript: Transcript, window: int, session: int
) -> list[tuple[list[JSON], list[JSON]]]:
    """(request, forwarded) for every request the agent made, default ``[savings]``."""
    config = HubConfig(source=Path("test")).savings
    plan = Plan(
        True,
        True,
        window,
        config.compaction_threshold,
        config.keep_recent_rounds,
        batch=config.rewrite_batch_rounds,
        session_id=session,
        summarise_from=config.summarise_from_tokens,
        giant=config.giant_output_tokens,
    )
    turns = []
    for end, message in enumerate(transcript.messages):
        if isinstance(message, dict) and message.get("role") == "assistant":
            request = transcript.messages[:end]
            turns.append((request, (await pipeline.run(request, plan)).messages))
    return turns


@pytest.mark.parametrize("family", ["openhands", "swea0"])
async def test_a_rewritten_message_keeps_its_form(pipeline: SavingsPipeline, family: str) -> None:
    """Between two turns the cache breaks at the summary or at a message sent as it was,
    never at one already rewritten (masked, then shrunk as a repeat, then masked again)."""
    session = 0
    for transcript in transcripts(family):
        for window in (131_072, 32_768):
            session += 1
            previous: list[JSON] = []
            for request, forwarded in await replay(pipeline, transcript, window, session):
                same = 0
                while same < min(len(previous), len(forwarded)):
                    if previous[same] != forwarded[same]:
                        break
                    same += 1
                if previous and same < len(previous):
                    changed = previous[same]
                    content = str(changed.get("content")) if isinstance(changed, dict) else ""
                    assert changed in request or content.startswith(ENGLISH.summary_marker), (
                        transcript.name,
                        window,
                        len(request),
                        content[:80],
                    )
                previous = forwarded


async def test_an_escalation_that_wins_little_leaves_the_prefix(
    pipeline: SavingsPipeline,
) -> None:
    """SWE-agent 0.x, jackson-databind-3509 at 32k: the last request is the head, 16 tiny
    rounds and a 22.8k-token listing in the newest round. It fits the window but passes the
    threshold; summarising the tiny rounds would win ~1k tokens and re-bill all of them."""
    (transcript,) = [t for t in transcripts("swea0") if t.name.endswith("3509")]
    turns = await replay(pipeline, transcript, 32_768, 1)
    (_, before), (request, last) = turns[-2:]
    assert last[: len(before)] == before
    assert last[2:] == request[2:]  # all but the demonstration (rewritten from the start)
