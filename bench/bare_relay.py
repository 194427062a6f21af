"""The floor for the proxy benchmark: Starlette + one httpx2 client over the aiohttp transport.

    BENCH_UPSTREAM=http://127.0.0.1:PORT/v1 uvicorn --factory bench.bare_relay:create

The hub's own stack (uvicorn, Starlette, httpx2 API, ``AiohttpTransport``) with nothing
else: no sessions, savings, token counting, journal or database. What the hub adds above
this is the hub's own work.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import httpx2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from hub.proxy.aio_transport import AiohttpTransport


def create() -> Starlette:
    upstream = os.environ["BENCH_UPSTREAM"]
    client = httpx2.AsyncClient(transport=AiohttpTransport(max_connections=256))

    async def chat(request: Request) -> Response:
        body = await request.body()
        outgoing = client.build_request(
            "POST",
            f"{upstream}/chat/completions",
            content=body,
            headers={"content-type": "application/json"},
        )
        response = await client.send(outgoing, stream=True)
        media = response.headers.get("content-type", "application/json")
        if media.startswith("text/event-stream"):

            async def relay() -> AsyncIterator[bytes]:
                try:
                    async for chunk in response.aiter_bytes():
                        yield chunk
                finally:
                    await response.aclose()

            return StreamingResponse(relay(), media_type=media)
        content = await response.aread()
        await response.aclose()
        return Response(content, status_code=response.status_code, media_type=media)

    return Starlette(routes=[Route("/chat/completions", chat, methods=["POST"])])
