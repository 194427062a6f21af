"""Run an ASGI app with uvicorn on a free loopback port, inside the test's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.types import ASGIApp

from hub.api.middleware.slow_clients import HeaderDeadlineProtocol


@asynccontextmanager
async def serve(
    app: ASGIApp, http: type[asyncio.Protocol] | str = HeaderDeadlineProtocol, port: int = 0
) -> AsyncIterator[str]:
    """By default the hub's own HTTP protocol (header deadline of the app's config), as
    ``serve`` has it; ``http="h11"`` for an ASGI server that knows nothing of the hub.
    ``port``: when the app must know its own URL before it starts (an OAuth audience)."""
    config = uvicorn.Config(
        app,
        http=http,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("le serveur s'est arrêté au démarrage")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
