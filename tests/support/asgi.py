"""The hub in-process: its lifespan run as an ASGI server runs it, requests with no socket.

Requests go through httpx2's ``ASGITransport``. It hands the app each request whole and
buffers each answer whole: a stream arrives at once when it ends, and no client can go
away in the middle. So this is for tests about what the hub answers, not about the
connection. Like any ASGI server but the hub's own, it sets no
``scope["extensions"]["kimi.protocol"]``: the hub then takes its generic paths
(``hub.api.middleware.disconnects``), as under another server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx2
from openai import AsyncOpenAI
from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.api.state import HubState

BASE_URL = "http://127.0.0.1"
"""A loopback Host header: the browser guard refuses a foreign one, as on a socket."""


@asynccontextmanager
async def lifespan(app: ASGIApp) -> AsyncIterator[dict[str, object]]:
    """The ASGI lifespan protocol: startup before the block, shutdown after it; yields the
    lifespan state (what the app's lifespan yielded).

    The app runs in a task of its own, as under a server: pytest-asyncio sets a fixture up
    and tears it down in different tasks, and the hub's task groups must exit in the task
    that entered them. A failed startup raises the app's own exception.
    """
    state: dict[str, object] = {}
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    started: asyncio.Future[None] = loop.create_future()
    stopped: asyncio.Future[None] = loop.create_future()

    async def receive() -> Message:
        return await inbox.get()

    async def send(message: Message) -> None:
        kind = message["type"]
        future = started if kind.startswith("lifespan.startup.") else stopped
        if kind.endswith(".complete"):
            future.set_result(None)
        else:
            future.set_exception(RuntimeError(f"{kind} : {message.get('message', '')}"))

    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}

    async def run() -> None:
        await app({**scope, "state": state}, receive, send)

    task = asyncio.create_task(run())
    await inbox.put({"type": "lifespan.startup"})
    await asyncio.wait({started, task}, return_when=asyncio.FIRST_COMPLETED)
    if not started.done() or started.exception() is not None:
        await task  # the app's own exception, if it raised one
        started.result()  # else the failure it reported
        raise RuntimeError("le lifespan de l'application s'est terminé avant le démarrage")
    try:
        yield state
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await task
        stopped.result()


def with_state(app: ASGIApp, state: dict[str, object]) -> ASGIApp:
    """``app`` given a copy of the lifespan state in each request's scope, as servers do."""

    async def app_with_state(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, "state": dict(state)}
        await app(scope, receive, send)

    return app_with_state


class InProcess:
    """A running app and clients that reach it with no socket."""

    def __init__(self, app: Starlette, state: dict[str, object]) -> None:
        self.app = app
        # like a server, an unhandled error is a 500 for the client, not an exception here
        self.transport = httpx2.ASGITransport(
            app=with_state(app, state), raise_app_exceptions=False
        )

    @property
    def hub(self) -> HubState:
        """The hub's objects (``app.state.hub``), built by the lifespan."""
        hub = self.app.state.hub
        assert isinstance(hub, HubState)
        return hub

    def http(
        self, headers: dict[str, str] | None = None, timeout: float = 10
    ) -> httpx2.AsyncClient:
        """An httpx2 client of the app (close it, or use it with ``async with``)."""
        return httpx2.AsyncClient(
            transport=self.transport, base_url=BASE_URL, headers=headers, timeout=timeout
        )

    def openai(self, api_key: str = "client-key") -> AsyncOpenAI:
        """The official SDK on the app, without retries (close it, or ``async with``)."""
        return AsyncOpenAI(
            base_url=BASE_URL, api_key=api_key, max_retries=0, http_client=self.http()
        )


@asynccontextmanager
async def in_process(app: Starlette) -> AsyncIterator[InProcess]:
    """``app`` started (its lifespan) for the block, stopped after it."""
    async with lifespan(app) as state:
        yield InProcess(app, state)
