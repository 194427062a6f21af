"""One decision point for every MCP tool call: server, profile and key rules on every door.

Real clients (``mcp.Client`` over Streamable HTTP and stdio, FastMCP's) against real upstreams:
server-everything (``get-env`` denied: it returns the child's whole environment) and the
hostile test server with every tool denied. Each refusal is checked on the wire and in
the audit (``GET /api/audit``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2
import mcp_types as types
import pytest
from fastmcp import Client as FastClient
from fastmcp.client.transports import StreamableHttpTransport
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from hub.api.app import create_app
from hub.config import load_config
from hub.core.storage.audit import AuditFilter, AuditStore
from hub.core.storage.store import Store
from tests.support.hub_configs import UPSTREAM_SECRET, write_config
from tests.support.hub_mcp import stdio_params, wait_ready
from tests.support.mcp_upstreams import EVERYTHING_JS, PYTHON, TESTS, needs_node
from tests.support.servers import serve

pytestmark = [
    needs_node,
    pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
]
ADMIN = "admin-gate-key"
HOSTILE = TESTS / "mcp_hostile_server.py"
UPSTREAMS = f"""
[mcp.servers.everything]
command = "node"
args = [{json.dumps(str(EVERYTHING_JS))}, "stdio"]
tools.deny = ["get-env"]

[mcp.servers.empty]
command = {json.dumps(PYTHON)}
args = [{json.dumps(str(HOSTILE))}]
tools.allow = ["nothing-matches"]

[mcp.profiles.agent]
discovery = "search"
pinned = ["everything__echo"]

[mcp.profiles.narrow]
tools.deny = ["everything__get-sum"]
"""


@dataclass
class Gate:
    url: str
    admin: httpx2.AsyncClient

    async def key(self, **fields: object) -> tuple[str, str]:
        response = await self.admin.post("/api/keys", json={"name": "outils", **fields})
        assert response.status_code == 201, response.text
        body = response.json()
        return body["secret"], body["id"]

    @asynccontextmanager
    async def client(self, path: str, token: str = ADMIN) -> AsyncIterator[Client]:
        headers = {"authorization": f"Bearer {token}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http,
            Client(streamable_http_client(f"{self.url}{path}", http_client=http)) as client,
        ):
            yield client

    async def audit(self, **filters: str) -> list[dict[str, object]]:
        response = await self.admin.get("/api/audit", params={"limit": "200", **filters})
        assert response.status_code == 200, response.text
        entries: list[dict[str, object]] = response.json()["entries"]
        return entries


@pytest.fixture
async def gate(tmp_path: Path, upstream_url: str) -> AsyncIterator[Gate]:
    path = write_config(tmp_path, upstream_url, UPSTREAMS)
    path.write_text(path.read_text().replace("[server]\n", f'[server]\napi_key = "{ADMIN}"\n'))
    config = load_config(path, {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET})
    async with serve(create_app(config)) as url:
        headers = {"authorization": f"Bearer {ADMIN}"}
        async with httpx2.AsyncClient(base_url=url, headers=headers, timeout=30) as admin:
            await wait_ready(admin, "everything", "empty")
            yield Gate(url, admin)


async def names(client: Client) -> list[str]:
    return [tool.name for tool in (await client.list_tools()).tools]


async def refused(client: Client, name: str, arguments: dict[str, object] | None = None) -> str:
    with pytest.raises(MCPError) as caught:
        await client.call_tool(name, arguments or {})
    assert caught.value.error.code == types.INVALID_PARAMS
    message = caught.value.error.message
    assert "inconnu ou non autorisé" in message  # French, and the same for both cases
    return message


async def test_a_denied_tool_is_refused_on_every_door(gate: Gate) -> None:
    async with gate.client("/servers/everything/mcp") as client:
        assert "get-env" not in await names(client) and "echo" in await names(client)
        await refused(client, "get-env")  # it used to run here and return the environment
        await refused(client, "no-such-tool")
    async with gate.client("/mcp") as client:
        assert "everything__get-env" not in await names(client)
        await refused(client, "everything__get-env")
    async with gate.client("/profiles/agent/mcp") as client:
        with pytest.raises(MCPError):
            await client.call_tool("tool_call", {"name": "everything__get-env"})
        found = await client.call_tool("tool_search", {"query": "environment variables env"})
        assert "get-env" not in json.dumps(found.structured_content)
    async with gate.client("/profiles/narrow/mcp") as client:
        assert "everything__get-sum" not in await names(client)
        await refused(client, "everything__get-sum", {"a": 1, "b": 2})
        assert "everything__echo" in await names(client)
    rows = await gate.audit(decision="denied")
    seen = {(r["endpoint"], r["tool"], r["via"]) for r in rows}
    assert ("/servers/everything/mcp", "get-env", None) in seen
    assert ("/mcp", "get-env", None) in seen
    assert ("/profiles/agent/mcp", "get-env", "tool_call") in seen
    assert ("/profiles/narrow/mcp", "get-sum", None) in seen
    reasons = {r["reason"] for r in rows if r["tool"] == "get-env"}
    assert reasons == {"refusé par [mcp.servers.everything].tools"}
    assert all(r["caller"] == "admin" and r["server"] == "everything" for r in rows)
    assert (await gate.audit(decision="unknown", tool="no-such-tool"))[0]["is_error"] is True


async def test_a_server_whose_every_tool_is_denied_forwards_nothing(gate: Gate) -> None:
    async with gate.client("/servers/empty/mcp") as client:
        assert await names(client) == []
        for name in ("echo", "big", "grandchild"):  # they exist upstream, all denied
            await refused(client, name)
    async with gate.client("/mcp") as client:
        assert not [n for n in await names(client) if n.startswith("empty__")]
        await refused(client, "empty__echo", {"text": "x"})
    rows = await gate.audit(server="empty")
    assert len(rows) == 4 and {r["decision"] for r in rows} == {"denied"}
    status = (await gate.admin.get("/api/mcp/servers")).json()["servers"]
    assert next(s for s in status if s["name"] == "empty")["calls"] == 0  # never forwarded


async def test_key_patterns_hold_on_every_door(gate: Gate) -> None:
    secret, key_id = await gate.key(tools=["everything__echo", "tokens_*"])
    async with gate.client("/servers/everything/mcp", secret) as client:
        assert await names(client) == ["echo"]
        echoed = await client.call_tool("echo", {"message": "par la porte du serveur"})
        assert not echoed.is_error
        await refused(client, "get-sum", {"a": 1, "b": 2})
    async with gate.client("/mcp", secret) as client:
        assert sorted(await names(client)) == ["everything__echo", "tokens_count"]
        await refused(client, "sessions_list")
        assert not (await client.call_tool("tokens_count", {"text": "abc"})).is_error
    async with gate.client("/profiles/agent/mcp", secret) as client:
        assert sorted(await names(client)) == [
            "everything__echo",
            "tool_call",
            "tool_describe",
            "tool_search",
        ]
        found = await client.call_tool("tool_search", {"query": "sum two numbers", "limit": 50})
        listed = json.dumps(found.structured_content)
        assert "get-sum" not in listed and "sessions_list" not in listed
        described = await client.call_tool("tool_describe", {"name": "everything__get-sum"})
        assert described.is_error
        with pytest.raises(MCPError):
            await client.call_tool("tool_call", {"name": "everything__get-sum"})
        inner = {"name": "everything__echo", "arguments": {"message": "via tool_call"}}
        assert not (await client.call_tool("tool_call", inner)).is_error
    rows = await gate.audit(key=key_id)
    assert rows and all(r["caller"] == "key" and r["key_id"] == key_id for r in rows)
    allowed = {(r["endpoint"], r["tool"]) for r in rows if r["decision"] == "allowed"}
    assert ("/mcp", "tokens_count") in allowed  # the hub's own tools go through the gate too
    assert ("/profiles/agent/mcp", "echo") in allowed
    assert ("/profiles/agent/mcp", "tool_search") in allowed
    denied = {(r["endpoint"], r["tool"]) for r in rows if r["decision"] == "denied"}
    assert denied == {
        ("/servers/everything/mcp", "get-sum"),
        ("/mcp", "sessions_list"),
        ("/profiles/agent/mcp", "get-sum"),
    }


async def test_a_key_can_deny_tools_by_default(gate: Gate) -> None:
    closed, closed_id = await gate.key(tools_default="deny")
    for path in ("/mcp", "/servers/everything/mcp", "/profiles/narrow/mcp"):
        async with gate.client(path, closed) as client:
            assert await names(client) == []
            await refused(client, "tokens_count" if path != "/servers/everything/mcp" else "echo")
    one, _ = await gate.key(tools_default="deny", tools=["tokens_count"])
    async with gate.client("/mcp", one) as client:
        assert await names(client) == ["tokens_count"]
    listed = (await gate.admin.get(f"/api/keys/{closed_id}")).json()
    assert listed["tools_default"] == "deny" and listed["tools"] == []
    bad = await gate.admin.post("/api/keys", json={"name": "x", "tools_default": "parfois"})
    assert bad.status_code == 400 and "tools_default" in bad.json()["error"]["message"]


async def test_audit_api_filters_pages_and_exports(gate: Gate) -> None:
    secret, key_id = await gate.key(tools=["everything__echo"])
    async with gate.client("/mcp", secret) as client:
        for i in range(5):
            await client.call_tool("everything__echo", {"message": f"n° {i}"})
        await refused(client, "everything__get-sum")
    first = (await gate.admin.get("/api/audit", params={"key": key_id, "limit": "4"})).json()
    assert len(first["entries"]) == 4 and first["next_before"] is not None
    ids = [e["id"] for e in first["entries"]]
    assert ids == sorted(ids, reverse=True)  # newest first
    rest = await gate.admin.get(
        "/api/audit", params={"key": key_id, "before": str(first["next_before"])}
    )
    page = rest.json()
    assert len(page["entries"]) == 2 and page["next_before"] is None
    assert first["entries"][0]["decision"] == "denied"
    echo = first["entries"][1]
    assert echo["tool"] == "echo" and echo["server"] == "everything"
    assert echo["duration_ms"] > 0 and echo["result_chars"] == len("Echo: n° 4")
    assert len(await gate.audit(key=key_id, decision="refused")) == 1
    assert len(await gate.audit(key=key_id, caller="key", tool="echo")) == 5
    assert await gate.audit(key=key_id, **{"from": "2100-01-01"}) == []
    for bad in ({"caller": "root"}, {"decision": "peut-être"}, {"flagged": "oui"}):
        response = await gate.admin.get("/api/audit", params=bad)
        assert response.status_code == 400 and "invalide" in response.json()["error"]["message"]
    async with httpx2.AsyncClient(base_url=gate.url) as anyone:
        forbidden = await anyone.get("/api/audit", headers={"authorization": f"Bearer {secret}"})
    assert forbidden.status_code == 403
    exported = await gate.admin.get("/api/export/audit/json", params={"key": key_id})
    assert exported.json()["count"] == 6
    assert exported.json()["audit"][0]["tool"] == "echo"  # oldest first
    text = (await gate.admin.get("/api/export/audit/csv", params={"key": key_id})).text
    lines = text.strip().splitlines()
    assert lines[0].startswith("id,created_at,caller") and len(lines) == 7


async def test_stdio_is_a_door_like_the_others(tmp_path: Path, upstream_url: str) -> None:
    """kimi-proxy mcp: the same refusal for a denied tool; the caller is ``stdio``."""
    extra = "\n[mcp]\nstdio_wait = 20\n" + UPSTREAMS
    config = load_config(write_config(tmp_path, upstream_url, extra), {"FAKE_UPSTREAM_KEY": "k"})
    async with Client(stdio_params(config)) as client:
        assert "everything__get-env" not in await names(client)
        await refused(client, "everything__get-env")
        echoed = await client.call_tool("everything__echo", {"message": "stdio"})
        assert not echoed.is_error
    async with await Store.open(config.database_path) as store:
        rows = await AuditStore(store).search(AuditFilter(caller="stdio"), limit=10)
    assert [(r.endpoint, r.tool, r.decision) for r in rows] == [
        ("stdio", "echo", "allowed"),
        ("stdio", "get-env", "denied"),
    ]


async def test_fastmcp_meets_the_same_gate(gate: Gate) -> None:
    """FastMCP's client, as its users run it: the denied tool is refused on the
    server's own door too, in French, and the key sees only its own sessions."""
    secret, key_id = await gate.key()
    headers = {"authorization": f"Bearer {secret}"}
    transport = StreamableHttpTransport(f"{gate.url}/servers/everything/mcp", headers=headers)
    async with FastClient(transport) as client:
        listed = {tool.name for tool in await client.list_tools()}
        assert "echo" in listed and "get-env" not in listed
        with pytest.raises(Exception, match="inconnu ou non autorisé"):
            await client.call_tool("get-env", {})
        echoed = await client.call_tool("echo", {"message": "bonjour"})
        assert echoed.content[0].text == "Echo: bonjour"
    transport = StreamableHttpTransport(f"{gate.url}/mcp", headers=headers)
    async with FastClient(transport) as client:
        mine = await client.call_tool("sessions_list", {})
        assert isinstance(mine.structured_content, dict)
        assert all(s.get("key_id") == key_id for s in mine.structured_content["sessions"])
        with pytest.raises(Exception, match="admin"):
            await client.call_tool("global_stats", {})
    rows = await gate.audit(decision="denied", tool="get-env")
    assert any(r["caller"] != "admin" and r["key_id"] == key_id for r in rows)
