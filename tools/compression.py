"""Compaction tools; the algorithm lives behind ``SavingsService``."""

from __future__ import annotations

from hub.core.jsontypes import JSONObject, as_list
from tools.base import SESSION_ID, ToolArgumentError, ToolCall, ToolSpec, need_int
from tools.stats import MAX_MESSAGES, MESSAGES


async def compaction_preview(call: ToolCall) -> JSONObject:
    session_id = need_int(call.arguments, "session_id")
    await call.progress(0, 1, "Compaction en cours…")
    result = await call.deps.compaction.preview(session_id)
    await call.progress(1, 1, "Compaction terminée.")
    return result


async def compaction_apply(call: ToolCall) -> JSONObject:
    session_id = need_int(call.arguments, "session_id")
    await call.progress(0, 1, "Compaction en cours…")
    result = await call.deps.compaction.apply(session_id)
    await call.progress(1, 1, "Compaction appliquée.")
    return result


async def compress_messages(call: ToolCall) -> JSONObject:
    raw = call.arguments.get("messages")
    if not isinstance(raw, list) or len(raw) > MAX_MESSAGES:
        raise ToolArgumentError(
            f"« messages » doit être une liste d'au plus {MAX_MESSAGES} messages.", "messages"
        )
    await call.progress(0, 1, "Compression en cours…")
    result = await call.deps.compaction.compress_messages(as_list(raw))
    await call.progress(1, 1, "Compression terminée.")
    return result


TOOLS = (
    ToolSpec("compaction_preview", "Aperçu de compaction",
             "Ce que la compaction ferait des messages de la dernière requête d'une session.",
             {"session_id": SESSION_ID}, compaction_preview, required=("session_id",)),
    ToolSpec("compaction_apply", "Appliquer la compaction",
             "Compacte la dernière requête connue d'une session et active la compaction.",
             {"session_id": SESSION_ID}, compaction_apply, required=("session_id",),
             read_only=False),
    ToolSpec("compress_messages", "Compresser des messages",
             "Compresse une liste de messages (messages système et derniers échanges intacts).",
             {"messages": MESSAGES}, compress_messages, required=("messages",)),
)  # fmt: skip
