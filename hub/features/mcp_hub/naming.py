"""Server names, prefixed tool names, and checks on what an upstream lists."""

from __future__ import annotations

import re
from collections.abc import Sequence

import mcp_types as types
from jsonschema import SchemaError
from jsonschema.validators import validator_for

from hub.config import McpServerConfig

SEPARATOR = "__"
SERVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,47}$")  # no "_": keeps "__" unambiguous
TOOL_NAME = re.compile(r"^[A-Za-z0-9_.\-/]{1,128}$")


def server_name_problem(name: str) -> str | None:
    if SERVER_NAME.fullmatch(name):
        return None
    return (
        f"nom de serveur « {name[:60]} » invalide : lettres, chiffres et « - » seulement "
        "(48 caractères au plus)"
    )


def prefixed(server: str, name: str) -> str:
    return f"{server}{SEPARATOR}{name}"


def split_prefixed(name: str) -> tuple[str, str] | None:
    server, sep, rest = name.partition(SEPARATOR)
    return (server, rest) if sep and server and rest else None


def _allowed(config: McpServerConfig, name: str) -> bool:
    if config.tools_allow and name not in config.tools_allow:
        return False
    return name not in config.tools_deny


def _schema_problem(tool: types.Tool) -> str | None:
    schema = tool.input_schema
    if schema.get("type") != "object":
        return "inputSchema doit être un schéma de type « object »"
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        return f"inputSchema n'est pas un JSON Schema valide ({exc.message[:120]})"
    if tool.output_schema is not None:
        try:
            validator_for(tool.output_schema).check_schema(tool.output_schema)
        except SchemaError as exc:
            return f"outputSchema n'est pas un JSON Schema valide ({exc.message[:120]})"
    return None


def accept_tools(
    config: McpServerConfig, tools: Sequence[types.Tool]
) -> tuple[list[types.Tool], list[str]]:
    """The tools to expose (allow/deny applied) and a French warning for each one rejected."""
    kept: list[types.Tool] = []
    seen: set[str] = set()
    warnings: list[str] = []
    for tool in tools:
        if not _allowed(config, tool.name):
            continue
        problem: str | None = None
        if not TOOL_NAME.fullmatch(tool.name):
            problem = "nom d'outil invalide"
        elif tool.name in seen:
            problem = "nom d'outil en double"
        else:
            problem = _schema_problem(tool)
        if problem:
            warnings.append(f"outil « {tool.name[:80]} » ignoré : {problem}")
            continue
        seen.add(tool.name)
        kept.append(tool)
    return kept, warnings
