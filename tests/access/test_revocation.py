"""Revoking a key ends what it holds open: chat streams, requests waiting, MCP sessions.

Issue #24: 22 chunks arrived after the revocation. The fake upstream's ``slow`` model
waits between chunks for as long as the test says; the proof is the count of chunks
that arrived (the upstream had more to send) and the upstream stream being cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx2
import openai
import pytest
import websockets
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from openai import AsyncOpenAI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from hub.api.app import create_app
from hub.api.middleware.revocation import until_revoked
from hub.config import load_config
from hub.services.access.live import LiveConnections
from tests.support.chats import HELLO
from tests.support.fake_upstream import REPLY, FakeUpstream
from tests.support.hub_configs import UPSTREAM_SECRET, with_admin_key, write_config
from tests.support.replicas import Replica
from tests.support.servers import serve

ADMIN = "admin-revocation"
WORDS = len(REPLY.split(" "))


def _config(tmp_path: Path, upstream_url: str) -> Path:
    return with_admin_key(write_config(tmp_path, upstream_url, read_timeout=60), ADMIN)


@pytest.fixture
async def admin(tmp_path: Path, upstream_url: str) -> AsyncIterator[httpx2.AsyncClient]:
    config = load_config(_config(tmp_path, upstream_url), {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET})
    async with serve(create_app(config)) as url:
        headers = {"authorization": f"Bearer {ADMIN}"}
        async with httpx2.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
            yield client


async def _key(admin: httpx2.AsyncClient) -> tuple[str, str]:
    created = (await admin.post("/api/keys", json={"name": "révocable"})).json()
    return str(created["secret"]), str(created["id"])


async def _stream_until_revoked(
    url: str, secret: str, revoke: Callable[[], Awaitable[None]]
) -> tuple[int, Exception]:
    """Read a slow stream, revoke after its first chunk; the chunks that came, the error."""
    async with AsyncOpenAI(base_url=url, api_key=secret, max_retries=0) as client:
        stream = await client.chat.completions.create(
            model="fake/slow", messages=HELLO, stream=True
        )
        chunks = 0
        try:
            async for chunk in stream:
                chunks += bool(chunk.choices and chunk.choices[0].delta.content)
                if chunks == 1:
                    await revoke()
        except openai.APIError as exc:
            return chunks, exc
    raise AssertionError(f"le flux est allé au bout ({chunks} morceaux)")


async def test_revocation_ends_an_open_stream(
    admin: httpx2.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.delay = 3.0  # the whole answer would take 3 × WORDS seconds
    secret, key_id = await _key(admin)

    async def revoke() -> None:
        assert (await admin.delete(f"/api/keys/{key_id}")).status_code == 200

    chunks, error = await _stream_until_revoked(str(admin.base_url), secret, revoke)
    assert chunks == 1 < WORDS  # nothing after the revocation
    assert "révoquée" in str(error)
    [row] = (await admin.get("/api/export/json")).json()["requests"]
    assert (row["status"], row["error"]) == ("cancelled", "clé API révoquée pendant la requête")
    for _ in range(100):  # the upstream call is cancelled with it
        if fake_upstream.cancelled:
            break
        await asyncio.sleep(0.05)
    assert fake_upstream.cancelled == 1


async def test_revocation_ends_a_request_waiting_for_its_answer(
    admin: httpx2.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    secret, key_id = await _key(admin)
    async with AsyncOpenAI(base_url=str(admin.base_url), api_key=secret, max_retries=0) as c:
        waiting = asyncio.create_task(c.chat.completions.create(model="fake/hang", messages=HELLO))
        while not fake_upstream.received:
            await asyncio.sleep(0.01)
        await admin.delete(f"/api/keys/{key_id}")
        with pytest.raises(openai.AuthenticationError) as refused:
            await waiting
    assert refused.value.code == "key_revoked"
    [row] = (await admin.get("/api/export/json")).json()["requests"]
    assert (row["status"], row["http_status"]) == ("cancelled", 401)


async def test_revocation_ends_an_mcp_session(admin: httpx2.AsyncClient) -> None:
    secret, key_id = await _key(admin)
    headers = {"authorization": f"Bearer {secret}"}
    async with httpx2.AsyncClient(headers=headers, timeout=10) as http:
        with pytest.raises(ExceptionGroup) as ended:
            async with Client(
                streamable_http_client(f"{admin.base_url}/mcp", http_client=http)
            ) as client:
                assert (await client.call_tool("tokens_count", {"text": "a"})).is_error is False
                await admin.delete(f"/api/keys/{key_id}")
                await client.call_tool("tokens_count", {"text": "b"})
    assert ended.group_contains(MCPError, depth=None)  # the 401 the next call got


async def test_other_keys_streams_go_on(
    admin: httpx2.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.delay = 0.05
    _, key_id = await _key(admin)
    other, _ = await _key(admin)
    async with AsyncOpenAI(base_url=str(admin.base_url), api_key=other, max_retries=0) as c:
        stream = await c.chat.completions.create(model="fake/slow", messages=HELLO, stream=True)
        await admin.delete(f"/api/keys/{key_id}")
        text = "".join([k.choices[0].delta.content or "" async for k in stream if k.choices])
    assert text == REPLY


async def test_revocation_reaches_a_stream_on_another_replica(
    two_replicas: list[Replica], fake_upstream: FakeUpstream
) -> None:
    """Revoked on A, the stream held open on B ends: the cluster link carries it."""
    a, b = two_replicas
    fake_upstream.delay = 3.0
    async with httpx2.AsyncClient(base_url=a.url, timeout=30) as admin_a:
        secret, key_id = await _key(admin_a)

        async def revoke() -> None:
            assert (await admin_a.delete(f"/api/keys/{key_id}")).status_code == 200

        chunks, error = await _stream_until_revoked(b.url, secret, revoke)
    assert chunks == 1 < WORDS and "révoquée" in str(error)


def _watched_app(live: LiveConnections) -> ASGIApp:
    """A WebSocket that echoes and an endless event stream, each held by key « k1 »."""

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        while True:
            await websocket.send_text(await websocket.receive_text())

    async def ticks(request: Request) -> StreamingResponse:
        async def forever() -> AsyncIterator[bytes]:
            while True:
                yield b"data: tic\n\n"
                await asyncio.sleep(0.05)

        return StreamingResponse(forever(), media_type="text/event-stream")

    app = Starlette(routes=[WebSocketRoute("/ws", echo), Route("/events", ticks)])

    async def held(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await app(scope, receive, send)
            return
        await until_revoked(app, scope, receive, send, live, "k1")

    return held


async def test_revocation_closes_websockets_and_other_streams() -> None:
    live = LiveConnections()
    async with serve(_watched_app(live), http="h11") as url:
        async with websockets.connect(url.replace("http://", "ws://") + "/ws") as ws:
            await ws.send("bonjour")
            assert await ws.recv() == "bonjour"
            async with httpx2.AsyncClient(base_url=url) as http:
                async with http.stream("GET", "/events") as events:
                    lines = events.aiter_lines()
                    assert await anext(lines) == "data: tic"
                    assert live.end("k1") == 2
                    rest = [line async for line in lines]  # the endless stream ended
            assert rest.count("data: tic") <= 1  # at most one already on its way
            assert not any("error" in line for line in rest)  # no chat error event here
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert "révoquée" in closed.value.rcvd.reason
    assert live.end("k1") == 0  # nothing left registered
