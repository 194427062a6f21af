"""Names an endpoint lists are valid tool names for clients (SEP-986: 1-128 characters
of A-Za-z0-9_.-), whatever the upstream's own names and the prefix."""

from __future__ import annotations

import mcp_types as types

from hub.config import McpProfileConfig, McpServerConfig
from hub.features.mcp_hub import UpstreamHub
from hub.features.mcp_hub.naming import SPEC_TOOL_NAME, spec_name
from hub.features.mcp_hub.profiles import Profile

OBJ: dict[str, object] = {"type": "object"}


def test_valid_names_stay_and_others_become_valid_stable_and_distinct() -> None:
    assert spec_name("files__read_text_file") == "files__read_text_file"
    long_a, long_b = "s__" + "a" * 140, "s__" + "a" * 139 + "b"
    for name in ("files__read/file", long_a, long_b):
        assert SPEC_TOOL_NAME.fullmatch(spec_name(name)), name
        assert spec_name(name) == spec_name(name)
    assert spec_name(long_a) != spec_name(long_b)  # same first 117 characters


def test_a_profile_lists_valid_names_and_routes_them_to_the_upstream_name() -> None:
    hub = UpstreamHub({"srv": McpServerConfig(name="srv", command="x")})
    long = "t" * 127
    hub.connections["srv"].tools = [
        types.Tool(name="read/file", input_schema=OBJ),
        types.Tool(name=long, input_schema=OBJ),
    ]
    catalogue = Profile(McpProfileConfig("p"), hub, []).catalogue()
    names = [entry.tool.name for entry in catalogue.entries]
    assert all(SPEC_TOOL_NAME.fullmatch(name) for name in names), names
    assert {catalogue.by_name[n].upstream_name for n in names} == {"read/file", long}
