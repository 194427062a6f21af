"""Server names, prefixed tool names, and checks on what an upstream lists.

An upstream is not trusted: its list is cut to ``[mcp].max_tools``, each tool's name
must follow the MCP rules *once prefixed* (``server__tool``: ASCII letters, digits,
``_ - .``, at most 128 characters; so ``../etc`` and ``a/b`` never reach a client),
its schemas must be valid JSON Schema within ``max_schema_bytes``, and its description
is cut at ``max_description_chars``. Each rejection or cut is a French warning in the
server's status (``GET /api/mcp/servers``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

import mcp_types as types
from jsonschema import SchemaError
from jsonschema.validators import validator_for

from hub.config import McpLimits, McpServerConfig, server_name_problem
from hub.features.injection import injection_excerpt

__all__ = [
    "accept_tools",
    "matches",
    "prefixed",
    "server_name_problem",
    "spec_name",
    "split_prefixed",
]

SEPARATOR = "__"
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


def _schema_problem(tool: types.Tool, max_bytes: int) -> str | None:
    schema = tool.input_schema
    size = len(json.dumps(schema)) + len(json.dumps(tool.output_schema or {}))
    if size > max_bytes:
        return f"schémas trop grands ({size} octets, limite [mcp].max_schema_bytes = {max_bytes})"
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


@dataclass
class Accepted:
    tools: list[types.Tool] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # tools kept whose description reads like an instruction injection (never rewritten)
    flagged: dict[str, str] = field(default_factory=dict)


def _described(tool: types.Tool, limit: int, accepted: Accepted) -> types.Tool:
    """The tool with its description cut at ``limit``; flagged when it reads like an
    instruction injection (description, title, or the descriptions inside its schema)."""
    description = tool.description or ""
    schema = json.dumps(tool.input_schema, ensure_ascii=False)
    text = f"{tool.title or ''}\n{description}\n{schema}"
    excerpt = injection_excerpt(text)
    if excerpt is not None:
        accepted.flagged[tool.name] = excerpt
        accepted.warnings.append(
            f"outil « {tool.name} » : description suspecte d'injection d'instructions "
            f"(« {excerpt} »), transmise telle quelle"
        )
    if len(description) <= limit:
        return tool
    accepted.warnings.append(
        f"outil « {tool.name} » : description de {len(description)} caractères coupée "
        f"à {limit} ([mcp].max_description_chars)"
    )
    return tool.model_copy(update={"description": description[: limit - 1] + "…"})


def accept_tools(
    config: McpServerConfig, tools: Sequence[types.Tool], limits: McpLimits | None = None
) -> Accepted:
    """The tools to expose (allow/deny and limits applied), a French warning for each one
    rejected or cut, and those whose description looks like an injection."""
    limits = limits or McpLimits()
    accepted = Accepted()
    allowed = [tool for tool in tools if _allowed(config, tool.name)]
    if len(allowed) > limits.max_tools:  # before the costly checks below
        accepted.warnings.append(
            f"{len(allowed)} outils annoncés : seuls les {limits.max_tools} premiers sont "
            "gardés ([mcp].max_tools)"
        )
        allowed = allowed[: limits.max_tools]
    seen: set[str] = set()
    for tool in allowed:
        problem: str | None = None
        # the upstream's own name must be valid; a prefix that makes it too long is
        # handled by spec_name where the name is listed
        if not SPEC_TOOL_NAME.fullmatch(tool.name):
            problem = "nom d'outil invalide (lettres ASCII, chiffres, « _ - . », 128 au plus)"
        elif tool.name in seen:
            problem = "nom d'outil en double"
        else:
            problem = _schema_problem(tool, limits.max_schema_bytes)
        if problem:
            accepted.warnings.append(f"outil « {tool.name[:80]} » ignoré : {problem}")
            continue
        seen.add(tool.name)
        accepted.tools.append(_described(tool, limits.max_description_chars, accepted))
    return accepted
