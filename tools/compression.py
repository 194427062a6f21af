"""Compaction tools; the algorithm lives behind ``SavingsService``."""

from __future__ import annotations

from collections.abc import Awaitable

from hub.core.jsontypes import JSONObject, as_list
from tools.base import (
    SESSION_ID,
    ToolArgumentError,
    ToolCall,
    ToolSpec,
    arg_int,
    arg_str,
    need_int,
    need_str,
)
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
    """The original, or one page of it (``lines`` or ``offset``/``length``)."""
    args = call.arguments
    reference = need_str(args, "hash", 64)
    lines = arg_str(args, "lines", None, 40)
    offset = arg_int(args, "offset", None, 0)
    length = arg_int(args, "length", None, 0)
    if lines is None and offset is None and length is None:
        return {"hash": reference, "content": await call.deps.savings.mask(reference)}
    if lines is not None and (offset is not None or length is not None):
        raise ToolArgumentError("« lines » ou « offset »/« length », pas les deux.", "lines")
    page = await call.deps.savings.mask_page(reference, lines=lines, offset=offset, length=length)
    found: JSONObject = {
        "hash": reference,
        "content": page.text,
        "total_lines": page.total_lines,
        "total_chars": page.total_chars,
    }
    if page.first_line is not None:
        found["lines"] = f"{page.first_line}-{page.last_line}"
    else:
        found["offset"], found["length"] = page.offset, page.length
    return found


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
        "Rend, octet pour octet, un contenu masqué à partir de sa référence mask:<hash>, "
        "en entier ou une page : une plage de lignes (lines) ou des caractères (offset, length).",
        {
            "hash": {
                "type": "string",
                "description": "hash ou référence « mask:<hash> »",
                "maxLength": 64,
            },
            "lines": {
                "type": "string",
                "description": "plage de lignes, numérotées à partir de 1 : « 120-180 », "
                "« 120- » (jusqu'à la fin) ou « 120 »",
                "maxLength": 40,
            },
            "offset": {"type": "integer", "minimum": 0, "description": "premier caractère"},
            "length": {"type": "integer", "minimum": 0, "description": "nombre de caractères"},
        },
        mask_get,
        required=("hash",),
    ),
)
