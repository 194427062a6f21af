"""A client that goes away cancels its upstream call, whether it waits for an answer or a stream.

Under the hub's uvicorn protocol the connection's loss calls back
(``scope["extensions"][HOOKS]["on_disconnect"]``) and the callback cancels the request's
own task: no second task per request. Under any other ASGI server the chat route keeps a
watcher task on ``receive()``, and streams go through Starlette's ``StreamingResponse``
(which runs one too): an anyio task group and a listener task per stream, a large share
of a proxied stream's cost (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Coroutine
from types import TracebackType
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from hub.api.middleware.slow_clients import HOOKS
from hub.core.errors import HubError

T = TypeVar("T")


class ClientGone(HubError):
    """The client disconnected while its request was being served (499, for the log)."""

    def __init__(self) -> None:
        super().__init__("Client déconnecté.", status=499, code="client_disconnected")


class CancelOnDisconnect:
    """``with CancelOnDisconnect(callbacks):`` cancels the current task if the client goes;
    the block then ends with ``ClientGone`` instead of ``CancelledError``."""

    def __init__(self, callbacks: list[Callable[[], None]]) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._task = task
        self._callbacks = callbacks
        self.gone = False

    def lost(self) -> None:
        if not self.gone:
            self.gone = True
            self._task.cancel()

    def __enter__(self) -> CancelOnDisconnect:
        self._callbacks.append(self.lost)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._callbacks.remove(self.lost)
        if kind is asyncio.CancelledError and self.gone:
            self._task.uncancel()
            raise ClientGone() from None


def _callbacks(scope: Scope) -> list[Callable[[], None]] | None:
    hooks = scope.get("extensions", {}).get(HOOKS)
    return hooks["on_disconnect"] if hooks else None


async def until_disconnect(request: Request, work: Coroutine[None, None, T]) -> T:
    """``work`` in this task, cancelled with ``ClientGone`` if the client goes meanwhile."""
    hooked = _callbacks(request.scope)
    cancel = CancelOnDisconnect([] if hooked is None else hooked)
    watcher = None if hooked is not None else asyncio.create_task(_watch(request, cancel))
    try:
        with cancel:
            return await work
    finally:
        if watcher is not None:
            watcher.cancel()


async def _watch(request: Request, cancel: CancelOnDisconnect) -> None:
    """Another ASGI server's way: the body is read, so ``receive`` only says goodbye."""
    while (await request.receive())["type"] != "http.disconnect":
        continue
    cancel.lost()


class RelayedStream(StreamingResponse):
    """A ``StreamingResponse`` that, under the hub's protocol, stops on disconnect by the
    protocol's callback instead of a listener task; the generator is closed either way."""

    def __init__(self, chunks: AsyncGenerator[bytes, None], headers: dict[str, str]) -> None:
        super().__init__(chunks, headers=headers, media_type="text/event-stream")
        self._chunks = chunks  # ``body_iterator`` is typed as any async iterable; this closes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        callbacks = _callbacks(scope)
        try:
            if callbacks is None:
                await super().__call__(scope, receive, send)
                return
            with CancelOnDisconnect(callbacks):
                await self.stream_response(send)
        except ClientGone:
            return  # nobody to tell: the generator recorded the request as cancelled
        finally:
            await self._chunks.aclose()  # at once, not when the collector finds it
