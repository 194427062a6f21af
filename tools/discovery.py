"""Meta-tools of a profile in ``discovery = "search"`` mode: search, describe, call.

``tools/list`` then shows the pinned tools and these three; the agent finds a tool by
keywords (BM25 over names, descriptions and parameter names), reads its full schema,
and calls it by name. ``tool_call`` is dispatched by the MCP server (``hub.api.mcp.server``),
which answers exactly what a direct call of that tool answers.
"""

from __future__ import annotations

import mcp_types as types

from hub.core.jsontypes import JSON, JSONObject
from hub.features.mcp_hub.profiles import Catalogue
from tools.base import ToolArgumentError, arg_int, need_str

SEARCH, DESCRIBE, CALL = "tool_search", "tool_describe", "tool_call"
MAX_RESULTS = 50
DESCRIPTION_CHARS = 300
NAME: JSONObject = {"type": "string", "maxLength": 200, "description": "Nom exact de l'outil"}


def _tool(
    name: str,
    title: str,
    description: str,
    properties: JSONObject,
    required: list[JSON],
    read_only: bool,
) -> types.Tool:
    schema: JSONObject = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    return types.Tool(
        name=name,
        title=title,
        description=description,
        input_schema=schema,
        annotations=types.ToolAnnotations(
            title=title, read_only_hint=read_only, open_world_hint=not read_only
        ),
    )


META_TOOLS = (
    _tool(
        SEARCH,
        "Chercher un outil",
        "Cherche parmi tous les outils disponibles (mots-clés sur le nom, la description et "
        "les paramètres) ; rend les meilleurs noms à décrire puis appeler.",
        {
            "query": {"type": "string", "maxLength": 500, "description": "mots-clés"},
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_RESULTS, "default": 8},
        },
        ["query"],
        True,
    ),
    _tool(
        DESCRIBE,
        "Décrire un outil",
        f"Rend le schéma complet (paramètres, sortie, annotations) d'un outil trouvé par {SEARCH}.",
        {"name": NAME},
        ["name"],
        True,
    ),
    _tool(
        CALL,
        "Appeler un outil",
        "Appelle un outil par son nom exact avec ses arguments ; rend son résultat tel quel.",
        {"name": NAME, "arguments": {"type": "object", "description": "arguments de l'outil"}},
        ["name"],
        False,
    ),
)
META_NAMES = frozenset(tool.name for tool in META_TOOLS)


def _short(text: str | None) -> str:
    text = (text or "").strip()
    return text if len(text) <= DESCRIPTION_CHARS else text[: DESCRIPTION_CHARS - 1] + "…"


def search(catalogue: Catalogue, arguments: JSONObject) -> JSONObject:
    query = need_str(arguments, "query", 500)
    limit = arg_int(arguments, "limit", 8, 1, MAX_RESULTS) or 8
    results: list[JSON] = []
    for hit in catalogue.index.search(query, limit):
        tool = catalogue.by_name[hit.name].tool
        results.append(
            {
                "name": tool.name,
                "title": tool.title,
                "score": hit.score,
                "description": _short(tool.description),
            }
        )
    return {"query": query, "total_tools": len(catalogue.entries), "results": results}


def describe(catalogue: Catalogue, arguments: JSONObject) -> JSONObject:
    name = need_str(arguments, "name", 200)
    entry = catalogue.by_name.get(name)
    if entry is None:
        raise ToolArgumentError(f"Outil « {name} » inconnu : le chercher avec {SEARCH}.", "name")
    described: JSONObject = entry.tool.model_dump(mode="json", by_alias=True, exclude_none=True)
    return described


def call_target(arguments: JSONObject) -> tuple[str, JSONObject]:
    """The tool name and arguments of a ``tool_call``."""
    name = need_str(arguments, "name", 200)
    inner = arguments.get("arguments", {})
    if not isinstance(inner, dict):
        raise ToolArgumentError("« arguments » doit être un objet.", "arguments")
    unknown = sorted(set(arguments) - {"name", "arguments"})
    if unknown:
        raise ToolArgumentError(f"Argument(s) inconnu(s) : {', '.join(unknown)}.", unknown[0])
    return name, inner
