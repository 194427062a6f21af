import socket
from pathlib import Path

import pytest

from hub.core import tokens
from hub.core.jsontypes import JSON
from hub.core.tokens import TokenCounter, TokenizerError, load_encoding


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter(load_encoding())


def test_loading_never_touches_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("tentative d'accès réseau pendant le chargement de tiktoken")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "/nonexistent")
    encoding = load_encoding()
    assert encoding.encode("hello world") == [15339, 1917]
    assert encoding.n_vocab == 100277


def test_hash_comes_from_tiktoken_and_is_enforced(tmp_path: Path) -> None:
    assert tokens.tiktoken_cl100k_sha256() == (
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
    )
    tampered = tmp_path / "cl100k_base.tiktoken"
    tampered.write_bytes(tokens.bundled_bpe_path().read_bytes()[:-10])
    with pytest.raises(TokenizerError):
        load_encoding(tampered)


def test_chat_accounting_matches_openai_cookbook(counter: TokenCounter) -> None:
    # 3 framing + 1 role + 2 content + 3 reply primer, as OpenAI bills it
    assert counter.count_chat([{"role": "user", "content": "hello world"}]) == 9
    named = counter.count_chat([{"role": "user", "name": "bob", "content": "hello world"}])
    assert named == 9 + 1 + counter.count_text("bob")


def test_tool_calls_tools_and_parts_are_counted(counter: TokenCounter) -> None:
    base = counter.count_chat([{"role": "assistant", "content": None}])
    with_call = counter.count_chat(
        [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function",
                     "function": {"name": "read_file", "arguments": '{"path": "a.py"}'}}
                ],
            }
        ]
    )  # fmt: skip
    assert with_call > base + counter.count_text('{"path": "a.py"}')
    tool: JSON = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    assert counter.count_chat([], [tool]) > counter.count_chat([])
    parts: JSON = [
        {"type": "text", "text": "hello"},
        {"type": "image_url", "image_url": {"url": "x"}},
    ]
    assert counter.count_chat([{"role": "user", "content": parts}]) == (
        counter.count_chat([{"role": "user", "content": "hello"}]) + tokens.IMAGE_PART_TOKENS
    )


async def test_async_count_equals_sync_and_caches(counter: TokenCounter) -> None:
    messages: list[JSON] = [{"role": "user", "content": f"message {i} " * 50} for i in range(20)]
    expected = counter.count_chat(messages)
    fresh = TokenCounter(load_encoding())
    assert await fresh.count_chat_async(messages) == expected
    calls = 0
    original = fresh._count_message_uncached

    def spy(message: dict[str, JSON]) -> int:  # counts how many messages are really encoded
        nonlocal calls
        calls += 1
        return original(message)

    fresh._count_message_uncached = spy  # type: ignore[method-assign]
    longer: list[JSON] = [*messages, {"role": "assistant", "content": "nouvelle réponse"}]
    assert await fresh.count_chat_async(longer) == counter.count_chat(longer)
    assert calls == 1
