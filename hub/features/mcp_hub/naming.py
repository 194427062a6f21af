"""Server names, prefixed tool names, and checks on what an upstream lists."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from fnmatch import fnmatchcase

import mcp_types as types
from jsonschema import SchemaError
from jsonschema.validators import validator_for

from hub.config import McpServerConfig, server_name_problem

__all__ = [
    "accept_tools",
    "matches",
    "prefixed",
    "server_name_problem",
    "spec_name",
    "split_prefixed",
]

SEPARATOR = "__"
TOOL_NAME = re.compile(r"^[A-Za-z0-9_.\-/]{1,128}$")
SPEC_TOOL_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")  # SEP-986, what clients check
NOT_SPEC = re.compile(r"[^A-Za-z0-9_.\-]")
HASH_CHARS = 10


def prefixed(server: str, name: str) -> str:
    return f"{server}{SEPARATOR}{name}"


def spec_name(name: str) -> str:
    """``name`` as clients may list it (SEP-986: 1-128 of ``A-Za-z0-9_.-``). A name that
    is not (a long ``server__tool``, an upstream's ``a/b``) keeps its valid start and
    ends with a hash of the whole: stable across restarts, distinct from other names."""
    if SPEC_TOOL_NAME.fullmatch(name):
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:HASH_CHARS]
    start = NOT_SPEC.sub("_", name)[: 128 - HASH_CHARS - 1]
    return f"{start}-{digest}"


def split_prefixed(name: str) -> tuple[str, str] | None:
    server, sep, rest = name.partition(SEPARATOR)
    return (server, rest) if sep and server and rest else None


def matches(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatchcase(name, pattern) for pattern in patterns)


def _allowed(config: McpServerConfig, name: str) -> bool:
    if config.tools_allow and not matches(name, config.tools_allow):
        return False
    return not matches(name, config.tools_deny)


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
