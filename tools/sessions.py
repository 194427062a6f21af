"""Session tools: list, read, create, activate, rename, delete.

A virtual key sees and changes only its own sessions (``Caller``); another key's session
answers like an unknown one.
"""

from __future__ import annotations

from hub.core.jsontypes import JSON, JSONObject
from hub.services.sessions.service import MAX_NAME_LENGTH
from tools.base import SESSION_ID, ToolCall, ToolSpec, arg_bool, arg_str, need_int, need_str

NAME: JSONObject = {"type": "string", "maxLength": MAX_NAME_LENGTH, "description": "Nom"}


async def sessions_list(call: ToolCall) -> JSONObject:
    sessions = await call.deps.sessions.list(call.caller)
    return {"sessions": list[JSON]([s.to_json() for s in sessions])}


async def session_get(call: ToolCall) -> JSONObject:
    session_id = need_int(call.arguments, "session_id")
    return (await call.deps.sessions.owned(session_id, call.caller)).to_json()


async def session_create(call: ToolCall) -> JSONObject:
    name = arg_str(call.arguments, "name", None, MAX_NAME_LENGTH)
    activate = arg_bool(call.arguments, "activate", True)
    return (await call.deps.sessions.create_as(call.caller, name, activate=activate)).to_json()


async def session_activate(call: ToolCall) -> JSONObject:
    session_id = need_int(call.arguments, "session_id")
    return (await call.deps.sessions.activate_as(call.caller, session_id)).to_json()


async def session_rename(call: ToolCall) -> JSONObject:
    session_id = need_int(call.arguments, "session_id")
    name = need_str(call.arguments, "name", MAX_NAME_LENGTH)
    return (await call.deps.sessions.rename(session_id, name, call.caller)).to_json()


async def session_delete(call: ToolCall) -> JSONObject:
    session_id = need_int(call.arguments, "session_id")
    await call.deps.sessions.delete(session_id, call.caller)
    return {"deleted": session_id}


TOOLS = (
    ToolSpec(
        "sessions_list",
        "Lister les sessions",
        "Les sessions du hub (avec une clé virtuelle : les siennes).",
        {},
        sessions_list,
    ),
    ToolSpec(
        "session_get",
        "Lire une session",
        "Une session par son identifiant.",
        {"session_id": SESSION_ID},
        session_get,
        required=("session_id",),
    ),
    ToolSpec(
        "session_create",
        "Créer une session",
        "Ouvre une nouvelle session (active par défaut ; avec une clé virtuelle, pour ses "
        "seules requêtes).",
        {"name": NAME, "activate": {"type": "boolean", "default": True}},
        session_create,
        read_only=False,
        idempotent=False,
    ),
    ToolSpec(
        "session_activate",
        "Activer une session",
        "Les requêtes sans en-tête X-Kimi-Session iront dans cette session (avec une clé "
        "virtuelle : celles de cette clé).",
        {"session_id": SESSION_ID},
        session_activate,
        required=("session_id",),
        read_only=False,
    ),
    ToolSpec(
        "session_rename",
        "Renommer une session",
        "Change le nom d'une session.",
        {"session_id": SESSION_ID, "name": NAME},
        session_rename,
        required=("session_id", "name"),
        read_only=False,
    ),
    ToolSpec(
        "session_delete",
        "Supprimer une session",
        "Supprime la session de la liste ; ses requêtes restent au journal (budgets, "
        "exports, statistiques).",
        {"session_id": SESSION_ID},
        session_delete,
        required=("session_id",),
        read_only=False,
        destructive=True,
    ),
)
