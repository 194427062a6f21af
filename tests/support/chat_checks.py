"""What every rewritten chat history must still be for a provider to accept it."""

from __future__ import annotations

import itertools
import json

from tests.support.json_values import Json


def assert_valid(messages: list[Json], original: list[Json]) -> None:
    originals = [json.dumps(m.get("tool_calls"), sort_keys=True) for m in original]
    for index, message in enumerate(messages):
        content = message.get("content")
        assert content is None or isinstance(content, str | list)
        for part in content if isinstance(content, list) else []:
            assert isinstance(part, dict) and isinstance(part.get("type"), str)
            if part["type"] == "text":
                assert isinstance(part["text"], str)
        if message.get("tool_calls"):
            # ids untouched: the very same tool_calls list exists in the original
            assert json.dumps(message["tool_calls"], sort_keys=True) in originals
            ids = [c["id"] for c in message["tool_calls"]]
            answers = []
            for follower in messages[index + 1 :]:
                if follower["role"] != "tool":
                    break
                answers.append(follower["tool_call_id"])
            assert sorted(answers) == sorted(ids)  # any order, one answer per call
        if message["role"] == "tool":
            previous = index - 1
            while messages[previous]["role"] == "tool":
                previous -= 1
            ids = [c["id"] for c in messages[previous].get("tool_calls") or []]
            assert message["tool_call_id"] in ids


MASKED = "[Content masked by Kimi Proxy Hub"


def assert_head_kept(messages: list[Json], original: list[Json]) -> None:
    """Everything before the first answer is in place: system messages and the task (the
    last user message there) byte for byte; a demonstration before the task may only be
    its masked placeholder (bulky content, with its ``mask:`` reference)."""
    head = next((i for i, m in enumerate(original) if m["role"] == "assistant"), len(original))
    assert [m["role"] for m in messages[:head]] == [m["role"] for m in original[:head]]
    users = [i for i in range(head) if original[i]["role"] == "user"]
    for index in range(head):
        sent, was = messages[index], original[index]
        if sent == was:
            continue
        assert users and index in users[:-1], f"message {index} de la tête réécrit"
        assert str(sent["content"]).startswith(MASKED) and "mask:" in str(sent["content"])


def alternates(messages: list[Json]) -> bool:
    """User and assistant turns alternate once tool and system messages are set aside."""
    roles = [m["role"] for m in messages if m["role"] in ("user", "assistant")]
    return all(a != b for a, b in itertools.pairwise(roles))
