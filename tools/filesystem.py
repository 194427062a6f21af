"""Workspace file tools; every path goes through ``WorkspaceGuard``."""

from __future__ import annotations

import codecs
from collections.abc import Callable

import anyio.from_thread

from hub.core.errors import HubError
from hub.core.jsontypes import JSON, JSONObject
from hub.features.workspace import Entry, WorkspaceGuard
from tools.base import ToolArgumentError, ToolCall, ToolSpec, arg_int, arg_str, need_str

MAX_PATH = 4096
MAX_READ = 1024 * 1024
MAX_WRITE = 1024 * 1024
PATH: JSONObject = {
    "type": "string",
    "maxLength": MAX_PATH,
    "description": "Chemin relatif à l'espace de travail",
}


def _guard(call: ToolCall) -> WorkspaceGuard:
    if call.deps.workspace is None:
        raise HubError(
            "Aucun espace de travail configuré ([mcp].workspace introuvable).",
            status=503,
            code="no_workspace",
        )
    return call.deps.workspace


def _ticker(call: ToolCall, unit: str) -> Callable[[int], None]:
    """Progress from the worker thread back to the event loop."""

    async def report(count: int) -> None:
        await call.progress(count, None, f"{count} {unit}")

    def tick(count: int) -> None:
        anyio.from_thread.run(report, count)

    return tick


def _entries(entries: list[Entry]) -> list[JSON]:
    return [{"path": e.path, "type": e.kind, "size": e.size} for e in entries]


def _text(data: bytes, whole: bool) -> str:
    """UTF-8 text; a read cut short may end inside a character: that tail is left out."""
    if b"\0" in data[:8192]:  # text files hold no NUL (a sparse or binary file does)
        raise HubError("Fichier binaire ou non UTF-8 : lecture refusée.", code="not_text")
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(data, final=whole)
    except UnicodeDecodeError:
        raise HubError("Fichier binaire ou non UTF-8 : lecture refusée.", code="not_text") from None


async def fs_read(call: ToolCall) -> JSONObject:
    path = need_str(call.arguments, "path", MAX_PATH)
    limit = arg_int(call.arguments, "max_bytes", MAX_READ, 1, MAX_READ) or MAX_READ
    data, size = await _guard(call).read_bytes(path, limit)
    text = _text(data, whole=size <= len(data))
    return {"path": path, "content": text, "size": size, "truncated": size > len(data)}


async def fs_write(call: ToolCall) -> JSONObject:
    path = need_str(call.arguments, "path", MAX_PATH)
    content = need_str(call.arguments, "content", MAX_WRITE)
    data = content.encode("utf-8")
    if len(data) > MAX_WRITE:
        raise ToolArgumentError(f"« content » dépasse {MAX_WRITE} octets.", "content")
    written = await _guard(call).write_bytes(path, data)
    return {"path": written, "bytes": len(data)}


async def fs_list(call: ToolCall) -> JSONObject:
    path = arg_str(call.arguments, "path", ".", MAX_PATH) or "."
    entries = await _guard(call).list_dir(path)
    return {"path": path, "entries": _entries(entries)}


async def fs_tree(call: ToolCall) -> JSONObject:
    path = arg_str(call.arguments, "path", ".", MAX_PATH) or "."
    depth = arg_int(call.arguments, "max_depth", 3, 1, 32) or 3
    limit = arg_int(call.arguments, "max_entries", 1000, 1, 20_000) or 1000
    entries, truncated = await _guard(call).walk(path, depth, limit, _ticker(call, "entrées"))
    await call.progress(len(entries), len(entries), "Arborescence terminée.")
    return {"path": path, "entries": _entries(entries), "truncated": truncated}


async def fs_search(call: ToolCall) -> JSONObject:
    query = need_str(call.arguments, "query", 1000)
    if not query:
        raise ToolArgumentError("« query » ne peut pas être vide.", "query")
    path = arg_str(call.arguments, "path", ".", MAX_PATH) or "."
    limit = arg_int(call.arguments, "max_results", 100, 1, 1000) or 100
    hits, scanned, truncated = await _guard(call).search(
        path, query, limit, _ticker(call, "fichiers lus")
    )
    await call.progress(scanned, scanned, "Recherche terminée.")
    matches: list[JSON] = [{"path": p, "line": n, "text": t} for p, n, t in hits]
    return {"query": query, "matches": matches, "files_scanned": scanned, "truncated": truncated}


TOOLS = (
    ToolSpec(
        "fs_read",
        "Lire un fichier",
        "Lit un fichier texte de l'espace de travail.",
        {"path": PATH, "max_bytes": {"type": "integer", "minimum": 1, "maximum": MAX_READ}},
        fs_read,
        required=("path",),
    ),
    ToolSpec(
        "fs_write",
        "Écrire un fichier",
        "Écrit (remplace) un fichier texte de l'espace de travail, de façon atomique.",
        {"path": PATH, "content": {"type": "string", "maxLength": MAX_WRITE}},
        fs_write,
        required=("path", "content"),
        read_only=False,
        destructive=True,
    ),
    ToolSpec(
        "fs_list",
        "Lister un dossier",
        "Entrées d'un dossier (liens non suivis).",
        {"path": PATH},
        fs_list,
    ),
    ToolSpec(
        "fs_tree",
        "Arborescence",
        "Arborescence d'un dossier, en largeur d'abord.",
        {
            "path": PATH,
            "max_depth": {"type": "integer", "minimum": 1, "maximum": 32},
            "max_entries": {"type": "integer", "minimum": 1, "maximum": 20000},
        },
        fs_tree,
    ),
    ToolSpec(
        "fs_search",
        "Rechercher du texte",
        "Recherche littérale (pas d'expression régulière) dans les fichiers texte.",
        {
            "query": {"type": "string", "minLength": 1, "maxLength": 1000},
            "path": PATH,
            "max_results": {"type": "integer", "minimum": 1, "maximum": 1000},
        },
        fs_search,
        required=("query",),
    ),
)
