"""Compaction behind one small interface, ``CompactionService``.

The algorithm here is a placeholder that is honest and deterministic: system
messages and the last ``KEEP_RECENT`` messages stay byte-identical; the older ones
become one French summary message that lists their key lines (errors, file paths,
user requests). The "context savings" work swaps the algorithm behind the same
three methods.

The hub does not store message bodies in SQLite. ``remember`` keeps the messages of
each session's *last* request in memory (bounded), and ``preview``/``apply`` work
on those: after a restart, a session has nothing to compact until its next request.
``apply`` stores the compacted list and turns the session's ``compaction`` flag on;
rewriting the next outgoing request with it belongs to the chat path.
"""

from __future__ import annotations

import re
from collections import OrderedDict

import anyio.to_thread

from hub.core.errors import NotFoundError
from hub.core.jsontypes import JSON, JSONObject, as_object, as_str
from hub.core.tokens import TokenCounter
from hub.services.sessions import SessionService

KEEP_RECENT = 4
MAX_KEY_LINES = 40
MAX_LINE_CHARS = 200
REMEMBERED_SESSIONS = 256
ERROR_LINE = re.compile(r"(?i)\b(error|erreur|exception|traceback|failed|échec|fatal)\b")
PATH_LINE = re.compile(r"(?:^|\s)(?:\.{0,2}/)?(?:[\w.-]+/)+[\w.-]+\.\w{1,8}\b")


def _text_of(message: JSONObject) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [as_str((as_object(p) or {}).get("text")) for p in content]
        return "\n".join(p for p in parts if p)
    return ""


def _key_lines(messages: list[JSONObject]) -> list[str]:
    lines: list[str] = []
    for message in messages:
        role = str(message.get("role", "?"))
        for raw in _text_of(message).splitlines():
            line = raw.strip()
            if not line:
                continue
            if role == "user":
                tag = "demande"
            elif ERROR_LINE.search(line):
                tag = "erreur"
            elif PATH_LINE.search(line):
                tag = "fichier"
            else:
                continue
            item = f"- [{tag}] {line[:MAX_LINE_CHARS]}"
            if item not in lines:
                lines.append(item)
    return lines[:MAX_KEY_LINES]


def extract(messages: list[JSON]) -> list[JSON]:
    """System messages and the recent tail kept as they are; the rest summarised."""
    objects = [as_object(m) for m in messages]
    indexed = [(i, m) for i, m in enumerate(objects) if m is not None]
    tail_start = max(0, len(messages) - KEEP_RECENT)
    older = [m for i, m in indexed if i < tail_start and m.get("role") != "system"]
    if not older:
        return list(messages)
    summary_lines = _key_lines(older)
    body = f"Résumé de {len(older)} message(s) antérieur(s), remplacés pour économiser du contexte."
    if summary_lines:
        body += " Points clés :\n" + "\n".join(summary_lines)
    summary: JSON = {"role": "user", "content": body}
    kept_head = [messages[i] for i, m in indexed if i < tail_start and m.get("role") == "system"]
    return [*kept_head, summary, *messages[tail_start:]]


class CompactionService:
    def __init__(self, counter: TokenCounter, sessions: SessionService) -> None:
        self._counter = counter
        self._sessions = sessions
        self._last: OrderedDict[int, list[JSON]] = OrderedDict()
        self._applied: dict[int, list[JSON]] = {}

    def remember(self, session_id: int, messages: list[JSON]) -> None:
        """Keep the messages of a session's last request (called by the chat path)."""
        self._last[session_id] = messages
        self._last.move_to_end(session_id)
        while len(self._last) > REMEMBERED_SESSIONS:
            self._last.popitem(last=False)

    def applied(self, session_id: int) -> list[JSON] | None:
        return self._applied.get(session_id)

    async def compress_messages(self, messages: list[JSON]) -> JSONObject:
        def work() -> JSONObject:
            compacted = extract(messages)
            return {
                "tokens_before": self._counter.count_chat(messages),
                "tokens_after": self._counter.count_chat(compacted),
                "messages_before": len(messages),
                "messages_after": len(compacted),
                "messages": compacted,
            }

        return await anyio.to_thread.run_sync(work)

    async def _of_session(self, session_id: int) -> list[JSON]:
        await self._sessions.get(session_id)
        messages = self._last.get(session_id)
        if messages is None:
            raise NotFoundError(
                f"Aucun message connu pour la session {session_id} "
                "(le hub ne garde que la dernière requête depuis son démarrage).",
                code="no_messages",
            )
        return messages

    async def preview(self, session_id: int) -> JSONObject:
        result = await self.compress_messages(await self._of_session(session_id))
        return {"session_id": session_id, "applied": False, **result}

    async def apply(self, session_id: int) -> JSONObject:
        result = await self.compress_messages(await self._of_session(session_id))
        compacted = result.get("messages")
        self._applied[session_id] = compacted if isinstance(compacted, list) else []
        await self._sessions.set_compaction(session_id, True)
        return {"session_id": session_id, "applied": True, **result}
