"""A big prompt is tokenised off the event loop (coding standards: CPU-heavy work leaves it).

The hub runs in-process on this test's loop; a spy on tiktoken notes every text longer than
``INLINE_CHARS`` that is encoded on the loop's thread. A history sent cold to a model
whose window it overflows takes the whole savings pass (masking, extractive summary,
levels) and must not encode one of them there: the ``bench loop_block`` history (200
messages, ~150k tokens) and the two largest real agent transcripts
(../shared/agent-transcripts, read in place).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import tiktoken

from bench.loop_block import CONFIG, history
from bench.transcripts import folder, load
from hub.api.app import create_app
from hub.config import load_config
from hub.core.offload import INLINE_CHARS
from tests.support.asgi import in_process
from tests.support.fake_upstream import FakeUpstream
from tests.support.hub_rows import stored_rows
from tests.support.servers import serve


def _real(rank: int) -> list[object]:
    if not folder().is_dir():
        pytest.skip(
            f"transcripts absents : {folder()} (KIMI_AGENT_TRANSCRIPTS pour un autre dossier)"
        )
    by_size = sorted(load(), key=lambda t: -len(json.dumps(t.messages)))
    return list(by_size[rank].messages)


@pytest.mark.parametrize(
    ("source", "window"),
    [("synthetic", 100_000), ("largest transcript", 32_768), ("second transcript", 32_768)],
)
async def test_no_long_text_is_tokenised_on_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, window: int
) -> None:
    if source == "synthetic":
        messages: list[object] = list(history(200, 150_000))
    else:
        messages = _real(0 if source.startswith("largest") else 1)
    loop_thread = threading.get_ident()
    on_loop: list[int] = []
    encode = tiktoken.Encoding.encode_ordinary

    def spy(self: tiktoken.Encoding, text: str) -> list[int]:
        if threading.get_ident() == loop_thread and len(text) > INLINE_CHARS:
            on_loop.append(len(text))
        return encode(self, text)

    monkeypatch.setattr(tiktoken.Encoding, "encode_ordinary", spy)
    async with serve(FakeUpstream().app()) as upstream:
        port = int(upstream.rsplit(":", 1)[1])
        path = tmp_path / "config.toml"
        path.write_text(CONFIG.format(db=tmp_path / "hub.db", port=port, max_context=window,
                                      masking="true", compaction="true"))  # fmt: skip
        body = json.dumps({"model": "big", "messages": messages}).encode()
        async with (
            in_process(create_app(load_config(path, {}))) as hub,
            hub.http(timeout=60) as http,
        ):
            response = await http.post(
                "/chat/completions", content=body, headers={"content-type": "application/json"}
            )
            assert response.status_code == 200, response.text
            [row] = await stored_rows(http)
    assert row["tokens_saved"] > 20_000  # the pass did compact: the summary was built and sized
    assert on_loop == []
