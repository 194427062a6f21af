"""``WireDefinitions`` and ``whole`` on answers no real server here sends: pages, errors,
malformed items, answers that never come, a vendor's field, the hub's own changes."""

from __future__ import annotations

import mcp_types as types

from hub.core.jsontypes import JSONObject
from hub.features.mcp_hub.definitions import (
    MAX_UNKNOWN_BYTES,
    PENDING,
    WireDefinitions,
    whole,
    whole_list,
)


def ask(tap: WireDefinitions, request_id: int, method: str, cursor: str | None = None) -> None:
    params: JSONObject | None = {"cursor": cursor} if cursor else None
    tap.asked(types.JSONRPCRequest(jsonrpc="2.0", id=request_id, method=method, params=params))


def answer(tap: WireDefinitions, request_id: int, result: JSONObject) -> None:
    tap.answered(types.JSONRPCResponse(jsonrpc="2.0", id=request_id, result=result))


def tool(name: str, **fields: object) -> JSONObject:
    return {"name": name, "inputSchema": {"type": "object"}, **fields}  # type: ignore[dict-item]


def test_pages_add_and_a_new_listing_replaces() -> None:
    tap = WireDefinitions()
    ask(tap, 1, "tools/list")
    answer(tap, 1, {"tools": [tool("a")], "nextCursor": "2"})
    ask(tap, 2, "tools/list", cursor="2")
    answer(tap, 2, {"tools": [tool("b", execution={"taskSupport": "optional"})]})
    assert tap.keys("tools") == ["a", "b"]
    assert tap.get("tools", "b") == tool("b", execution={"taskSupport": "optional"})
    ask(tap, 3, "tools/list")
    answer(tap, 3, {"tools": [tool("c")]})
    assert tap.keys("tools") == ["c"]  # a and b are gone upstream


def test_errors_foreign_answers_and_malformed_items_change_nothing() -> None:
    tap = WireDefinitions()
    ask(tap, 1, "prompts/list")
    answer(tap, 1, {"prompts": [{"name": "p"}]})
    ask(tap, 2, "prompts/list")
    tap.answered(
        types.JSONRPCError(jsonrpc="2.0", id=2, error=types.ErrorData(code=-32603, message="x"))
    )
    answer(tap, 99, {"prompts": [{"name": "never asked"}]})
    ask(tap, 3, "tools/call")  # not a list: its answer is not read
    answer(tap, 3, {"tools": [tool("t")]})
    assert tap.keys("prompts") == ["p"] and tap.keys("tools") == []
    ask(tap, 4, "resources/list")
    answer(tap, 4, {"resources": [1, None, {"name": "no uri"}, {"uri": 7}, {"uri": "file:///a"}]})
    ask(tap, 5, "resources/templates/list")
    answer(tap, 5, {"resourceTemplates": "not a list"})
    assert tap.keys("resources") == ["file:///a"] and tap.keys("resourceTemplates") == []


def test_unknown_fields_are_kept_up_to_a_size() -> None:
    tap = WireDefinitions()
    ask(tap, 1, "tools/list")
    heavy = tool("heavy", description="d", **{"x-junk": "j" * MAX_UNKNOWN_BYTES})
    light = tool("light", **{"x-vendor": {"team": "infra"}, "_meta": {"m": "x" * 100_000}})
    answer(tap, 1, {"tools": [heavy, light]})
    assert tap.get("tools", "heavy") == tool("heavy", description="d")
    assert tap.get("tools", "light") == light  # _meta is the SDK's to relay, at any size


def test_answers_that_never_come_are_forgotten() -> None:
    tap = WireDefinitions()
    for request_id in range(PENDING + 10):
        ask(tap, request_id, "tools/list")
    answer(tap, 0, {"tools": [tool("oldest")]})  # forgotten: not read
    answer(tap, PENDING + 9, {"tools": [tool("newest")]})
    assert tap.keys("tools") == ["newest"]
    tap.clear()
    assert tap.keys("tools") == []


def test_whole_keeps_the_upstreams_fields_and_order_and_the_hubs_changes() -> None:
    wire = tool("t", description="x" * 50, execution={"taskSupport": "required"})
    wire["x-vendor"] = {"team": "infra"}
    shown: JSONObject = {"description": "x" * 9 + "…", "inputSchema": {"type": "object"}}
    shown["name"] = "srv__t"
    merged = whole(shown, wire)
    assert list(merged) == ["name", "inputSchema", "description", "execution", "x-vendor"]
    assert merged["name"] == "srv__t" and merged["description"] == "x" * 9 + "…"
    assert merged["x-vendor"] == {"team": "infra"}
    own = tool("sessions_list")  # one of the hub's own: no upstream definition
    listed = whole_list([shown, own, "odd"], "tools", {"srv__t": wire}.get)
    assert listed == [merged, own, "odd"]
