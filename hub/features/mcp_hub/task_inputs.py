"""A task's questions (elicitation, sampling, roots) between the two generations.

A 2025 upstream asks them while a client waits on ``tasks/result``; a 2026-07-28 client
never waits there: it polls ``tasks/get``, reads ``inputRequests`` and answers with
``tasks/update``. ``TaskInputs`` is the requester of the hub's own ``tasks/result`` wait
for a 2026 client: each question becomes an input request under a key used once, and
waits for its answer. The other way, ``ask`` puts a 2026 upstream's input request to a
2025 client as a request, and gives its answer back as an input response.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping

import anyio
import mcp_types as types
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel, TypeAdapter, ValidationError

from hub.core.jsontypes import JSON, JSONObject
from hub.features.mcp_hub.requesters import Requester, SamplingAnswer, elicitation_declared

MAX_WAITING = 16  # questions of one task asked and not yet answered
ELICIT: TypeAdapter[types.ElicitRequestParams] = TypeAdapter(types.ElicitRequestParams)
POLL = (0.05, 0.5, 5.0)  # s between two tasks/get: at least, without a hint, at most
logger = logging.getLogger(__name__)


class TaskInputs:
    def __init__(self, caller: Requester) -> None:
        self._caller = caller
        self._asked: dict[str, JSONObject] = {}  # key -> {"method", "params"}
        self._answered: dict[str, anyio.Event] = {}
        self._answers: dict[str, JSON] = {}
        self._keys = itertools.count(1)
        self._changed = anyio.Event()
        self.done = False  # the upstream's tasks/result came back

    @property
    def capabilities(self) -> JSONObject:
        return self._caller.capabilities

    @property
    def modern(self) -> bool:
        return False  # the upstream session is 2025-era: its questions come as requests

    @property
    def log_level(self) -> types.LoggingLevel | None:
        return None  # a task's log lines have no stream to reach a polling client

    @property
    def client_key(self) -> str:
        return self._caller.client_key

    def pending(self) -> dict[str, JSON]:
        """The questions asked and not yet answered."""
        return {k: q for k, q in self._asked.items() if not self._answered[k].is_set()}

    def answer(self, responses: Mapping[str, JSON]) -> None:
        """``tasks/update``: answers to keys not (or no longer) asked are ignored."""
        for key, value in responses.items():
            event = self._answered.get(key)
            if event is not None and not event.is_set():
                self._answers[key] = value
                event.set()

    def finish(self) -> None:
        self.done = True
        self._notify()

    async def wait_asked(self, limit: float) -> None:
        """Until a question is pending or the wait ended, ``limit`` s at most."""
        with anyio.move_on_after(limit):
            while not self.pending() and not self.done:
                await self._changed.wait()

    def _notify(self) -> None:
        changed, self._changed = self._changed, anyio.Event()
        changed.set()

    async def _ask(
        self, method: str, params: BaseModel | None, answer_type: type[BaseModel]
    ) -> BaseModel | types.ErrorData:
        if len(self._asked) >= MAX_WAITING:
            return types.ErrorData(
                code=types.INTERNAL_ERROR, message="Trop de questions en attente."
            )
        key = f"hub-{next(self._keys)}"
        request: JSONObject = {"method": method}
        if params is not None:
            request["params"] = params.model_dump(by_alias=True, mode="json", exclude_none=True)
        answered = self._answered[key] = anyio.Event()
        self._asked[key] = request
        self._notify()
        try:
            await answered.wait()
            return answer_type.model_validate(self._answers.pop(key), by_name=False)
        except ValidationError:
            logger.info("réponse invalide à la question %s d'une tâche", key)
            return types.ErrorData(code=types.INVALID_PARAMS, message="Réponse invalide.")
        finally:
            del self._asked[key]

    async def sample(self, params: types.CreateMessageRequestParams) -> SamplingAnswer:
        answer_type = (
            types.CreateMessageResultWithTools if params.tools else types.CreateMessageResult
        )
        answer = await self._ask("sampling/createMessage", params, answer_type)
        assert isinstance(
            answer, types.CreateMessageResult | types.CreateMessageResultWithTools | types.ErrorData
        )
        return answer

    async def elicit(
        self, params: types.ElicitRequestParams
    ) -> types.ElicitResult | types.ErrorData:
        answer = await self._ask("elicitation/create", params, types.ElicitResult)
        assert isinstance(answer, types.ElicitResult | types.ErrorData)
        return answer

    async def list_roots(self) -> types.ListRootsResult | types.ErrorData:
        answer = await self._ask("roots/list", None, types.ListRootsResult)
        assert isinstance(answer, types.ListRootsResult | types.ErrorData)
        return answer

    async def log(self, params: types.LoggingMessageNotificationParams) -> None:
        logger.debug("ligne de journal d'une tâche non transmise (pas de flux)")


def poll_interval(task: Mapping[str, JSON]) -> float:
    """How long to wait before the next ``tasks/get``: the server's hint, bounded."""
    hint = task.get("pollIntervalMs")
    wait = hint / 1000 if isinstance(hint, int | float) and not isinstance(hint, bool) else POLL[1]
    return min(max(wait, POLL[0]), POLL[2])


async def ask(requester: Requester | None, request: JSON) -> JSON:
    """One input request put to a 2025-era client; its answer as an input response. A
    client that cannot answer declines an elicitation, and fails the others."""
    method = request.get("method") if isinstance(request, dict) else None
    params = request.get("params") if isinstance(request, dict) else None
    answer: BaseModel | types.ErrorData
    try:
        if method == "elicitation/create":
            elicit = ELICIT.validate_python(params or {}, by_name=False)
            declared = requester is not None and elicitation_declared(
                requester.capabilities, elicit.mode or "form"
            )
            if requester is None or not declared:
                return {"action": "decline"}
            answer = await requester.elicit(elicit)
            if isinstance(answer, types.ErrorData):
                return {"action": "decline"}
        elif method == "sampling/createMessage" and requester is not None:
            sample = types.CreateMessageRequestParams.model_validate(params or {}, by_name=False)
            answer = await requester.sample(sample)
        elif method == "roots/list" and requester is not None:
            answer = await requester.list_roots()
        else:
            answer = types.ErrorData(code=types.METHOD_NOT_FOUND, message=f"{method} non relayé")
    except ValidationError as exc:
        raise MCPError(types.INVALID_PARAMS, f"Question de tâche invalide : {exc}") from None
    if isinstance(answer, types.ErrorData):
        raise MCPError(answer.code, answer.message)
    return answer.model_dump(by_alias=True, mode="json", exclude_none=True)
