"""A virtual key over ``/mcp`` sees and changes only its own sessions; rows are a ledger.

Issue #24: a key refused on ``/api/sessions`` listed every key's sessions over ``/mcp``,
read ``global_stats`` and deleted another key's session — with its request rows, so a
key at 429 that deleted its own session was served again after a restart.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
import openai
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from openai import AsyncOpenAI

from hub.api.app import create_app
from hub.config import HubConfig, load_config
from tests.support.chats import HELLO
from tests.support.hub_configs import UPSTREAM_SECRET, with_admin_key, write_config
from tests.support.mcp_results import data, error_text
from tests.support.servers import serve

ADMIN = "admin-sessions"
PRICED = """
[models.priced]
provider = "fake"
model = "echo"
output_price = 1000.0
max_output = 9
"""


@pytest.fixture
def config(tmp_path: Path, upstream_url: str) -> HubConfig:
    path = with_admin_key(write_config(tmp_path, upstream_url, PRICED), ADMIN)
    return load_config(path, {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET})


@pytest.fixture
async def hub(config: HubConfig) -> AsyncIterator[httpx2.AsyncClient]:
    async with serve(create_app(config)) as url:
        headers = {"authorization": f"Bearer {ADMIN}"}
        async with httpx2.AsyncClient(base_url=url, headers=headers, timeout=10) as admin:
            yield admin


@asynccontextmanager
async def _mcp(url: str, token: str) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers={"authorization": f"Bearer {token}"}, timeout=10) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
    ):
        yield client


async def _key(admin: httpx2.AsyncClient, name: str, **limits: object) -> tuple[str, str]:
    created = (await admin.post("/api/keys", json={"name": name, **limits})).json()
    return str(created["secret"]), str(created["id"])


async def _chat(url: str, secret: str, session: int | None = None) -> int:
    """One request; the session that recorded it."""
    headers = {} if session is None else {"x-kimi-session": str(session)}
    async with AsyncOpenAI(base_url=url, api_key=secret, max_retries=0) as client:
        raw = await client.chat.completions.with_raw_response.create(
            model="priced", messages=HELLO, extra_headers=headers
        )
    return int(raw.headers["x-kimi-session"])


async def test_a_key_sees_and_changes_only_its_own_sessions(hub: httpx2.AsyncClient) -> None:
    url = str(hub.base_url)
    alice, alice_id = await _key(hub, "Alice")
    bob, _ = await _key(hub, "Bob")
    mine, theirs = await _chat(url, alice), await _chat(url, bob)
    dashboard = (await hub.post("/api/sessions", json={"name": "Tableau de bord"})).json()
    async with _mcp(url, alice) as client:
        listed = data(await client.call_tool("sessions_list", {}))["sessions"]
        assert isinstance(listed, list) and [s["id"] for s in listed] == [mine]
        for other in (theirs, dashboard["id"]):
            for tool, extra in (
                ("session_get", {}),
                ("session_stats", {}),
                ("context_status", {}),
                ("session_rename", {"name": "volée"}),
                ("session_activate", {}),
                ("session_delete", {}),
                ("compaction_preview", {}),
            ):
                refused = await client.call_tool(tool, {"session_id": other, **extra})
                assert error_text(refused) == f"Session {other} introuvable.", tool
        assert "clé d'administration" in error_text(await client.call_tool("global_stats", {}))
        own = data(await client.call_tool("context_status", {}))  # its own, not the active
        assert own["session"]["id"] == mine
        resources = [r.uri for r in (await client.list_resources()).resources]
        assert f"kimi://sessions/{mine}" in resources
        assert f"kimi://sessions/{theirs}" not in resources
        with pytest.raises(MCPError):
            await client.read_resource(f"kimi://sessions/{theirs}")
    sessions = (await hub.get("/api/sessions")).json()["sessions"]
    assert {s["id"] for s in sessions} == {mine, theirs, dashboard["id"]}  # nothing deleted
    assert next(s for s in sessions if s["id"] == theirs)["name"] != "volée"
    assert [s["key_id"] for s in sessions if s["id"] == mine] == [alice_id]


async def test_a_key_creates_and_activates_for_itself(hub: httpx2.AsyncClient) -> None:
    url = str(hub.base_url)
    alice, alice_id = await _key(hub, "Alice")
    dashboard = (await hub.post("/api/sessions", json={"name": "Tableau de bord"})).json()
    async with _mcp(url, alice) as client:
        created = data(await client.call_tool("session_create", {"name": "Ma branche"}))
        assert created["key_id"] == alice_id and created["active"] is False
        assert await _chat(url, alice) == created["id"]  # where its requests now go
        other = data(await client.call_tool("session_create", {"activate": False}))
        assert await _chat(url, alice) == created["id"]
        data(await client.call_tool("session_activate", {"session_id": other["id"]}))
        assert await _chat(url, alice) == other["id"]
    active = [s for s in (await hub.get("/api/sessions")).json()["sessions"] if s["active"]]
    assert [s["id"] for s in active] == [dashboard["id"]]  # the dashboard's choice stays


async def test_a_key_cannot_record_into_another_session(hub: httpx2.AsyncClient) -> None:
    url = str(hub.base_url)
    alice, _ = await _key(hub, "Alice")
    bob, _ = await _key(hub, "Bob")
    theirs = await _chat(url, bob)
    with pytest.raises(openai.NotFoundError) as refused:
        await _chat(url, alice, session=theirs)
    assert refused.value.code == "session_not_found"
    assert await _chat(url, bob, session=theirs) == theirs
    admin_session = await _chat(url, ADMIN, session=theirs)  # the admin may
    assert admin_session == theirs


async def test_the_admin_key_keeps_every_power(hub: httpx2.AsyncClient) -> None:
    url = str(hub.base_url)
    alice, _ = await _key(hub, "Alice")
    hers = await _chat(url, alice)
    async with _mcp(url, ADMIN) as client:
        listed = data(await client.call_tool("sessions_list", {}))["sessions"]
        assert hers in [s["id"] for s in listed]
        assert data(await client.call_tool("global_stats", {}))["totals"]
        data(await client.call_tool("session_delete", {"session_id": hers}))


async def test_deleting_a_session_keeps_its_rows_and_the_budget_spent(
    config: HubConfig,
) -> None:
    """The ledger: a key at 429 that deletes its own session stays at 429, restart or not."""
    async with serve(create_app(config)) as url:
        headers = {"authorization": f"Bearer {ADMIN}"}
        async with httpx2.AsyncClient(base_url=url, headers=headers, timeout=10) as admin:
            secret, key_id = await _key(admin, "Petit", budget=0.018)  # two answers
            session = await _chat(url, secret)
            await _chat(url, secret)
            with pytest.raises(openai.RateLimitError):
                await _chat(url, secret)
            async with _mcp(url, secret) as client:
                assert data(await client.call_tool("session_delete", {"session_id": session}))
                assert data(await client.call_tool("sessions_list", {}))["sessions"] == []
            rows = (await admin.get("/api/export/json", params={"key": key_id})).json()
            assert [r["session_id"] for r in rows["requests"]] == [session, session]
            assert rows["totals"]["cost"] == 0.018
            analytics = (await admin.get("/api/analytics")).json()
            assert analytics["totals"]["requests"] == 2
            assert (await admin.get(f"/api/sessions/{session}")).status_code == 404
    async with serve(create_app(config)) as url:  # spend read back from the rows
        with pytest.raises(openai.RateLimitError):
            await _chat(url, secret)
