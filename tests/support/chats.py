"""Chat messages the tests send: a greeting, and an agent's history with long tool answers."""

from __future__ import annotations

import re

from openai.types.chat import ChatCompletionMessageParam

from tests.support.json_values import Json

HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Bonjour"}]

LOG = (
    "\r\n".join(
        f"2026-03-02 10:00:{i % 60:02d} INFO [worker-{i % 4}] tâche {i} traitée — ok 🙂"
        for i in range(120)
    )
    + "\r\nKeyError: 'invoice_id'\n"
)
"""A tool answer worth masking: 120 log lines and the error that matters."""

MASK_REF = re.compile(r"mask:([0-9a-f]{32})")
"""A masked message's reference to its original (``GET /api/mask/{hash}``)."""


def history(exchanges: int, tool_text: str = LOG) -> list[Json]:
    """A system prompt, ``exchanges`` rounds of tool calls answered by ``tool_text``, and a
    last user message."""
    messages: list[Json] = [{"role": "system", "content": "Tu es un agent de programmation."}]
    for i in range(exchanges):
        call = {
            "id": f"call_{i}",
            "type": "function",
            "function": {"name": "read_logs", "arguments": '{"lines": 120}'},
        }
        messages += [
            {"role": "user", "content": f"Demande {i} : regarde les journaux du worker."},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": f"call_{i}", "content": f"{tool_text}#{i}"},
            {"role": "assistant", "content": f"Réponse {i} : `compute_tax_total` échoue."},
        ]
    messages.append({"role": "user", "content": "Et maintenant, corrige-le."})
    return messages


def mask_reference(text: str) -> re.Match[str]:
    """The first mask reference in ``text`` (group 1: the hash); fails the test if none."""
    found = MASK_REF.search(text)
    assert found is not None, text[:300]
    return found
