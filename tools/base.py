"""What a tool is, what it receives, and strict argument readers (French errors).

Tools know nothing of MCP transports: ``hub.api.mcp.server`` turns a ``ToolSpec`` into an
MCP tool, a returned ``JSONObject`` into structured content, and a ``HubError``
into an ``isError`` result.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from hub.core.errors import HubError
from hub.core.jsontypes import JSON, JSONObject
from hub.core.tokens import TokenCounter
from hub.features.workspace import WorkspaceGuard
from hub.services.access.caller import Caller
from hub.services.reporting.session_stats import StatsService
from hub.services.savings.service import SavingsService
from hub.services.sessions.service import SessionService

Progress = Callable[[float, float | None, str | None], Awaitable[None]]


@dataclass(frozen=True)
class ToolDeps:
    sessions: SessionService
    stats: StatsService
    counter: TokenCounter
    savings: SavingsService
    workspace: WorkspaceGuard | None  # None when [mcp].workspace does not exist


@dataclass(frozen=True)
class ToolCall:
    deps: ToolDeps
    arguments: JSONObject
    progress: Progress
    caller: Caller  # who calls (admin, virtual key, stdio): a tool acts for that caller only


Handler = Callable[[ToolCall], Awaitable[JSONObject]]


@dataclass(frozen=True)
class ToolSpec:
    name: str
    title: str
    description: str
    properties: JSONObject
    handler: Handler
    required: tuple[str, ...] = ()
    read_only: bool = True
    destructive: bool = False
    idempotent: bool = True

    def input_schema(self) -> JSONObject:
        return {
            "type": "object",
            "properties": self.properties,
            "required": list[JSON](self.required),
            "additionalProperties": False,
        }


class ToolArgumentError(HubError):
    def __init__(self, message: str, name: str) -> None:
        super().__init__(message, code="invalid_argument", param=name)


def check_known(spec: ToolSpec, arguments: JSONObject) -> None:
    unknown = sorted(set(arguments) - set(spec.properties))
    if unknown:
        raise ToolArgumentError(f"Argument(s) inconnu(s) : {', '.join(unknown)}.", unknown[0])
    for name in spec.required:
        if name not in arguments:
            raise ToolArgumentError(f"Argument « {name} » manquant.", name)


def arg_int(
    args: JSONObject, name: str, default: int | None, low: int = 1, high: int = 2**62
) -> int | None:
    value = args.get(name)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool):
        raise ToolArgumentError(f"« {name} » doit être un entier.", name)
    if not low <= value <= high:
        raise ToolArgumentError(f"« {name} » doit être compris entre {low} et {high}.", name)
    return value


def need_int(args: JSONObject, name: str, low: int = 1, high: int = 2**62) -> int:
    value = arg_int(args, name, None, low, high)
    if value is None:
        raise ToolArgumentError(f"Argument « {name} » manquant.", name)
    return value


def arg_str(args: JSONObject, name: str, default: str | None, max_chars: int) -> str | None:
    value = args.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ToolArgumentError(f"« {name} » doit être une chaîne.", name)
    if len(value) > max_chars:
        raise ToolArgumentError(f"« {name} » dépasse {max_chars} caractères.", name)
    return value


def need_str(args: JSONObject, name: str, max_chars: int) -> str:
    value = arg_str(args, name, None, max_chars)
    if value is None:
        raise ToolArgumentError(f"Argument « {name} » manquant.", name)
    return value


def arg_bool(args: JSONObject, name: str, default: bool) -> bool:
    value = args.get(name, default)
    if not isinstance(value, bool):
        raise ToolArgumentError(f"« {name} » doit être un booléen.", name)
    return value


SESSION_ID: JSONObject = {"type": "integer", "minimum": 1, "description": "Identifiant de session"}
