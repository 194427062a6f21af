"""List answers carry each upstream definition whole (``hub.features.mcp_hub.definitions``).

A middleware, because the SDK sieves a handler's result by the client's protocol version
inside the chain: what ``call_next`` returns is the answer as it would leave, and only
after that can the fields the sieve dropped be put back.
"""

from __future__ import annotations

from collections.abc import Callable

from mcp.server.context import CallNext, HandlerResult

from hub.api.mcp.common import Ctx
from hub.features.mcp_hub.definitions import LISTS, Finder, Kind, whole_list

Definitions = Callable[[Kind], Finder]


class WholeDefinitions:
    def __init__(self, definitions: Definitions) -> None:
        self._definitions = definitions

    async def __call__(self, ctx: Ctx, call_next: CallNext) -> HandlerResult:
        answer = await call_next(ctx)
        kind = LISTS.get(ctx.method)
        items = answer.get(kind) if kind and isinstance(answer, dict) else None
        if kind is None or not isinstance(answer, dict) or not isinstance(items, list):
            return answer
        return {**answer, kind: whole_list(items, kind, self._definitions(kind))}
