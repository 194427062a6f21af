"""An ordinary Starlette upstream: the same JSON and SSE as ``fast_http``, through routing.

    uvicorn bench.starlette_upstream:app

Model ``slow`` answers in about 0.4 s (streams: one event per 0.1 s), for
``bench.faults``. About 5 000 req/s on this machine: far faster than any real provider,
slow enough that the hub's own CPU is not the only thing measured.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from bench.fast_http import COMPLETION, STREAM_EVENTS


async def chat(request: Request) -> Response:
    body = json.loads(await request.body())
    pause = 0.1 if body.get("model") == "slow" else 0.0  # in flight long enough to be hit
    if body.get("stream") is True:

        async def events() -> AsyncIterator[bytes]:
            for event in STREAM_EVENTS:
                if pause:
                    await asyncio.sleep(pause)
                yield event

        return StreamingResponse(events(), media_type="text/event-stream")
    if pause:
        await asyncio.sleep(pause * 4)
    return Response(COMPLETION, media_type="application/json")


app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
