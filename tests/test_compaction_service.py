"""The placeholder compaction algorithm behind CompactionService."""

from __future__ import annotations

from hub.core.jsontypes import JSON
from hub.services.compaction import KEEP_RECENT, extract


def conversation(turns: int) -> list[JSON]:
    messages: list[JSON] = [{"role": "system", "content": "Règles."}]
    for i in range(turns):
        messages.append({"role": "user", "content": f"Ouvre lib/mod{i}.py"})
        messages.append({"role": "assistant", "content": f"Traceback: KeyError {i}\nok"})
    return messages


def test_short_conversations_are_unchanged() -> None:
    messages = conversation(2)
    assert extract(messages) == messages


def test_system_and_recent_messages_are_kept_byte_identical() -> None:
    messages = conversation(6)
    compacted = extract(messages)
    assert compacted[0] is messages[0]
    assert compacted[-KEEP_RECENT:] == messages[-KEEP_RECENT:]
    assert len(compacted) == 1 + 1 + KEEP_RECENT
    summary = compacted[1]
    assert isinstance(summary, dict)
    text = str(summary["content"])
    assert "[demande] Ouvre lib/mod0.py" in text
    assert "[erreur] Traceback: KeyError 0" in text
    assert "Règles." not in text


def test_deterministic_and_tolerant_of_odd_messages() -> None:
    messages: list[JSON] = ["pas un objet", 3, None, *conversation(5)]
    assert extract(messages) == extract(list(messages))
    assert extract([]) == []
