"""``GET /ws``: every bus event as one JSON text frame, until the client leaves."""

from __future__ import annotations

import asyncio

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from hub.api.state import hub_of


async def events(websocket: WebSocket) -> None:
    hub = hub_of(websocket)
    await websocket.accept()
    async with hub.bus.subscribe() as queue:
        await websocket.send_json({"type": "hello", "message": "connecté au hub"})

        async def pump() -> None:
            while True:
                await websocket.send_json(await queue.get())

        sender = asyncio.create_task(pump())
        try:
            while True:  # reading is how a disconnect is noticed
                await websocket.receive_text()
        except WebSocketDisconnect:
            pass  # the client left: nothing to report, the subscription ends below
        finally:
            sender.cancel()


routes = [WebSocketRoute("/ws", events)]
