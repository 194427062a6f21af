"""Token counting, context status and statistics tools."""

from __future__ import annotations

from hub.core.errors import NotFoundError
from hub.core.jsontypes import JSONObject, as_list
from tools.base import SESSION_ID, ToolArgumentError, ToolCall, ToolSpec, arg_int, arg_str

MAX_TEXT = 2_000_000
MAX_MESSAGES = 10_000


async def tokens_count(call: ToolCall) -> JSONObject:
    """Count a text (cl100k_base) or a chat request's messages, as the proxy does."""
    text = arg_str(call.arguments, "text", None, MAX_TEXT)
    raw_messages = call.arguments.get("messages")
    if (text is None) == (raw_messages is None):
        raise ToolArgumentError("Donner soit « text », soit « messages ».", "text")
    if text is not None:
        return {"tokens": call.deps.counter.count_text(text), "encoding": "cl100k_base"}
    if not isinstance(raw_messages, list) or len(raw_messages) > MAX_MESSAGES:
        raise ToolArgumentError(
            f"« messages » doit être une liste d'au plus {MAX_MESSAGES} messages.", "messages"
        )
    tokens = await call.deps.counter.count_chat_async(as_list(raw_messages))
    return {"tokens": tokens, "encoding": "cl100k_base", "messages": len(raw_messages)}


async def context_status(call: ToolCall) -> JSONObject:
    """The context gauge of a session (the active one by default)."""
    session_id = arg_int(call.arguments, "session_id", None)
    if session_id is None:
        session = await call.deps.sessions.current(call.caller)
        if session is None:
            raise NotFoundError("Aucune session active.", code="no_active_session")
    else:
        session = await call.deps.sessions.owned(session_id, call.caller)
    stats = await call.deps.stats.session_stats(session.id, last=0)
    return {"session": session.to_json(), "gauge": stats["gauge"]}


async def session_stats(call: ToolCall) -> JSONObject:
    session_id = arg_int(call.arguments, "session_id", None)
    if session_id is None:
        raise ToolArgumentError("Argument « session_id » manquant.", "session_id")
    last = arg_int(call.arguments, "last", 20, 0, 500) or 0
    await call.deps.sessions.owned(session_id, call.caller)
    return await call.deps.stats.session_stats(session_id, last=last)


async def global_stats(call: ToolCall) -> JSONObject:
    call.caller.require_admin("Statistiques globales")
    return await call.deps.stats.global_stats()


MESSAGES: JSONObject = {
    "type": "array",
    "items": {"type": "object"},
    "maxItems": MAX_MESSAGES,
    "description": "Messages au format OpenAI chat",
}
TOOLS = (
    ToolSpec(
        "tokens_count",
        "Compter les tokens",
        "Compte les tokens (cl100k_base) d'un texte ou d'une liste de messages.",
        {"text": {"type": "string", "maxLength": MAX_TEXT}, "messages": MESSAGES},
        tokens_count,
    ),
    ToolSpec(
        "context_status",
        "État du contexte",
        "Jauge de contexte d'une session (par défaut la session active).",
        {"session_id": SESSION_ID},
        context_status,
    ),
    ToolSpec(
        "session_stats",
        "Statistiques d'une session",
        "Totaux, jauge et dernières requêtes d'une session.",
        {
            "session_id": SESSION_ID,
            "last": {"type": "integer", "minimum": 0, "maximum": 500, "default": 20},
        },
        session_stats,
        required=("session_id",),
    ),
    ToolSpec(
        "global_stats",
        "Statistiques globales",
        "Totaux de tous les appels, nombre de sessions, session active (clé d'administration).",
        {},
        global_stats,
    ),
)
