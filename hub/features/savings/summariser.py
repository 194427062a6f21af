"""Summaries of replaced rounds: by an LLM through the hub's providers, or extractive.

The extractive digest (``rounds_digest``) is the deterministic fallback: it keeps
the user's short messages word for word (a correction, a nudge, a format-error notice),
the assistant's words clipped and its tool calls, and one line per tool answer (or
bulky user message: observations of text-action agents): errors, failing tests,
outline, files, the names the block shows that the segment has not listed yet (what
an agent comes back for after reading code), and the ``mask:`` reference.
"""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import httpx2

from hub.core.errors import HubError
from hub.core.jsoncodec import dumps, loads
from hub.core.jsontypes import JSON, JSONObject, as_list, as_object, as_str
from hub.features.savings.salient import clip, error_lines, failing_tests, names, outline, paths
from hub.features.savings.wording import ENGLISH, Wording
from hub.proxy.routing import Route
from hub.proxy.upstream import ProviderPool

ASSISTANT_CHARS = 320
ARGUMENT_CHARS = 200
OBSERVATION_CHARS = 160
OBSERVATION_NAMES = 80
OBSERVATION_PATHS = 12
LLM_INPUT_CHARS = 400_000
LLM_TIMEOUT = 120.0
QUOTE = '"""'


class SummariserError(Exception):
    """The LLM summariser failed; the caller falls back to the extractive digest."""


def text_of(message: JSONObject) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    texts = (as_str((as_object(p) or {}).get("text")) for p in as_list(content))
    return "\n".join(t for t in texts if t)


def tool_call_lines(message: JSONObject, wording: Wording = ENGLISH) -> list[str]:
    lines = []
    for call in as_list(message.get("tool_calls")):
        function = as_object((as_object(call) or {}).get("function")) or {}
        arguments = clip(str(function.get("arguments", "")), ARGUMENT_CHARS)
        lines.append(f"{wording.call} {function.get('name', '?')}({arguments})")
    return lines


def _observation(
    text: str, reference: str | None, wording: Wording, listed: set[str] | None = None
) -> str:
    """What a tool answer said, in one line: errors, failing tests, outline, files, names.

    A bulky answer also gets its ``mask:<hash>`` reference (original via the API / MCP).
    ``listed``: names the segment already shows, not repeated (and the new ones added).
    """
    facts = [
        *error_lines(text, 3),
        *(f"{wording.failing} {name}" for name in failing_tests(text, 5)),
        *outline(text, 8, wording.line),
    ]
    lines = [line for line in text.splitlines() if line.strip()]
    found = paths(text, OBSERVATION_PATHS)
    if not facts and not found and lines:
        facts.append(clip(lines[0], OBSERVATION_CHARS))
    said = clip(" | ".join(facts), OBSERVATION_CHARS * 3)
    if found:  # not clipped: paths are what an agent opens again
        said += (" | " if said else "") + wording.files + ", ".join(found)
    known = set(listed) if listed is not None else set()
    fresh = [n for n in names(text, OBSERVATION_NAMES, known) if n not in said]
    if listed is not None:
        listed.update(fresh)
    if fresh:
        said += " | " + wording.names + ", ".join(fresh)
    count = wording.lines_count.format(count=len(lines))
    return f"{said} ({count}{f', mask:{reference}' if reference else ''})"


def rounds_digest(
    messages: Sequence[JSON],
    references: Sequence[str | None] | None = None,
    *,
    wording: Wording = ENGLISH,
    verbatim: Sequence[bool] | None = None,
) -> str:
    """A compact, deterministic account of some rounds: asks, actions, what came back.

    ``references[i]``: the mask hash of message ``i``'s original, if it was kept.
    ``verbatim[i]``: user message ``i`` is short and is quoted word for word (a user
    message is never clipped: a long one is an observation, digested like a tool answer).
    """
    lines: list[str] = []
    listed: set[str] = set()
    for index, message in enumerate(messages):
        obj = as_object(message)
        if obj is None:
            continue
        role, text = str(obj.get("role")), text_of(obj)
        reference = references[index] if references else None
        if role == "user" and (verbatim is None or verbatim[index]):
            lines += [f"- {wording.user_verbatim}", QUOTE, text, QUOTE]
        elif role == "user":
            lines.append(f"- {wording.user}: {_observation(text, reference, wording, listed)}")
        elif role == "assistant":
            said = clip(text.replace("\n", " "), ASSISTANT_CHARS) if text.strip() else ""
            calls = "; ".join(tool_call_lines(obj, wording))
            lines.append(
                f"- {wording.assistant}: " + " ; ".join(part for part in (said, calls) if part)
            )
        elif role == "tool":
            lines.append(f"  → {_observation(text, reference, wording, listed)}")
    return "\n".join(lines)


def transcript(messages: Sequence[JSON], wording: Wording = ENGLISH) -> str:
    """The replaced turns as plain text for the summariser model, bounded in size."""
    parts = []
    for message in messages:
        obj = as_object(message) or {}
        body = "\n".join([text_of(obj), *tool_call_lines(obj, wording)])
        parts.append(f"### {obj.get('role', '?')}\n{body}")
    text = "\n\n".join(parts)
    if len(text) > LLM_INPUT_CHARS:
        half = LLM_INPUT_CHARS // 2
        text = f"{text[:half]}\n{wording.middle_omitted}\n{text[-half:]}"
    return text


async def llm_summary(
    pool: ProviderPool, route: Route, messages: Sequence[JSON], wording: Wording = ENGLISH
) -> str:
    """One non-streaming call to the summariser model; SummariserError on any failure."""
    body: JSONObject = {
        "model": route.upstream_model,
        "stream": False,
        "temperature": 0,
        "messages": [
            {"role": "system", "content": wording.summariser_prompt},
            {"role": "user", "content": transcript(messages, wording)},
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
