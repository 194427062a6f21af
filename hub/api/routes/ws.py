"""``GET /ws``: every bus event as one JSON text frame, until the client leaves.

With ``[server].api_key`` set, a client that did not send ``Authorization`` must
send ``{"type": "auth", "token": KEY}`` as its first message (the key never goes
in the URL, which access logs keep). Origin and Host are checked by BrowserGuard.
A client too slow to keep up with the events is closed with code 1013 (retry later).
"""

from __future__ import annotations

import asyncio
import json
import logging

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from hub.api.middleware.auth import key_matches
from hub.api.state import hub_of
from hub.core.jsontypes import JSON, as_object
from hub.services.events import Subscription

AUTH_TIMEOUT = 10.0  # seconds a client has to send its key
MAX_AUTH_MESSAGE = 4096
CLOSE_POLICY = 1008
CLOSE_TOO_SLOW = 1013
CLOSE_GRACE = 30.0  # seconds a dropped client has to read up to the close frame
logger = logging.getLogger(__name__)


async def _authenticated(websocket: WebSocket, api_key: str | None) -> bool:
    if api_key is None or websocket.scope.get("state", {}).get("authenticated"):
        return True
    try:
        async with asyncio.timeout(AUTH_TIMEOUT):
            text = await websocket.receive_text()
    except (TimeoutError, KeyError):  # KeyError: a binary frame has no "text"
        await websocket.close(CLOSE_POLICY, "authentification attendue")
        return False
    parsed: JSON = None
    if len(text) <= MAX_AUTH_MESSAGE:
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None  # not JSON: refused just below like any other wrong first message
    message = as_object(parsed) or {}
    token = message.get("token")
    if message.get("type") != "auth" or not isinstance(token, str):
        await websocket.close(CLOSE_POLICY, "premier message attendu : {type: auth, token}")
        return False
    if not key_matches(token, api_key):
        await websocket.close(CLOSE_POLICY, "clé API invalide")
        return False
    return True


async def _relay(websocket: WebSocket, subscription: Subscription) -> None:
    async def pump() -> None:
        while True:
            await websocket.send_text((await subscription.queue.get()).text)

    async def until_disconnect() -> None:
        while True:  # reading is how a disconnect is noticed
            await websocket.receive_text()

    async def until_overflow() -> None:
        await subscription.overflowed.wait()

    tasks: set[asyncio.Task[None]] = {
        asyncio.create_task(pump()),
        asyncio.create_task(until_disconnect()),
        asyncio.create_task(until_overflow()),
    }
    done: set[asyncio.Task[None]] = set()
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)
    for task in done:
        error = task.exception()
        if error is not None and not isinstance(error, WebSocketDisconnect):
            raise error


async def events(websocket: WebSocket) -> None:
    hub = hub_of(websocket)
    await websocket.accept()
    try:
        if not await _authenticated(websocket, hub.config.server.api_key):
            return
    except WebSocketDisconnect:
        return  # left before authenticating: nothing to report
    async with hub.bus.subscribe() as subscription:
        await websocket.send_json({"type": "hello", "message": "connecté au hub"})
        await _relay(websocket, subscription)
    if subscription.overflowed.is_set():  # unsubscribed first: no event piles up meanwhile
        await _close_too_slow(websocket)


async def _close_too_slow(websocket: WebSocket) -> None:
    """The close frame waits behind what the client has not read: give it a while only."""
    try:
        async with asyncio.timeout(CLOSE_GRACE):
            await websocket.close(CLOSE_TOO_SLOW, "client trop lent : reconnectez-vous")
    except TimeoutError:
        logger.info("Client /ws trop lent : fermé sans attendre qu'il lise la trame de fin.")


routes = [WebSocketRoute("/ws", events)]
