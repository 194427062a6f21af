"""What an MCP tool call answered, as the hub's tools shape it: the data, or the error."""

from __future__ import annotations

import json

import mcp_types as types

from hub.features.mcp_hub.forwarding import ToolAnswer
from tests.support.json_values import JsonObject


def data(result: types.CallToolResult) -> JsonObject:
    """The structured answer of a successful call (its text is the same JSON)."""
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    text = result.content[0]
    assert isinstance(text, types.TextContent)
    assert json.loads(text.text) == result.structured_content
    return result.structured_content


def error_text(result: types.CallToolResult) -> str:
    """The French message of a failed call (``{"erreur": ...}``)."""
    assert result.is_error
    text = result.content[0]
    assert isinstance(text, types.TextContent)
    return str(json.loads(text.text)["erreur"])


def completed(answer: ToolAnswer) -> types.CallToolResult:
    """A hub call's answer when no ``input_required`` round is expected."""
    assert isinstance(answer, types.CallToolResult), answer
    return answer
