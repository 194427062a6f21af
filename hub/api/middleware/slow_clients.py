"""Slow clients are closed, not kept forever (slowloris).

uvicorn times out idle keep-alive connections only *between* requests: a client
that sends its headers a byte at a time, or a body that never ends, holds a
connection (and a file descriptor) indefinitely. Two deadlines fix that:

- ``HeaderDeadlineProtocol`` (uvicorn protocol, every ``serve`` mode): the request line
  and headers must arrive within ``header_timeout`` seconds of the connection (or of
  the request's first byte on a kept-alive connection), else the connection is closed.
- ``BodyDeadline`` (ASGI middleware): the whole body must arrive within
  ``body_timeout`` seconds of the first read, else a 408 and the connection is closed.

The protocol also tells a request what only it knows (``scope["extensions"][HOOKS]``):
``on_disconnect``, callbacks it calls when the client goes away (the chat route otherwise
needs a task per request blocked on ``receive()`` just to notice), and
``body_complete``, true once the whole body is in (then
``BodyDeadline`` has nothing to time: most bodies arrive with their headers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from hub.api.middleware.browser_guard import is_mcp_path, send_refusal
from hub.config import ServerConfig

HEADER_TIMEOUT = "header_timeout"  # key of the app's lifespan state read by the protocol
HOOKS = "kimi.protocol"  # ``scope["extensions"][HOOKS]``: see the module's docstring


def deadline_state(server: ServerConfig) -> dict[str, float]:
    """What the app's lifespan yields so that ``HeaderDeadlineProtocol`` knows its deadline."""
    return {HEADER_TIMEOUT: server.header_timeout}


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """The uvicorn protocol for ``uvicorn.Config(http=HeaderDeadlineProtocol)``.

    A module-level class, not one built around the timeout: ``serve --workers`` and
    ``--reload`` hand uvicorn's Config to spawned processes (pickled: a class pickles by
    its import path, a closure not at all). So the deadline is not in the class: each
    process reads it from the app it serves, whose lifespan yields ``deadline_state``
    (uvicorn passes that lifespan state to every protocol as ``app_state``). An app that
    yields none gets the default of ``ServerConfig``.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, object],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        timeout = app_state.get(HEADER_TIMEOUT)
        self._header_timeout = (
            timeout if isinstance(timeout, float) else ServerConfig.header_timeout
        )
        self._header_timer: asyncio.TimerHandle | None = None
        self._on_lost: list[Callable[[], None]] = []
        self._hooks: dict[object, object] = {}

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self._header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        self.transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._hooks = {"on_disconnect": self._on_lost, "body_complete": False}
        self.scope["extensions"] = {HOOKS: self._hooks}
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._hooks["body_complete"] = True

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
        for callback in list(self._on_lost):
            callback()


class BodyDeadline:
    """Times out a request body that does not arrive in full within ``timeout`` seconds."""

    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline: float | None = None
        body_done = False
        hooks = scope.get("extensions", {}).get(HOOKS, {})

        async def timed_receive() -> Message:
            nonlocal deadline, body_done
            # past the body, receive only waits for a disconnect; a body already in whole
            # is handed over at once (an ``asyncio.timeout`` costs more than the route's parse)
            if body_done or hooks.get("body_complete"):
                return await receive()
            deadline = deadline or asyncio.get_running_loop().time() + self.timeout
            async with asyncio.timeout_at(deadline):
                message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        try:  # ``send`` is not wrapped: every chunk of every stream would pay for it
            await self.app(scope, timed_receive, send)
        except TimeoutError:
            if body_done:  # not ours; and no route answers before reading its whole body
                raise
            message = f"Corps de requête trop lent (plus de {self.timeout:g} s) : connexion fermée."
            await send_refusal(
                send,
                408,
                "request_timeout",
                message,
                mcp=is_mcp_path(str(scope["path"])),
                extra_headers=[(b"connection", b"close")],
            )
