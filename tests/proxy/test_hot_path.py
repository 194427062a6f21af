"""The hot path's contracts: estimated usage when the upstream sends none, total deadline."""

from pathlib import Path

import httpx2
from openai import AsyncOpenAI

from hub.api.app import create_app
from hub.config import load_config
from tests.support.asgi import in_process
from tests.support.chats import HELLO
from tests.support.fake_upstream import FakeUpstream
from tests.support.hub_configs import UPSTREAM_SECRET, write_config
from tests.support.hub_rows import stored_rows


async def test_include_usage_without_upstream_usage_gets_the_hub_estimate(
    asgi_openai: AsyncOpenAI, asgi_http: httpx2.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    stream = await asgi_openai.chat.completions.create(
        model="fake/no-usage", messages=HELLO, stream=True,
        stream_options={"include_usage": True},
    )  # fmt: skip
    chunks = [chunk async for chunk in stream]
    final = chunks[-1]
    assert final.choices == [] and final.usage is not None
    assert (final.model_extra or {})["x_kimi_usage"] == "estimated"
    [row] = await stored_rows(asgi_http)
    assert row["usage_source"] == "estimated"
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (
        row["prompt_tokens"],
        row["completion_tokens"],
    )
    assert final.usage.completion_tokens > 0


async def test_without_include_usage_no_usage_chunk_is_added(asgi_http: httpx2.AsyncClient) -> None:
    body = {"model": "fake/no-usage", "messages": HELLO, "stream": True}
    async with asgi_http.stream("POST", "/chat/completions", json=body) as response:
        raw = b"".join([c async for c in response.aiter_bytes()])
    assert b'"usage"' not in raw and raw.endswith(b"data: [DONE]\n\n")


async def test_upstream_usage_is_relayed_not_estimated(asgi_openai: AsyncOpenAI) -> None:
    stream = await asgi_openai.chat.completions.create(
        model="fake/echo", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    final = [chunk async for chunk in stream][-1]
    assert final.usage is not None and "x_kimi_usage" not in (final.model_extra or {})


async def test_non_stream_total_deadline_is_504_and_recorded(
    tmp_path: Path, upstream_url: str
) -> None:
    extra = "total_timeout = 0.5\n"
    path = write_config(tmp_path, upstream_url)
    path.write_text(path.read_text().replace("[retry]\n", "[retry]\n" + extra, 1))
    config = load_config(path, {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET})
    async with in_process(create_app(config)) as hub, hub.http() as http:
        response = await http.post(
            "/chat/completions", json={"model": "fake/hang", "messages": HELLO}
        )
        assert response.status_code == 504, response.text
        assert response.json()["error"]["code"] == "upstream_timeout"
        assert response.headers["x-should-retry"] == "false"
        [row] = await stored_rows(http)
        assert row["status"] == "error" and row["http_status"] == 504
        assert "délai total" in row["error"]


async def test_provider_cookies_are_neither_kept_nor_relayed(
    asgi_http: httpx2.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    body = {"model": "fake/echo", "messages": HELLO}
    first = await asgi_http.post("/chat/completions", json=body)
    second = await asgi_http.post("/chat/completions", json=body)
    assert first.status_code == second.status_code == 200
    assert "set-cookie" not in first.headers  # the client never sees the provider's cookie
    assert all("cookie" not in h for h in fake_upstream.headers[-2:])  # nor does the next call
