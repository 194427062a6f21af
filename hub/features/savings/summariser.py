"""Summaries of replaced rounds: by an LLM through the hub's providers, or extractive.

The extractive digest (``rounds_digest``) is the deterministic fallback: it keeps
the user's requests, the assistant's words and tool calls, and one line per tool
answer (errors, failing tests, outline, files, ``mask:`` reference).
"""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import httpx2

from hub.core.errors import HubError
from hub.core.jsoncodec import dumps, loads
from hub.core.jsontypes import JSON, JSONObject, as_list, as_object, as_str
from hub.features.savings.salient import clip, error_lines, failing_tests, outline, paths
from hub.proxy.routing import Route
from hub.proxy.upstream import ProviderPool

ASK_CHARS = 700
ASSISTANT_CHARS = 320
ARGUMENT_CHARS = 200
OBSERVATION_CHARS = 160
LLM_INPUT_CHARS = 400_000
LLM_TIMEOUT = 120.0
SYSTEM_PROMPT = (
    "Tu résumes le début d'une session d'agent de programmation pour qu'il puisse continuer "
    "sans l'historique complet. Conserve exactement : chaque demande de l'utilisateur, les "
    "décisions prises, les messages d'erreur, les chemins de fichiers, les identifiants "
    "(fonctions, classes, variables) et les références « mask:… ». Sois factuel et concis, "
    "en listes à puces."
)


class SummariserError(Exception):
    """The LLM summariser failed; the caller falls back to the extractive digest."""


def text_of(message: JSONObject) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    texts = (as_str((as_object(p) or {}).get("text")) for p in as_list(content))
    return "\n".join(t for t in texts if t)


def tool_call_lines(message: JSONObject) -> list[str]:
    lines = []
    for call in as_list(message.get("tool_calls")):
        function = as_object((as_object(call) or {}).get("function")) or {}
        arguments = clip(str(function.get("arguments", "")), ARGUMENT_CHARS)
        lines.append(f"appel {function.get('name', '?')}({arguments})")
    return lines


def _observation(text: str, reference: str | None = None) -> str:
    """What a tool answer said, in one line: errors, failing tests, outline, files.

    A bulky answer also gets its ``mask:<hash>`` reference (original via the API / MCP).
    """
    facts = [
        *error_lines(text, 3),
        *(f"échec {name}" for name in failing_tests(text, 5)),
        *outline(text, 8),
    ]
    found = paths(text, 6)
    if found:
        facts.append("fichiers " + ", ".join(found))
    lines = [line for line in text.splitlines() if line.strip()]
    if not facts and lines:
        facts.append(clip(lines[0], OBSERVATION_CHARS))
    found_in = f" ({len(lines)} lignes{f', mask:{reference}' if reference else ''})"
    return clip(" | ".join(facts), OBSERVATION_CHARS * 3) + found_in


def rounds_digest(messages: Sequence[JSON], references: Sequence[str | None] | None = None) -> str:
    """A compact, deterministic account of some rounds: asks, actions, what came back.

    ``references[i]``: the mask hash of message ``i``'s original, if it was kept.
    """
    lines: list[str] = []
    for index, message in enumerate(messages):
        obj = as_object(message)
        if obj is None:
            continue
        role, text = str(obj.get("role")), text_of(obj)
        if role == "user":
            lines.append(f"- utilisateur : {clip(text.replace(chr(10), ' '), ASK_CHARS)}")
        elif role == "assistant":
            said = clip(text.replace("\n", " "), ASSISTANT_CHARS) if text.strip() else ""
            calls = "; ".join(tool_call_lines(obj))
            lines.append("- assistant : " + " ; ".join(part for part in (said, calls) if part))
        elif role == "tool":
            reference = references[index] if references else None
            lines.append(f"  → {_observation(text, reference)}")
    return "\n".join(lines)


def transcript(messages: Sequence[JSON]) -> str:
    """The replaced turns as plain text for the summariser model, bounded in size."""
    parts = []
    for message in messages:
        obj = as_object(message) or {}
        body = "\n".join([text_of(obj), *tool_call_lines(obj)])
        parts.append(f"### {obj.get('role', '?')}\n{body}")
    text = "\n\n".join(parts)
    if len(text) > LLM_INPUT_CHARS:
        half = LLM_INPUT_CHARS // 2
        text = f"{text[:half]}\n[… milieu omis …]\n{text[-half:]}"
    return text


async def llm_summary(pool: ProviderPool, route: Route, messages: Sequence[JSON]) -> str:
    """One non-streaming call to the summariser model; SummariserError on any failure."""
    body: JSONObject = {
        "model": route.upstream_model,
        "stream": False,
        "temperature": 0,
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": transcript(messages)},
        ],
    }
    try:
        with anyio.fail_after(LLM_TIMEOUT):
            reply = await pool.post_chat(route, dumps(body))
            try:
                raw = await reply.response.aread()
            finally:
                await reply.response.aclose()
    except (HubError, httpx2.HTTPError, TimeoutError) as exc:
        text = pool.redactor.text(str(exc))
        raise SummariserError(f"appel au résumeur impossible : {text}") from None
    if reply.response.status_code >= 400:
        raise SummariserError(f"le résumeur a répondu {reply.response.status_code}")
    try:
        parsed = loads(raw)
    except ValueError:
        raise SummariserError("réponse du résumeur illisible (JSON invalide)") from None
    choice = as_object(next(iter(as_list((as_object(parsed) or {}).get("choices"))), None))
    message = as_object((choice or {}).get("message")) or {}
    content = as_str(message.get("content"))
    if not content or not content.strip():
        raise SummariserError("le résumeur a renvoyé un résumé vide")
    return content.strip()
