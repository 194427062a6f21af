"""The aiohttp-backed httpx2 transport against real loopback servers: bytes, pool, faults."""

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from hub.proxy.aio_transport import AiohttpTransport
from tests.support.servers import serve


async def echo(request: Request) -> Response:
    body = await request.body()
    client = request.client
    return JSONResponse(
        {
            "body": body.decode(),
            "port": client.port if client else None,
            "auth": request.headers.get("authorization"),
            "ua": request.headers.get("user-agent"),
        }
    )


async def chunks(request: Request) -> Response:
    async def gen() -> AsyncIterator[bytes]:
        for i in range(3):
            yield f"data: {i}\n\n".encode()
            await asyncio.sleep(0.05)

    return StreamingResponse(gen(), media_type="text/event-stream")


async def hang(request: Request) -> Response:
    await asyncio.sleep(1)
    return Response("trop tard")


app = Starlette(
    routes=[
        Route("/echo", echo, methods=["POST"]),
        Route("/chunks", chunks),
        Route("/hang", hang),
    ]
)


@pytest.fixture
async def client() -> AsyncIterator[tuple[httpx2.AsyncClient, str]]:
    async with serve(app) as url:
        transport = AiohttpTransport(max_connections=4)
        async with httpx2.AsyncClient(transport=transport, timeout=5) as http:
            yield http, url


async def test_post_body_headers_and_keepalive(client: tuple[httpx2.AsyncClient, str]) -> None:
    http, url = client
    first = await http.post(f"{url}/echo", content=b"bonjour", headers={"authorization": "B x"})
    second = await http.post(f"{url}/echo", content="é".encode())
    assert first.status_code == 200 and first.json()["body"] == "bonjour"
    assert first.json()["auth"] == "B x" and first.json()["ua"].startswith("python-httpx")
    assert second.json()["body"] == "é"
    assert first.json()["port"] == second.json()["port"]  # one pooled connection, reused


async def test_stream_arrives_chunk_by_chunk(client: tuple[httpx2.AsyncClient, str]) -> None:
    http, url = client
    async with http.stream("GET", f"{url}/chunks") as response:
        parts = [part async for part in response.aiter_bytes()]
    assert b"".join(parts) == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"
    assert len(parts) >= 2  # not buffered until the end


async def test_read_timeout_is_httpx_read_timeout(client: tuple[httpx2.AsyncClient, str]) -> None:
    http, url = client
    with pytest.raises(httpx2.ReadTimeout):
        await http.get(f"{url}/hang", timeout=httpx2.Timeout(0.2))


async def test_refused_connection_is_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with httpx2.AsyncClient(transport=AiohttpTransport()) as http:
        with pytest.raises(httpx2.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/")


async def test_body_cut_midway_is_a_transport_error() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nseulement ceci")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, httpx2.AsyncClient(transport=AiohttpTransport()) as http:
        with pytest.raises(httpx2.TransportError):
            await http.get(f"http://127.0.0.1:{port}/")
