"""Bad input and every way the upstream can fail: clear errors, nothing unrecorded."""

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import openai
import pytest
from openai import AsyncOpenAI

from hub.api.app import create_app
from hub.api.middleware.slow_clients import HeaderDeadlineProtocol
from hub.config import HubConfig, load_config
from tests.support.asgi import in_process
from tests.support.chats import HELLO
from tests.support.fake_upstream import FakeUpstream
from tests.support.hub_configs import write_config
from tests.support.hub_rows import stored_rows
from tests.support.json_values import Json
from tests.support.servers import serve


def _assert_openai_error(response: httpx2.Response, status: int, code: str | None = None) -> Json:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    if code:
        assert error["code"] == code
    return error


@pytest.mark.parametrize(
    ("content", "code", "param"),
    [
        (b"{not json", "invalid_json", None),
        (b"", "invalid_json", None),
        (b"[1, 2]", "invalid_json", None),
        (b'{"messages": [{"role": "user", "content": "x"}]}', "missing_model", "model"),
        (b'{"model": "fake/echo"}', "missing_messages", "messages"),
        (b'{"model": "fake/echo", "messages": []}', "missing_messages", "messages"),
        (b'{"model": "fake/echo", "messages": ["x"]}', "invalid_message", "messages[0]"),
        (b'{"model": 42, "messages": [{"role": "user"}]}', "invalid_type", "model"),
        (
            b'{"model": "fake/echo", "messages": [{"role": "user"}], "stream": "yes"}',
            None,
            "stream",
        ),
        (b'{"model": "fake/echo", "messages": [{"role": "user"}], "tools": {}}', None, "tools"),
        (b"[" * 100000 + b"]" * 100000, None, None),
        # not JSON (RFC 8259): json.loads would let them through, to be forwarded as NaN
        (b'{"model": "fake/echo", "messages": [], "temperature": NaN}', "invalid_json", None),
        (b'{"model": "fake/echo", "messages": [], "top_p": -Infinity}', "invalid_json", None),
        (b'{"model": "fake/echo", "messages": [], "temperature": 1e400}', "invalid_json", None),
    ],
)
async def test_malformed_requests_get_400_in_french(
    asgi_http: httpx2.AsyncClient,
    fake_upstream: FakeUpstream,
    content: bytes,
    code: str,
    param: str | None,
) -> None:
    response = await asgi_http.post("/chat/completions", content=content,
                               headers={"content-type": "application/json"})  # fmt: skip
    error = _assert_openai_error(response, 413 if len(content) > 65536 else 400, code)
    if param:
        assert error["param"] == param
    assert fake_upstream.received == []


async def test_numbers_past_64_bits_reach_the_upstream_intact(
    asgi_http: httpx2.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    body = (
        b'{"model": "fake/echo", "messages": [{"role": "user", "content": "x"}],'
        b' "seed": 123456789012345678901234567890, "metadata": {"n": 1.5e300}}'
    )
    response = await asgi_http.post("/chat/completions", content=body,
                               headers={"content-type": "application/json"})  # fmt: skip
    assert response.status_code == 200, response.text
    [received] = fake_upstream.received
    assert received["seed"] == 123456789012345678901234567890  # not 1.2345678901234568e+29
    assert received["metadata"] == {"n": 1.5e300}


async def test_oversized_body_is_413(
    asgi_http: httpx2.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    big = {"model": "fake/echo", "messages": [{"role": "user", "content": "x" * 70000}]}
    _assert_openai_error(
        await asgi_http.post("/chat/completions", json=big), 413, "request_too_large"
    )

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"x" * 1000

    json_type = {"content-type": "application/json"}
    streamed = await asgi_http.post("/chat/completions", content=chunks(), headers=json_type)
    _assert_openai_error(streamed, 413, "request_too_large")
    assert fake_upstream.received == []


async def test_unknown_model_is_404_listing_models(asgi_openai: AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        await asgi_openai.chat.completions.create(model="gpt-9", messages=HELLO)
    assert caught.value.code == "model_not_found"
    assert "fake/echo" in caught.value.message and "inconnu" in caught.value.message


async def test_unknown_or_invalid_session_header(
    asgi_http: httpx2.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    body = {"model": "fake/echo", "messages": HELLO}
    missing = await asgi_http.post(
        "/chat/completions", json=body, headers={"x-kimi-session": "999"}
    )
    _assert_openai_error(missing, 404, "session_not_found")
    bad = await asgi_http.post("/chat/completions", json=body, headers={"x-kimi-session": "abc"})
    _assert_openai_error(bad, 400, "invalid_session_id")
    assert fake_upstream.received == []


async def test_429_is_retried_honouring_retry_after(
    asgi_openai: AsyncOpenAI, asgi_http: httpx2.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.failures["flaky"] = 2
    fake_upstream.retry_after = "0.05"
    reply = await asgi_openai.chat.completions.create(model="fake/flaky", messages=HELLO)
    assert reply.choices[0].message.content
    [row] = await stored_rows(asgi_http)
    assert row["attempts"] == 3 and row["status"] == "ok"


async def test_long_retry_after_is_passed_to_the_client(
    asgi_http: httpx2.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.failures["flaky"] = 5
    fake_upstream.retry_after = "120"
    response = await asgi_http.post(
        "/chat/completions", json={"model": "fake/flaky", "messages": HELLO}
    )
    assert response.status_code == 429 and response.headers["retry-after"] == "120"
    assert "x-should-retry" not in response.headers  # the client's own retry may wait
    assert len(fake_upstream.received) == 1
    [row] = await stored_rows(asgi_http)
    assert row["status"] == "error" and row["http_status"] == 429


async def test_5xx_is_retried_then_relayed_and_recorded(
    asgi_http: httpx2.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    response = await asgi_http.post(
        "/chat/completions", json={"model": "fake/down", "messages": HELLO}
    )
    assert response.status_code == 500 and response.json()["error"]["message"] == "boom"
    assert response.headers["x-should-retry"] == "false"
    assert len(fake_upstream.received) == 3
    [row] = await stored_rows(asgi_http)
    assert (row["status"], row["http_status"], row["attempts"]) == ("error", 500, 3)


async def test_sdk_does_not_retry_what_the_hub_retried(
    asgi_openai: AsyncOpenAI, fake_upstream: FakeUpstream
) -> None:
    """openai SDK (max_retries=2 by default) + the hub's 3 attempts: 3 upstream calls, not 9."""
    with pytest.raises(openai.InternalServerError):
        await asgi_openai.with_options(max_retries=2).chat.completions.create(
            model="fake/down", messages=HELLO
        )
    assert len(fake_upstream.received) == 3


async def test_4xx_is_relayed_without_retry(
    asgi_http: httpx2.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    response = await asgi_http.post(
        "/chat/completions", json={"model": "fake/bad", "messages": HELLO}
    )
    assert response.status_code == 400 and response.json()["error"]["message"] == "bad thing"
    assert len(fake_upstream.received) == 1


async def test_unreachable_upstream_is_502_and_recorded(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    config = load_config(write_config(tmp_path, dead), {"FAKE_UPSTREAM_KEY": "k"})
    async with in_process(create_app(config)) as hub, hub.http() as http:
        response = await http.post(
            "/chat/completions", json={"model": "fake/echo", "messages": HELLO}
        )
        error = _assert_openai_error(response, 502, "upstream_unreachable")
        assert response.headers["x-should-retry"] == "false"
        assert "injoignable" in error["message"] and "k" != error["message"]
        [row] = await stored_rows(http)
        assert row["status"] == "error" and row["attempts"] == 3


async def test_timeout_before_first_byte_is_504(
    tmp_path: Path, upstream_url: str, fake_upstream: FakeUpstream
) -> None:
    config = load_config(
        write_config(tmp_path, upstream_url, read_timeout=0.2), {"FAKE_UPSTREAM_KEY": "k"}
    )
    async with in_process(create_app(config)) as hub, hub.http() as http:
        response = await http.post(
            "/chat/completions", json={"model": "fake/hang", "messages": HELLO}
        )
        _assert_openai_error(response, 504, "upstream_timeout")
        assert len(fake_upstream.received) == 3
        [row] = await stored_rows(http)
        assert row["status"] == "error" and row["http_status"] == 504


async def test_stream_cut_midway_ends_with_error_event_and_partial_row(
    asgi_http: httpx2.AsyncClient,
) -> None:
    body = {"model": "fake/cut", "messages": HELLO, "stream": True}
    async with asgi_http.stream("POST", "/chat/completions", json=body) as response:
        raw = b"".join([chunk async for chunk in response.aiter_bytes()])
    assert b'"code": "stream_interrupted"' in raw
    assert "interrompu" in raw.decode()
    [row] = await stored_rows(asgi_http)
    assert row["status"] == "partial" and row["usage_source"] == "estimated"
    assert row["completion_tokens"] == 4  # "Bonjour", " !", " Vo", "ici" by cl100k_base


async def test_client_disconnect_cancels_upstream_and_is_recorded(
    http: httpx2.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.delay = 0.2
    body = {"model": "fake/slow", "messages": HELLO, "stream": True}
    async with http.stream("POST", "/chat/completions", json=body) as response:
        async for _ in response.aiter_bytes():
            break  # the editor's user pressed stop after the first chunk
    for _ in range(100):
        if fake_upstream.cancelled:
            break
        await asyncio.sleep(0.02)
    assert fake_upstream.cancelled == 1
    [row] = await stored_rows(http)
    assert row["status"] == "cancelled"


@pytest.mark.parametrize("protocol", ["hub", "h11"])
async def test_stream_disconnect_cancels_a_silent_upstream_at_once(
    hub_config: HubConfig, fake_upstream: FakeUpstream, protocol: str
) -> None:
    # First word, then a minute of silence: the hub must see the client leave from the
    # connection (its protocol's callback; under h11, Starlette's listener task), not at its
    # next write to the client, a minute later.
    fake_upstream.delay = 60
    server = serve(create_app(hub_config), "h11" if protocol == "h11" else HeaderDeadlineProtocol)
    async with server as url, httpx2.AsyncClient(base_url=url, timeout=10) as http:
        body = {"model": "fake/slow", "messages": HELLO, "stream": True}
        async with http.stream("POST", "/chat/completions", json=body) as response:
            async for _ in response.aiter_bytes():
                break
        for _ in range(250):
            if fake_upstream.cancelled:
                break
            await asyncio.sleep(0.02)
        assert fake_upstream.cancelled == 1
        for _ in range(250):
            if rows := await stored_rows(http):
                break
            await asyncio.sleep(0.02)
        assert [(r["status"], r["http_status"]) for r in rows] == [("cancelled", 499)]


async def test_non_stream_disconnect_cancels_upstream(
    hub_url: str, http: httpx2.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    await _disconnect_while_upstream_thinks(hub_url, http, fake_upstream)


async def test_non_stream_disconnect_on_another_asgi_server(
    hub_config: HubConfig, fake_upstream: FakeUpstream
) -> None:
    # no on_disconnect callback from the protocol: the route's watcher task notices
    async with (
        serve(create_app(hub_config), http="h11") as url,
        httpx2.AsyncClient(base_url=url, timeout=10) as http,
    ):
        await _disconnect_while_upstream_thinks(url, http, fake_upstream)


async def _disconnect_while_upstream_thinks(
    hub_url: str, http: httpx2.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    host, port = hub_url.removeprefix("http://").split(":")
    _reader, writer = await asyncio.open_connection(host, int(port))
    body = json.dumps({"model": "fake/hang", "messages": HELLO}).encode()
    writer.write(
        b"POST /chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        + f"content-length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    while not fake_upstream.received:
        await asyncio.sleep(0.01)
    writer.close()  # the client goes away while the upstream is still thinking
    for _ in range(200):
        rows = await stored_rows(http)
        if rows:
            break
        await asyncio.sleep(0.02)
    assert rows[0]["status"] == "cancelled"
    assert fake_upstream.cancelled == 1


async def test_unknown_route_and_method_are_openai_shaped(asgi_http: httpx2.AsyncClient) -> None:
    _assert_openai_error(await asgi_http.get("/v1/models"), 404)
    _assert_openai_error(await asgi_http.get("/chat/completions"), 405)
