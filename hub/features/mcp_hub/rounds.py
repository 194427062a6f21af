"""A 2026-07-28 client's call to a 2025-era upstream that asks something mid-call.

A 2025 upstream asks (elicitation, sampling, roots) with a request while the call is
open; a 2026-07-28 client has no channel for that: it expects ``input_required`` with the
questions, then calls again with its answers and the ``requestState``. The hub keeps the
upstream call open in between: the question waits (``TaskInputs``) while the client gets
its round; the retry, carrying the hub's own ``requestState`` (an unguessable token that
means nothing elsewhere), delivers the answers and waits for the next question or the
result. The call lives on the replica that started it, within the server's
``call_timeout``; a result nobody came back for is dropped after ``KEEP`` seconds.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

import anyio
import mcp_types as types
from mcp.shared.dispatcher import ProgressFnT
from mcp.shared.exceptions import MCPError
from pydantic import TypeAdapter

from hub.core.background import Background
from hub.core.jsontypes import JSON
from hub.features.mcp_hub.requesters import Requester
from hub.features.mcp_hub.task_inputs import TaskInputs

logger = logging.getLogger(__name__)
PREFIX = "kimi-hub-round:"
KEEP = 60.0
MAX_OPEN = 256
QUESTIONS: TypeAdapter[types.InputRequests] = TypeAdapter(types.InputRequests)
CallAnswer = types.CallToolResult | types.InputRequiredResult | types.CreateTaskResult
Run = Callable[[Requester, ProgressFnT], Awaitable[CallAnswer]]


@dataclass
class _Open:
    inputs: TaskInputs
    result: CallAnswer | None = None
    error: BaseException | None = None
    progress: ProgressFnT | None = field(default=None)  # the current round's relay
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)


class RoundBridge:
    def __init__(self) -> None:
        self._open: dict[str, _Open] = {}
        self._background = Background()

    def running(self) -> AbstractAsyncContextManager[None]:
        return self._background.running()

    def owns(self, state: str | None) -> bool:
        return state is not None and state.startswith(PREFIX)

    @property
    def available(self) -> bool:
        return self._background.open and len(self._open) < MAX_OPEN

    async def start(self, run: Run, caller: Requester, progress: ProgressFnT | None) -> CallAnswer:
        token = PREFIX + secrets.token_urlsafe(24)
        entry = self._open[token] = _Open(TaskInputs(caller))
        self._background.start_soon(self._run, token, entry, run)
        return await self._next(token, entry, progress)

    async def resume(
        self, state: str, responses: Mapping[str, JSON], progress: ProgressFnT | None
    ) -> CallAnswer:
        entry = self._open.get(state)
        if entry is None:
            raise MCPError(
                types.INVALID_PARAMS,
                "requestState inconnu ou expiré : appelez l'outil à nouveau, sans lui.",
            )
        entry.inputs.answer(responses)
        return await self._next(state, entry, progress)

    async def _next(self, token: str, entry: _Open, progress: ProgressFnT | None) -> CallAnswer:
        """Until the upstream asks again or answers; this round's progress meanwhile."""
        entry.progress = progress
        try:
            await entry.inputs.wait_asked(math.inf)
        except anyio.get_cancelled_exc_class():  # the client left: so does the call
            entry.scope.cancel()
            self._open.pop(token, None)
            raise
        finally:
            entry.progress = None
        pending = entry.inputs.pending()
        if pending:
            questions = QUESTIONS.validate_python(pending, by_name=False)
            return types.InputRequiredResult(input_requests=questions, request_state=token)
        self._open.pop(token, None)
        if entry.error is not None:
            raise entry.error
        assert entry.result is not None
        return entry.result

    async def _run(self, token: str, entry: _Open, run: Run) -> None:
        async def relay(progress: float, total: float | None, message: str | None) -> None:
            if entry.progress is not None:
                await entry.progress(progress, total, message)

        with entry.scope:
            try:
                entry.result = await run(entry.inputs, relay)
            except Exception as exc:  # handed to the client's next round, as its call's error
                logger.debug("appel en plusieurs tours terminé en erreur", exc_info=True)
                entry.error = exc
        entry.inputs.finish()
        if entry.scope.cancel_called:
            return
        await anyio.sleep(KEEP)
        self._open.pop(token, None)
