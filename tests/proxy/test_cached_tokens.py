"""Cached prompt tokens: read from the provider's usage, stored, priced, shown by /api."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.api.app import create_app
from hub.config import load_config
from hub.proxy.sse import usage_of
from tests.support.asgi import in_process
from tests.support.hub_configs import UPSTREAM_SECRET, write_config
from tests.support.json_values import Json, JsonObject

MODELS = """
[models."fake/cached"]
provider = "fake"
model = "cached"
input_price = 2.0
output_price = 4.0
cached_input_price = 0.5

[models."fake/cached-kimi"]
provider = "fake"
model = "cached-kimi"
input_price = 2.0

[models."fake/cached-deepseek"]
provider = "fake"
model = "cached-deepseek"
input_price = 2.0
cached_input_price = 0.2
"""
MESSAGES: list[Json] = [
    {"role": "user", "content": "Bonjour, explique les caches de prompt. " * 20}
]


@pytest.mark.parametrize(
    ("usage", "cached"),
    [
        ({"prompt_tokens_details": {"cached_tokens": 7}}, 7),
        ({"cached_tokens": 5}, 5),
        ({"prompt_cache_hit_tokens": 3, "prompt_cache_miss_tokens": 7}, 3),
        ({"prompt_tokens_details": {"cached_tokens": None}}, 0),
        ({"prompt_tokens_details": "n'importe quoi", "cached_tokens": -4}, 0),
        ({"cached_tokens": 10_000}, 10),  # never more than the prompt
        ({}, 0),
    ],
)
def test_cached_tokens_under_every_name(usage: JsonObject, cached: int) -> None:
    found = usage_of({"usage": {"prompt_tokens": 10, "completion_tokens": 1, **usage}})
    assert found is not None and found.cached_tokens == cached


async def test_cached_tokens_are_stored_priced_and_shown(tmp_path: Path, upstream_url: str) -> None:
    config = load_config(
        write_config(tmp_path, upstream_url, MODELS), {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET}
    )
    async with in_process(create_app(config)) as hub, hub.http() as http:
        async with hub.openai("k") as sdk:
            for model in ("fake/cached", "fake/cached-kimi", "fake/cached-deepseek"):
                await sdk.chat.completions.create(model=model, messages=MESSAGES)
            stream = await sdk.chat.completions.create(
                model="fake/cached", messages=MESSAGES, stream=True
            )
            async for _ in stream:
                pass
            rows = (await http.get("/api/export/json")).json()
            stats = (await http.get("/api/stats")).json()
    by_model: dict[str, list[Json]] = {}
    for row in rows if isinstance(rows, list) else rows["requests"]:
        by_model.setdefault(row["model_key"], []).append(row)
    for model, price in (
        ("fake/cached", 0.5),
        ("fake/cached-kimi", 2.0),
        ("fake/cached-deepseek", 0.2),
    ):
        row = by_model[model][0]
        prompt, cached = row["prompt_tokens"], row["cached_tokens"]
        assert cached == prompt // 2 > 0, model
        output = 4.0 if model == "fake/cached" else 0.0
        expected = (
            (prompt - cached) * 2.0 + cached * price + row["completion_tokens"] * output
        ) / 1e6
        assert row["cost"] == pytest.approx(expected), model
    streamed = [r for r in by_model["fake/cached"] if r["stream"]]
    assert streamed and streamed[0]["cached_tokens"] == streamed[0]["prompt_tokens"] // 2
    assert stats["totals"]["cached_tokens"] == sum(
        r["cached_tokens"] for rows in by_model.values() for r in rows
    )
