"""Hypothesis strategies for chat histories: free conversations and today's agent runs.

``LINES`` are realistic tool output (logs, tracebacks, JSON) that masking has to handle.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

from tests.support.json_values import Json

LINES = (
    "2026-03-02 10:00:01,120 INFO [worker-1] job 8812 traité en 41 ms",
    '  File "src/billing/invoice.py", line 142, in compute_tax_total',
    "KeyError: 'invoice_id'",
    '{"name": "requests", "version": "2.32.3", "licence": "Apache-2.0"}',
    "tests/test_invoice.py::test_negative_discount PASSED",
    "    rate = rates[line['invoice_id']]  # é à ü 🙂",
)


short_text = st.text(max_size=30)
bulky_text = st.builds(
    lambda lines, n: "\n".join(lines * n),
    st.lists(st.sampled_from(LINES), min_size=1, max_size=4),
    st.integers(5, 30),
)
text = st.one_of(short_text, bulky_text)
image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
parts = st.lists(
    st.one_of(st.builds(lambda t: {"type": "text", "text": t}, text), st.just(image)),
    min_size=1,
    max_size=3,
)


@st.composite
def conversations(draw: st.DrawFn) -> list[Json]:
    messages: list[Json] = []
    if draw(st.booleans()):
        messages.append({"role": "system", "content": draw(text)})
    calls = 0
    for _ in range(draw(st.integers(1, 6))):
        messages.append({"role": "user", "content": draw(st.one_of(text, parts))})
        for _ in range(draw(st.integers(0, 2))):
            ids = [f"call_{calls + i}" for i in range(draw(st.integers(1, 3)))]
            calls += len(ids)
            tool_calls = [
                {
                    "id": i,
                    "type": "function",
                    "function": {
                        "name": "read_file",
                        "arguments": json.dumps({"path": "src/a.py"}),
                    },
                }
                for i in ids
            ]
            content = draw(st.one_of(st.none(), short_text))
            messages.append({"role": "assistant", "content": content, "tool_calls": tool_calls})
            for call_id in ids:
                tool_content = draw(st.one_of(text, parts))
                messages.append({"role": "tool", "tool_call_id": call_id, "content": tool_content})
        if draw(st.booleans()):
            messages.append({"role": "system", "content": "Rappel : réponds en français."})
        messages.append({"role": "assistant", "content": draw(text)})
    if draw(st.booleans()):
        messages.append({"role": "user", "content": draw(text)})
    return messages


def draw_tool_round(
    draw: st.DrawFn,
    messages: list[Json],
    calls: int,
    said: st.SearchStrategy[str],
    output: st.SearchStrategy[str],
) -> int:
    """Append one assistant turn with 1–3 tool calls and their answers, in any order;
    returns the number of calls drawn so far (call ids stay unique)."""
    ids = [f"call_{calls + i}" for i in range(draw(st.integers(1, 3)))]
    tool_calls = [
        {"id": i, "type": "function", "function": {"name": "bash", "arguments": "{}"}} for i in ids
    ]
    content = draw(st.one_of(st.none(), said))
    messages.append({"role": "assistant", "content": content, "tool_calls": tool_calls})
    for call_id in draw(st.permutations(ids)):
        messages.append({"role": "tool", "tool_call_id": call_id, "content": draw(output)})
    return calls + len(ids)


@st.composite
def agent_runs(draw: st.DrawFn) -> list[Json]:
    """The shape of today's agents: one task, then many tool rounds (and stray feedback)."""
    messages: list[Json] = [{"role": "system", "content": draw(text)}]
    messages.append({"role": "user", "content": draw(text)})
    calls = 0
    for _ in range(draw(st.integers(0, 14))):
        shape = draw(st.sampled_from(("tools", "tools", "tools", "plain", "feedback")))
        if shape == "feedback":  # a format-error reply or "please continue"
            messages.append({"role": "assistant", "content": draw(text)})
            messages.append({"role": "user", "content": draw(text)})
            continue
        if shape == "plain":
            messages.append({"role": "assistant", "content": draw(text)})
            continue
        calls = draw_tool_round(draw, messages, calls, text, text)
    return messages
