"""The proxy as an editor sees it: the official openai SDK against the running hub."""

import json

import httpx2
from openai import AsyncOpenAI

from hub.config import HubConfig
from tests.support.chats import HELLO
from tests.support.fake_upstream import REPLY, FakeUpstream
from tests.support.hub_configs import UPSTREAM_SECRET
from tests.support.json_values import Json


async def _requests(http: httpx2.AsyncClient) -> list[Json]:
    session = (await http.get("/api/stats")).json()["active_session"]
    metrics = await http.get(f"/api/sessions/{session['id']}/metrics")
    rows: list[Json] = metrics.json()["requests"]
    return rows


async def test_models_lists_config_keys_with_context(asgi_openai: AsyncOpenAI) -> None:
    models = await asgi_openai.models.list()
    ids = {m.id: m for m in models.data}
    assert set(ids) == {"fake/echo", "other/echo", "small"}
    assert (ids["fake/echo"].model_extra or {})["max_context"] == 1000


async def test_non_stream_uses_upstream_usage_and_prices(
    asgi_openai: AsyncOpenAI, asgi_http: httpx2.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    reply = await asgi_openai.chat.completions.create(model="fake/echo", messages=HELLO)
    assert reply.choices[0].message.content == REPLY
    [row] = await _requests(asgi_http)
    assert row["usage_source"] == "upstream"
    assert reply.usage is not None and row["prompt_tokens"] == reply.usage.prompt_tokens
    assert row["completion_tokens"] == 9
    assert row["status"] == "ok" and row["http_status"] == 200
    assert row["prompt_estimate"] == 3 + 1 + 1 + 3  # "Bonjour" is one token
    expected_cost = (row["prompt_tokens"] * 1.0 + 9 * 2.0) / 1e6
    assert abs(row["cost"] - expected_cost) < 1e-12
    assert row["ttfb_ms"] is not None and row["total_ms"] >= row["ttfb_ms"]


async def test_missing_usage_is_estimated_with_tiktoken(
    asgi_openai: AsyncOpenAI, asgi_http: httpx2.AsyncClient, hub_config: HubConfig
) -> None:
    await asgi_openai.chat.completions.create(model="fake/no-usage", messages=HELLO)
    [row] = await _requests(asgi_http)
    assert row["usage_source"] == "estimated"
    assert row["prompt_tokens"] == row["prompt_estimate"] == 8
    assert row["completion_tokens"] > 0


async def test_stream_relays_events_and_hides_injected_usage(
    asgi_openai: AsyncOpenAI, asgi_http: httpx2.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    stream = await asgi_openai.chat.completions.create(
        model="fake/echo", messages=HELLO, stream=True
    )
    chunks = [c async for c in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == REPLY
    assert all(c.choices for c in chunks), "the usage chunk the client did not ask for leaked"
    assert fake_upstream.received[0]["stream_options"] == {"include_usage": True}
    [row] = await _requests(asgi_http)
    assert row["usage_source"] == "upstream" and row["stream"] is True
    assert row["completion_tokens"] == 9


async def test_stream_keeps_usage_when_client_asked(
    asgi_openai: AsyncOpenAI, asgi_http: httpx2.AsyncClient
) -> None:
    stream = await asgi_openai.chat.completions.create(
        model="fake/echo", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    chunks = [c async for c in stream]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 9


async def test_stream_without_upstream_usage_is_estimated(
    asgi_openai: AsyncOpenAI, asgi_http: httpx2.AsyncClient
) -> None:
    stream = await asgi_openai.chat.completions.create(
        model="fake/no-usage", messages=HELLO, stream=True
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    [row] = await _requests(asgi_http)
    assert row["usage_source"] == "estimated"
    assert row["completion_tokens"] > 0 and text == REPLY


async def test_tools_and_multipart_pass_through_untouched(
    asgi_openai: AsyncOpenAI, fake_upstream: FakeUpstream
) -> None:
    schema = {"type": "object", "properties": {"p": {"type": "string"}}}
    tools: list[Json] = [{"type": "function", "function": {"name": "lire", "parameters": schema}}]
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    call = {"id": "call_1", "type": "function",
            "function": {"name": "lire", "arguments": '{"p": "a"}'}}  # fmt: skip
    messages: list[Json] = [
        {"role": "user", "content": [{"type": "text", "text": "Décris"}, image]},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "contenu"},
    ]
    await asgi_openai.chat.completions.create(
        model="fake/echo", messages=messages, tools=tools, tool_choice="auto", temperature=0.2
    )
    sent = fake_upstream.received[0]
    assert sent["messages"] == messages and sent["tools"] == tools
    assert sent["tool_choice"] == "auto" and sent["temperature"] == 0.2


async def test_client_authorization_is_not_forwarded(
    asgi_openai: AsyncOpenAI, fake_upstream: FakeUpstream
) -> None:
    await asgi_openai.chat.completions.create(model="fake/echo", messages=HELLO)
    assert fake_upstream.headers[0]["authorization"] == f"Bearer {UPSTREAM_SECRET}"
    await asgi_openai.chat.completions.create(model="other/echo", messages=HELLO)
    assert "authorization" not in fake_upstream.headers[1]


async def test_secrets_never_appear_in_api_or_exports(
    asgi_openai: AsyncOpenAI, asgi_http: httpx2.AsyncClient
) -> None:
    await asgi_openai.chat.completions.create(model="fake/echo", messages=HELLO)
    for path in (
        "/api/stats",
        "/api/sessions",
        "/api/export/csv",
        "/api/export/json",
        "/health",
        "/models",
    ):
        body = (await asgi_http.get(path)).text
        assert UPSTREAM_SECRET not in body, path


async def test_raw_stream_events_arrive_byte_for_byte(asgi_http: httpx2.AsyncClient) -> None:
    body = {"model": "fake/echo", "messages": HELLO, "stream": True,
            "stream_options": {"include_usage": True}}  # fmt: skip
    async with asgi_http.stream("POST", "/chat/completions", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = b"".join([chunk async for chunk in response.aiter_bytes()])
    events = [e for e in raw.split(b"\n\n") if e]
    assert events[-1] == b"data: [DONE]"
    first = json.loads(events[0][len(b"data: ") :])
    assert first["choices"][0]["delta"]["content"] == "Bonjour"
