"""Compaction tools; the algorithm lives behind ``SavingsService``."""

from __future__ import annotations

from collections.abc import Awaitable

from hub.core.jsontypes import JSONObject, as_list
from tools.base import SESSION_ID, ToolArgumentError, ToolCall, ToolSpec, need_int, need_str
from tools.stats import MAX_MESSAGES, MESSAGES


async def _with_progress(
    call: ToolCall, work: Awaitable[JSONObject], start: str, done: str
) -> JSONObject:
    """Compaction of a large session takes a while: say when it starts and ends."""
    await call.progress(0, 1, start)
    result = await work
    await call.progress(1, 1, done)
    return result


async def _session_id(call: ToolCall) -> int:
    """A session the caller may see (a virtual key: its own)."""
    session_id = need_int(call.arguments, "session_id")
    await call.deps.sessions.owned(session_id, call.caller)
    return session_id


async def compaction_preview(call: ToolCall) -> JSONObject:
    preview = call.deps.savings.preview(await _session_id(call))
    return await _with_progress(call, preview, "Compaction en cours…", "Compaction terminée.")


async def compaction_apply(call: ToolCall) -> JSONObject:
    apply = call.deps.savings.apply(await _session_id(call))
    return await _with_progress(call, apply, "Compaction en cours…", "Compaction appliquée.")


async def compress_messages(call: ToolCall) -> JSONObject:
    raw = call.arguments.get("messages")
    if not isinstance(raw, list) or len(raw) > MAX_MESSAGES:
        raise ToolArgumentError(
            f"« messages » doit être une liste d'au plus {MAX_MESSAGES} messages.", "messages"
        )
    work = call.deps.savings.compress_messages(as_list(raw))
    return await _with_progress(call, work, "Compression en cours…", "Compression terminée.")


async def mask_get(call: ToolCall) -> JSONObject:
    reference = need_str(call.arguments, "hash", 64)
    return {"hash": reference, "content": await call.deps.savings.mask(reference)}


TOOLS = (
    ToolSpec(
        "compaction_preview",
        "Aperçu de compaction",
        "Ce que la compaction ferait des messages de la dernière requête d'une session.",
        {"session_id": SESSION_ID},
        compaction_preview,
        required=("session_id",),
    ),
    ToolSpec(
        "compaction_apply",
        "Appliquer la compaction",
        "Compacte la dernière requête connue d'une session et active la compaction.",
        {"session_id": SESSION_ID},
        compaction_apply,
        required=("session_id",),
        read_only=False,
    ),
    ToolSpec(
        "compress_messages",
        "Compresser des messages",
        "Compresse une liste de messages (messages système et derniers échanges intacts).",
        {"messages": MESSAGES},
        compress_messages,
        required=("messages",),
    ),
    ToolSpec(
        "mask_get",
        "Contenu masqué",
        "Rend, octet pour octet, un contenu masqué à partir de sa référence mask:<hash>.",
        {
            "hash": {
                "type": "string",
                "description": "hash ou référence « mask:<hash> »",
                "maxLength": 64,
            }
        },
        mask_get,
        required=("hash",),
    ),
)
