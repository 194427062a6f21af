"""Issue #10 finding 14: slow clients are closed (slowloris), a slow body gets a 408.

Real hub on loopback through the same uvicorn protocol as ``kimi-proxy serve`` (its
``--workers`` processes: tests/team/test_team_workers.py); raw sockets play the slow
clients. Deadlines are short here so the test is quick; nothing asserts how long
anything took.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from urllib.parse import urlsplit

import httpx2

from hub.api.app import create_app
from hub.config import HubConfig
from tests.support.servers import serve

SLOW_CLIENTS = 50


def _quick_headers(config: HubConfig) -> HubConfig:
    return replace(config, server=replace(config.server, header_timeout=0.5))


async def _open(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(url)
    return await asyncio.open_connection(parts.hostname, parts.port)


async def test_slow_headers_are_cut_and_the_hub_keeps_answering(hub_config: HubConfig) -> None:
    async with serve(create_app(_quick_headers(hub_config))) as url:
        clients = [await _open(url) for _ in range(SLOW_CLIENTS)]
        for _, writer in clients:
            writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")  # never ends
            await writer.drain()
        for reader, writer in clients:
            assert await reader.read() == b""  # closed by the hub, no response
            writer.close()
        silent, writer = await _open(url)  # connects and sends nothing at all
        assert await silent.read() == b""
        writer.close()
        async with httpx2.AsyncClient(base_url=url) as http:
            assert (await http.get("/health")).status_code == 200


async def test_a_kept_alive_connection_gets_the_deadline_again(hub_config: HubConfig) -> None:
    async with serve(create_app(_quick_headers(hub_config))) as url:
        reader, writer = await _open(url)
        writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await writer.drain()
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
        writer.write(b"GET /health HTTP/1.1\r\nHo")  # the second request stalls
        await writer.drain()
        rest = await reader.read()  # the first body, then the hub hangs up
        assert b"HTTP/1.1" not in rest
        writer.close()


async def test_slow_body_gets_408_in_french(hub_config: HubConfig) -> None:
    config = replace(hub_config, server=replace(hub_config.server, body_timeout=0.5))
    async with serve(create_app(config)) as url:
        for path in ("/chat/completions", "/api/sessions"):
            reader, writer = await _open(url)
            writer.write(
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                'Content-Length: 1000\r\n\r\n{"model": '.encode()
            )
            await writer.drain()
            answer = await reader.read()  # the 408, then the hub closes
            assert answer.startswith(b"HTTP/1.1 408")
            assert "Corps de requête trop lent".encode() in answer
            writer.close()
        async with httpx2.AsyncClient(base_url=url) as http:
            assert (await http.post("/api/sessions", json={"name": "après"})).status_code == 201


async def test_a_kept_alive_connection_times_its_next_body_again(hub_config: HubConfig) -> None:
    # the first body came whole (BodyDeadline skips its timer); the second must not inherit that
    config = replace(hub_config, server=replace(hub_config.server, body_timeout=0.5))
    async with serve(create_app(config)) as url:
        reader, writer = await _open(url)
        head = (
            "POST /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        )
        whole = b'{"name": "vite"}'
        writer.write(f"{head}Content-Length: {len(whole)}\r\n\r\n".encode() + whole)
        await writer.drain()
        first = await reader.readuntil(b"\r\n\r\n")
        assert first.startswith(b"HTTP/1.1 201"), first
        writer.write(f'{head}Content-Length: 1000\r\n\r\n{{"name": '.encode())
        await writer.drain()
        rest = await reader.read()  # the first body, then the 408 and the hub hangs up
        assert b"HTTP/1.1 408" in rest and "Corps de requête trop lent".encode() in rest
        writer.close()
