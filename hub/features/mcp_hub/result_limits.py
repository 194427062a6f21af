"""Upstream tool results over a token budget: long texts masked like on the proxy path.

The result's size is the tokens of its text blocks plus those of the strings inside its
``structuredContent``. Over the limit, the largest texts are replaced, one by one, by
the sanitizer's placeholder (head and tail preview, salient lines, ``mask:<hash>``)
until it fits; the caller keeps each original byte for byte (``MaskStore``) and
``mask_get`` gives it back. A string inside ``structuredContent`` stays a string, so
the content still matches the tool's ``outputSchema`` (checked: if the masked content
would not, the result is left whole, since clients validate it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import mcp_types as types
from jsonschema import ValidationError
from jsonschema.validators import validator_for

from hub.core.jsontypes import JSON, JSONObject
from hub.core.offload import run_sized
from hub.core.tokens import TokenCounter
from hub.features.savings.sanitizer import MaskedOriginal, mask_hash, placeholder
from hub.features.savings.wording import ENGLISH, Wording

KIND = "résultat d'outil MCP"
MIN_CHARS = 200  # shorter texts are never worth a placeholder
Path = tuple[str | int, ...]  # ("content", i) or the keys down to a structured string


@dataclass(frozen=True)
class Limited:
    result: types.CallToolResult
    masked: list[MaskedOriginal]

    @property
    def tokens_saved(self) -> int:
        return sum(m.tokens - m.placeholder_tokens for m in self.masked)


def _strings(value: JSON, path: Path, found: list[tuple[Path, str]]) -> None:
    if isinstance(value, str):
        found.append((path, value))
    elif isinstance(value, dict):
        for key, item in value.items():
            _strings(item, (*path, key), found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _strings(item, (*path, index), found)


def _replace(value: JSON, path: Path, text: str) -> JSON:
    if not path:
        return text
    head, rest = path[0], path[1:]
    if isinstance(value, dict) and isinstance(head, str):
        return {**value, head: _replace(value[head], rest, text)}
    if isinstance(value, list) and isinstance(head, int):
        return [_replace(v, rest, text) if i == head else v for i, v in enumerate(value)]
    return value


def _slots(result: types.CallToolResult) -> list[tuple[Path, str]]:
    slots: list[tuple[Path, str]] = [
        (("content", index), block.text)
        for index, block in enumerate(result.content)
        if isinstance(block, types.TextContent)
    ]
    if result.structured_content is not None:
        _strings(dict(result.structured_content), ("structured",), slots)
    return slots


def _valid(structured: JSONObject, schema: JSONObject | None) -> bool:
    if schema is None:
        return True
    try:
        validator_for(schema)(schema).validate(structured)
    except ValidationError:
        return False
    return True


async def limit_result(
    result: types.CallToolResult,
    limit: int,
    counter: TokenCounter,
    output_schema: JSONObject | None,
    wording: Wording = ENGLISH,
) -> Limited:
    slots = _slots(result)
    size = sum(len(text) for _, text in slots)
    counts = await run_sized(size, lambda: [counter.count_text(text) for _, text in slots])
    total = sum(counts)
    if total <= limit:
        return Limited(result, [])
    content = list(result.content)
    structured: JSON = dict(result.structured_content or {})
    masked: dict[str, MaskedOriginal] = {}
    placeholders: dict[str, str] = {}  # the same text twice (text block + structured): one mask
    for (path, text), tokens in sorted(zip(slots, counts, strict=True), key=lambda p: -p[1]):
        if total <= limit or len(text) < MIN_CHARS:
            break
        digest = mask_hash(text)
        if digest not in masked:
            replacement = await run_sized(
                len(text), partial(placeholder, text, KIND, tokens, digest, wording)
            )
            small = counter.count_text(replacement)
            if small >= tokens:
                continue
            masked[digest] = MaskedOriginal(digest, text, tokens, small, len(masked), KIND)
            placeholders[digest] = replacement
        known, replacement = masked[digest], placeholders[digest]
        if path[0] == "content":
            index = path[1]
            assert isinstance(index, int)
            content[index] = types.TextContent(text=replacement)
        else:
            structured = _replace(structured, path[1:], replacement)
        total -= tokens - known.placeholder_tokens
    if not masked:
        return Limited(result, [])
    update: dict[str, object] = {"content": content}
    if result.structured_content is not None:
        assert isinstance(structured, dict)
        if not _valid(structured, output_schema):
            return Limited(result, [])
        update["structured_content"] = structured
    return Limited(result.model_copy(update=update), list(masked.values()))
