"""Issue #10 finding 13: the /ws fan-out never blocks the request path.

A client that stops reading fills its bounded queue and is closed with 1013; a
client that keeps up gets every event, and chat requests go on meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import socket
from urllib.parse import urlsplit

import websockets
from openai import AsyncOpenAI

from hub.api.app import create_app
from hub.api.state import HubState
from hub.config import HubConfig
from tests.support.servers import serve

EVENTS = 3000  # the bound: well past the 1000-event queue plus what the socket buffers hold
BURST = 100
PAD = "x" * 16_000


HANDSHAKE = (
    b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
CLOSE_1013 = b"\x88"  # then the payload length, then 1013 as two bytes
TRY_AGAIN_LATER = (1013).to_bytes(2, "big")
CLOSE_REPLY = b"\x88\x82\x00\x00\x00\x00" + (1000).to_bytes(2, "big")  # masked (zero key)


async def frozen_client(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A WebSocket client that stops reading after the handshake (a frozen tab), with a
    4 KiB receive buffer so the kernel does not hold megabytes on its behalf."""
    parts = urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (parts.hostname, parts.port))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(HANDSHAKE)
    await writer.drain()
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
    assert isinstance(writer.transport, asyncio.Transport)
    writer.transport.pause_reading()
    return reader, writer


async def test_slow_reader_is_dropped_fast_reader_and_requests_go_on(
    hub_config: HubConfig,
) -> None:
    app = create_app(hub_config)
    async with serve(app) as url:
        hub = app.state.hub
        assert isinstance(hub, HubState)
        slow_reader, slow_writer = await frozen_client(url)
        fast = await websockets.connect(url.replace("http://", "ws://") + "/ws", max_size=None)
        assert json.loads(await fast.recv())["type"] == "hello"
        received, subscribers = 0, hub.bus.subscribers  # both clients, and the failure log
        for start in range(0, EVENTS, BURST):
            if hub.bus.subscribers == subscribers - 1:
                break  # the frozen one is dropped: more events would prove nothing more
            for index in range(start, start + BURST):
                hub.bus.publish("test", {"index": index, "pad": PAD})
            while received < start + BURST:  # the fast client never falls behind a burst
                if json.loads(await fast.recv())["type"] == "test":
                    received += 1
        assert hub.bus.subscribers == subscribers - 1  # the frozen one dropped, the fast kept
        async with AsyncOpenAI(base_url=url, api_key="k", max_retries=0) as client:
            reply = await client.chat.completions.create(
                model="fake/echo", messages=[{"role": "user", "content": "toujours là"}]
            )
        assert reply.choices[0].message.content
        assert isinstance(slow_writer.transport, asyncio.Transport)
        slow_writer.transport.resume_reading()
        tail = b""  # the end of everything it had missed, up to the close frame
        while not (
            (close := tail.rfind(CLOSE_1013)) >= 0
            and tail[close + 2 : close + 4] == TRY_AGAIN_LATER
        ):
            chunk = await slow_reader.read(65536)
            assert chunk, tail[-64:]  # the connection ended before a 1013 close frame
            tail = (tail + chunk)[-256:]
        # answered as a client does: else the server waits its close timeout (10 s) for EOF
        slow_writer.write(CLOSE_REPLY)
        tail = (tail + await slow_reader.read())[-64:]  # the rest of the frame, then EOF
        close = tail.rfind(CLOSE_1013)
        assert close >= 0 and tail[close + 2 : close + 4] == TRY_AGAIN_LATER
        slow_writer.close()
        while json.loads(await fast.recv())["type"] != "metric":
            continue  # the chat's own event reached the fast client too
        await fast.close()
