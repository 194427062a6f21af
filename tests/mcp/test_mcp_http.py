"""The hub's MCP server over Streamable HTTP, with the SDK's own client."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.server.streamable_http import EventMessage
from mcp.shared.exceptions import MCPError
from openai import AsyncOpenAI

from hub.api.app import create_app
from hub.api.mcp.replay import RETRY_MS, ReplayStore
from hub.config import HubConfig, load_config
from tests.support.hub_configs import UPSTREAM_SECRET, write_config
from tests.support.hub_mcp import EXPECTED_TOOLS
from tests.support.json_values import Json
from tests.support.mcp_results import data, error_text
from tests.support.servers import serve


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / "src" / "main.py").write_text("print('bonjour')\n# TODO: aiguille\n")
    (root / "notes.txt").write_text("une aiguille dans la botte\n")
    return root


@pytest.fixture
def hub_config(tmp_path: Path, upstream_url: str, workspace: Path) -> HubConfig:
    extra = f'\n[mcp]\nworkspace = "{workspace}"\n'
    path = write_config(tmp_path, upstream_url, extra)
    return load_config(path, {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET})


async def test_list_tools_with_annotations(hub_url: str) -> None:
    async with Client(f"{hub_url}/mcp") as client:
        listed = await client.list_tools()
        names = {tool.name for tool in listed.tools}
        assert names == EXPECTED_TOOLS
        by_name = {tool.name: tool for tool in listed.tools}
        deleting, counting = by_name["session_delete"], by_name["tokens_count"]
        assert deleting.annotations is not None and counting.annotations is not None
        assert deleting.annotations.destructive_hint is True
        assert counting.annotations.read_only_hint is True
        assert by_name["fs_read"].input_schema["additionalProperties"] is False


async def test_session_tools_match_rest(hub_url: str, http: httpx2.AsyncClient) -> None:
    async with Client(f"{hub_url}/mcp") as client:
        created = data(await client.call_tool("session_create", {"name": "Depuis MCP"}))
        rest = (await http.get(f"/api/sessions/{created['id']}")).json()
        assert rest == created
        listed = data(await client.call_tool("sessions_list", {}))
        assert listed == (await http.get("/api/sessions")).json()
        renamed = data(
            await client.call_tool(
                "session_rename", {"session_id": created["id"], "name": "Renommée"}
            )
        )
        assert renamed["name"] == "Renommée"
        assert data(await client.call_tool("session_get", {"session_id": created["id"]})) == renamed
        other = data(await client.call_tool("session_create", {"activate": False}))
        activated = data(await client.call_tool("session_activate", {"session_id": other["id"]}))
        assert activated["active"] is True
        assert data(await client.call_tool("session_delete", {"session_id": other["id"]})) == {
            "deleted": other["id"]
        }
        assert (await http.get(f"/api/sessions/{other['id']}")).status_code == 404


async def test_stats_tools_match_rest(
    hub_url: str, http: httpx2.AsyncClient, openai_client: AsyncOpenAI
) -> None:
    async with Client(f"{hub_url}/mcp") as client:
        await openai_client.chat.completions.create(
            model="fake/echo", messages=[{"role": "user", "content": "bonjour le monde"}]
        )
        stats = data(await client.call_tool("global_stats", {}))
        assert stats == (await http.get("/api/stats")).json()
        session_id = stats["active_session"]["id"]
        per_session = data(await client.call_tool("session_stats", {"session_id": session_id}))
        rest = (await http.get(f"/api/sessions/{session_id}/metrics")).json()
        assert per_session["totals"] == rest["totals"]
        assert per_session["gauge"] == rest["gauge"]
        status = data(await client.call_tool("context_status", {}))
        assert status["gauge"] == rest["gauge"]
        counted = data(await client.call_tool("tokens_count", {"text": "bonjour le monde"}))
        assert counted["tokens"] == 4
        chat = data(
            await client.call_tool(
                "tokens_count", {"messages": [{"role": "user", "content": "bonjour le monde"}]}
            )
        )
        assert chat["tokens"] == rest["requests"][0]["prompt_estimate"]


async def test_compaction_tools(hub_url: str, openai_client: AsyncOpenAI) -> None:
    async with Client(f"{hub_url}/mcp") as client:
        messages: list[Json] = [{"role": "system", "content": "Tu es utile."}]
        for i in range(8):
            messages.append({"role": "user", "content": f"Corrige src/app{i}.py s'il te plaît"})
            dump = "".join(f"ligne {n} du fichier src/app{i}.py : x = {n}\n" for n in range(150))
            messages.append({"role": "assistant", "content": f"Error: échec du test {i}\n{dump}"})
        # over the 1 000-token window even compacted: sent with savings off (else refused)
        await openai_client.chat.completions.create(
            model="fake/echo",
            messages=messages,
            extra_headers={"X-Kimi-Compaction": "off"},
        )
        session = data(await client.call_tool("context_status", {}))["session"]
        session_id = session["id"]
        reported: list[float] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            reported.append(progress)

        preview = data(
            await client.call_tool(
                "compaction_preview", {"session_id": session_id}, progress_callback=on_progress
            )
        )
        assert reported == [0, 1]
        assert preview["tokens_after"] < preview["tokens_before"]
        kept = preview["messages"]
        assert isinstance(kept, list)
        # system prompt and the last user turn onwards are never rewritten
        assert kept[0] == messages[0] and kept[-2:] == messages[-2:]
        applied = data(await client.call_tool("compaction_apply", {"session_id": session_id}))
        assert applied["applied"] is True
        direct = data(await client.call_tool("compress_messages", {"messages": messages}))
        assert direct["messages"] == kept
        fresh = data(await client.call_tool("session_create", {}))
        missing = await client.call_tool("compaction_preview", {"session_id": fresh["id"]})
        assert "Aucune requête" in error_text(missing)


async def test_filesystem_tools(hub_url: str, workspace: Path) -> None:
    async with Client(f"{hub_url}/mcp") as client:
        written = data(await client.call_tool("fs_write", {"path": "src/new.txt", "content": "é"}))
        assert written == {"path": "src/new.txt", "bytes": 2}
        assert (workspace / "src" / "new.txt").read_text() == "é"
        read = data(await client.call_tool("fs_read", {"path": "src/new.txt"}))
        assert read["content"] == "é" and read["truncated"] is False
        listed = data(await client.call_tool("fs_list", {"path": "src"}))
        assert [e["path"] for e in listed["entries"]] == ["src/main.py", "src/new.txt"]
        reported: list[float] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            reported.append(progress)

        tree = data(await client.call_tool("fs_tree", {}, progress_callback=on_progress))
        assert {"src", "notes.txt", "src/main.py"} <= {e["path"] for e in tree["entries"]}
        assert reported, "la progression doit être notifiée"
        found = data(await client.call_tool("fs_search", {"query": "aiguille"}))
        assert {m["path"] for m in found["matches"]} == {"notes.txt", "src/main.py"}
        escape = await client.call_tool("fs_read", {"path": "../../etc/passwd"})
        assert "« .. »" in error_text(escape)
        outside = await client.call_tool("fs_read", {"path": "/etc/passwd"})
        assert "sort de l'espace" in error_text(outside)


async def test_fs_read_cuts_on_a_character_boundary_and_refuses_huge_files(
    hub_url: str, workspace: Path
) -> None:
    # 1 MiB falls inside a two-byte « é »: the read ends before it, it is no « binaire »
    (workspace / "accents.txt").write_text("a" + "é" * 600_000, encoding="utf-8")
    sparse = workspace / "disque.img"
    with sparse.open("wb") as handle:
        handle.truncate(5 * 1024**3)  # 5 GB of holes: no disk used
    (workspace / "nul.bin").write_bytes(b"\0" * 100)
    async with Client(f"{hub_url}/mcp") as client:
        read = data(await client.call_tool("fs_read", {"path": "accents.txt"}))
        assert read["truncated"] is True and read["size"] == 1_200_001
        assert read["content"] == "a" + "é" * 524_287
        huge = await client.call_tool("fs_read", {"path": "disque.img"})
        assert huge.is_error and "Fichier trop grand" in error_text(huge)
        assert "[mcp].max_file_bytes" in error_text(huge)
        binary = await client.call_tool("fs_read", {"path": "nul.bin"})
        assert "Fichier binaire" in error_text(binary)


@pytest.mark.filterwarnings("ignore:ping is removed")
@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("session_get", {}, "manquant"),
        ("session_get", {"session_id": "1"}, "entier"),
        ("session_get", {"session_id": 0}, "compris entre"),
        ("session_get", {"session_id": 999999}, "introuvable"),
        ("session_get", {"session_id": 1, "x": 1}, "inconnu"),
        ("session_create", {"name": "x" * 10_000}, "dépasse"),
        ("session_rename", {"session_id": 1, "name": "   "}, "vide"),
        ("tokens_count", {}, "soit"),
        ("tokens_count", {"messages": "pas une liste"}, "liste"),
        ("fs_read", {"path": "a\x00b"}, "caractère nul"),
        ("fs_search", {"query": ""}, "vide"),
        ("compress_messages", {"messages": {"a": 1}}, "liste"),
    ],
)
async def test_bad_arguments_are_tool_errors(
    hub_url: str, name: str, arguments: dict[str, object], expected: str
) -> None:
    async with Client(f"{hub_url}/mcp", mode="legacy") as client:
        result = await client.call_tool(name, arguments)
        assert expected in error_text(result)
        # The (stateful, handshake-era) session survives a failing tool.
        assert (await client.send_ping()) is not None


async def test_unknown_tool_is_protocol_error(hub_url: str) -> None:
    async with Client(f"{hub_url}/mcp") as client:
        with pytest.raises(MCPError) as info:
            await client.call_tool("outil_inexistant", {})
        assert info.value.code == types.INVALID_PARAMS
        assert data(await client.call_tool("sessions_list", {}))["sessions"] is not None


async def test_session_resources(hub_url: str, http: httpx2.AsyncClient) -> None:
    async with Client(f"{hub_url}/mcp") as client:
        created = (await http.post("/api/sessions", json={"name": "Ressource"})).json()
        listed = await client.list_resources()
        uris = {str(r.uri) for r in listed.resources}
        assert {"kimi://sessions", f"kimi://sessions/{created['id']}"} <= uris
        templates = await client.list_resource_templates()
        assert templates.resource_templates[0].uri_template == "kimi://sessions/{id}"
        read = await client.read_resource(f"kimi://sessions/{created['id']}")
        body = json.loads(read.contents[0].text)  # type: ignore[union-attr]
        assert body["session"] == created
        listing = await client.read_resource("kimi://sessions")
        assert json.loads(listing.contents[0].text)["sessions"]  # type: ignore[union-attr]
        for bad in (
            "kimi://sessions/abc",
            "kimi://sessions/999999",
            "kimi://sessions/²",
            "kimi://sessions/١٢",
            "kimi://sessions/0",
            "file:///etc/passwd",
        ):
            with pytest.raises(MCPError):
                await client.read_resource(bad)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_protocol_versions(hub_url: str, mode: str) -> None:
    async with Client(f"{hub_url}/mcp", mode=mode) as mcp_client:
        expected = "2025-11-25" if mode == "legacy" else "2026-07-28"
        assert mcp_client.protocol_version == expected
        assert data(await mcp_client.call_tool("tokens_count", {"text": "a"}))["tokens"] == 1


@pytest.mark.parametrize("version", ["2025-06-18", "2025-11-25"])
async def test_initialize_negotiates_older_versions(
    asgi_http: httpx2.AsyncClient, version: str
) -> None:
    body = {
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": version, "capabilities": {},
                   "clientInfo": {"name": "test", "version": "1"}},
    }  # fmt: skip
    headers = {"accept": "application/json, text/event-stream"}
    response = await asgi_http.post("/mcp", json=body, headers=headers)
    assert response.status_code == 200
    lines = response.text.splitlines()  # after the priming event (an id, empty data)
    event = next(line for line in lines if line.startswith("data:") and line[5:].strip())
    assert json.loads(event[5:])["result"]["protocolVersion"] == version


async def test_missing_workspace_disables_file_tools(tmp_path: Path, upstream_url: str) -> None:
    extra = f'\n[mcp]\nworkspace = "{tmp_path / "absent"}"\n'
    config = load_config(write_config(tmp_path, upstream_url, extra), {"FAKE_UPSTREAM_KEY": "k"})
    async with serve(create_app(config)) as url, Client(f"{url}/mcp") as mcp_client:
        result = await mcp_client.call_tool("fs_list", {})
        assert "Aucun espace de travail" in error_text(result)


async def test_tree_progress_from_worker_thread(hub_url: str, workspace: Path) -> None:
    big = workspace / "big"
    big.mkdir()
    for i in range(450):
        (big / f"f{i:03}.txt").write_text("x")
    reported: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reported.append(progress)

    async with Client(f"{hub_url}/mcp") as client:
        tree = data(
            await client.call_tool("fs_tree", {"path": "big"}, progress_callback=on_progress)
        )
        assert len(tree["entries"]) == 450
        capped = data(await client.call_tool("fs_tree", {"path": "big", "max_entries": 10}))
        assert capped["truncated"] is True
    assert reported[:2] == [200, 400] and reported[-1] == 450


async def test_sse_streams_are_primed_and_say_when_to_retry(asgi_http: httpx2.AsyncClient) -> None:
    """server-sse-polling: each SSE answer opens with an event id and no data (a client
    that loses the stream resumes with Last-Event-ID) and sends the ``retry`` field."""
    body = {
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "test", "version": "1"}},
    }  # fmt: skip
    headers = {"accept": "application/json, text/event-stream"}
    response = await asgi_http.post("/mcp", json=body, headers=headers)
    first_event = response.text.replace("\r\n", "\n").split("\n\n")[0].splitlines()
    assert first_event[0].startswith("id: ") and first_event[1:] == ["data: ", f"retry: {RETRY_MS}"]


async def test_the_replay_store_replays_one_stream_and_forgets_the_oldest() -> None:
    store = ReplayStore(limit=3)
    message = types.JSONRPCNotification(jsonrpc="2.0", method="notifications/message")
    first = await store.store_event("a", None)  # the priming event
    await store.store_event("b", message)
    await store.store_event("a", message)
    replayed: list[str | None] = []

    async def send(event: EventMessage) -> None:
        replayed.append(event.event_id)

    assert await store.replay_events_after(first, send) == "a"
    assert replayed == ["3"]  # stream a's event after the priming one, not stream b's
    await store.store_event("a", message)  # the limit drops the oldest: the priming event
    assert await store.replay_events_after(first, send) is None
