"""Savings end to end: what reaches the fake upstream, the cache, the fallback, the routes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
import mcp_types as types
from mcp import Client
from openai import AsyncOpenAI
from starlette.applications import Starlette

from hub.api.app import create_app
from hub.config import load_config
from hub.features.savings.wording import ENGLISH
from tests.support.asgi import in_process
from tests.support.chats import history, mask_reference
from tests.support.fake_upstream import SUMMARY, FakeUpstream
from tests.support.hub_configs import SAVINGS, UPSTREAM_SECRET, write_config
from tests.support.json_values import Json
from tests.support.servers import serve


@asynccontextmanager
async def hub(
    tmp_path: Path,
    upstream_url: str,
    *,
    masking: bool = True,
    compaction: bool = True,
    summariser: str | None = None,
    summarise: bool = True,
    socket: bool = False,
) -> AsyncIterator[tuple[httpx2.AsyncClient, Starlette]]:
    """The hub with these savings settings, in-process (on a socket for a real MCP client)."""
    line = f'summariser_model = "{summariser}"' if summariser else ""
    flags = {
        "masking": str(masking).lower(),
        "compaction": str(compaction).lower(),
        "summarise": str(summarise).lower(),
    }
    extra = SAVINGS.format(summariser=line, **flags)
    config = load_config(
        write_config(tmp_path, upstream_url, extra), {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET}
    )
    app = create_app(config)
    if socket:
        async with serve(app) as url, httpx2.AsyncClient(base_url=url, timeout=10) as client:
            yield client, app
        return
    async with in_process(app) as running, running.http() as client:
        yield client, app


def chats(fake: FakeUpstream) -> list[Json]:
    return [body for body in fake.received if body["model"] == "echo"]


def summaries(fake: FakeUpstream) -> list[Json]:
    return [body for body in fake.received if body["model"] == "summarise"]


async def test_masked_request_reaches_upstream_and_original_comes_back(
    tmp_path: Path, upstream_url: str, fake_upstream: FakeUpstream
) -> None:
    async with hub(tmp_path, upstream_url, summarise=False, socket=True) as (http, _):
        sent = history(2)
        async with AsyncOpenAI(base_url=str(http.base_url), api_key="k", max_retries=0) as sdk:
            await sdk.chat.completions.create(model="fake/wide", messages=sent)
        forwarded = chats(fake_upstream)[-1]["messages"]
        assert [m["role"] for m in forwarded] == [m["role"] for m in sent]
        assert forwarded[-1] == sent[-1] and forwarded[0] == sent[0]
        assert [m.get("tool_call_id") for m in forwarded] == [m.get("tool_call_id") for m in sent]
        assert forwarded[2]["tool_calls"] == sent[2]["tool_calls"]
        for index in (3, 7):
            content = forwarded[index]["content"]
            assert "Content masked" in content and "KeyError: 'invoice_id'" in content
            digest = mask_reference(content).group(1)
            original = await http.get(f"/api/mask/{digest}")
            assert original.status_code == 200
            assert original.content == sent[index]["content"].encode("utf-8")
        async with Client(f"{http.base_url}/mcp") as mcp:  # the same original over MCP
            reference = mask_reference(forwarded[3]["content"]).group(0)
            fetched = await mcp.call_tool("mask_get", {"hash": reference})
            assert fetched.structured_content is not None
            assert fetched.structured_content["content"] == sent[3]["content"]
            missing = await mcp.call_tool("mask_get", {"hash": "mask:" + "0" * 32})
            assert missing.is_error and isinstance(missing.content[0], types.TextContent)
            assert "introuvable" in missing.content[0].text
            # a giant original is read page by page: a line range, or characters
            lines = sent[3]["content"].splitlines(keepends=True)
            page = await mcp.call_tool("mask_get", {"hash": reference, "lines": "2-4"})
            assert page.structured_content is not None
            assert page.structured_content["content"] == "".join(lines[1:4])
            assert page.structured_content["total_lines"] == len(lines)
            assert page.structured_content["lines"] == "2-4"
            chars = await mcp.call_tool("mask_get", {"hash": reference, "offset": 5, "length": 9})
            assert chars.structured_content is not None
            assert chars.structured_content["content"] == sent[3]["content"][5:14]
            bad = await mcp.call_tool("mask_get", {"hash": reference, "lines": "4-2"})
            assert bad.is_error and isinstance(bad.content[0], types.TextContent)
            assert "Plage de lignes invalide" in bad.content[0].text
        digest = mask_reference(forwarded[3]["content"]).group(1)
        page_http = await http.get(f"/api/mask/{digest}", params={"lines": "120-"})
        assert page_http.text == "".join(lines[119:])
        assert page_http.headers["x-kimi-mask-lines"] == str(len(lines))
        assert (await http.get(f"/api/mask/{digest}", params={"offset": "x"})).status_code == 400
        stats = (await http.get("/api/stats")).json()
        saved = stats["totals"]["tokens_saved"]
        assert saved > 500 and stats["savings"]["masking"] == {"events": 1, "tokens_saved": saved}
        metrics = (await http.get("/api/sessions/1/metrics")).json()
        assert metrics["requests"][0]["tokens_saved"] == saved
        assert metrics["savings"]["masking"]["tokens_saved"] == saved


async def compaction_of(http: httpx2.AsyncClient, app: Starlette, messages: list[Json]) -> Json:
    """Send ``messages`` to the 600-token model; the compaction event it caused."""
    async with app.state.hub.bus.subscribe() as events:
        body = {"model": "fake/window", "messages": messages}
        assert (await http.post("/chat/completions", json=body)).status_code == 200
        event = await events.get()
        while event["type"] != "compaction":
            event = await events.get()
    return event


async def test_compaction_summary_then_cache_hit_on_next_turn(
    tmp_path: Path, upstream_url: str, fake_upstream: FakeUpstream
) -> None:
    async with hub(tmp_path, upstream_url, masking=False, summariser="fake/summarise") as (
        http,
        app,
    ):
        first = history(3, tool_text="ligne de journal\n" * 40)
        event = await compaction_of(http, app, first)
        assert event["cache_hit"] is False and event["summariser"] == "llm:fake/summarise"
        assert event["tokens_after"] < event["tokens_before"]
        calls = len(summaries(fake_upstream))
        # one call per batch of rounds (1 here); the search for the level may try one more
        assert calls >= event["rounds"] > 0
        forwarded = chats(fake_upstream)[-1]["messages"]
        assert forwarded[:2] == first[:2]  # system prompt and task, byte for byte
        assert forwarded[2]["role"] == "assistant" and SUMMARY in forwarded[2]["content"]
        assert forwarded[2]["content"].startswith(ENGLISH.summary_marker)
        assert forwarded[-1] == first[-1]

        second = [
            *first,
            {"role": "assistant", "content": "D'accord."},
            {"role": "user", "content": "Ajoute un test."},
        ]
        later = await compaction_of(http, app, second)
        # earlier segments are reused: only rounds not summarised before cost a call
        assert len(summaries(fake_upstream)) - calls <= later["rounds"] - event["rounds"] + 1
        assert len(summaries(fake_upstream)) - calls < later["rounds"]
        again = chats(fake_upstream)[-1]["messages"]
        assert again[:2] == forwarded[:2] and again[-1] == second[-1]
        assert again[2]["content"].startswith(forwarded[2]["content"])  # appended: cacheable
        overview = (await http.get("/api/savings?session=1")).json()
        assert [e["kind"] for e in overview["events"]] == ["compaction", "compaction"]
        assert overview["compaction"]["events"] == 2 and overview["tokens_saved"] > 0


async def test_failing_summariser_falls_back_to_extractive(
    tmp_path: Path, upstream_url: str, fake_upstream: FakeUpstream
) -> None:
    async with hub(tmp_path, upstream_url, masking=False, summariser="fake/bad") as (http, _):
        sent = history(3, tool_text="ligne de journal\nValueError: total négatif\n" * 20)
        reply = await http.post(
            "/chat/completions", json={"model": "fake/window", "messages": sent}
        )
        assert reply.status_code == 200
        forwarded = chats(fake_upstream)[-1]["messages"]
        summary = forwarded[2]["content"]
        assert summary.startswith(ENGLISH.summary_marker) and "ValueError: total négatif" in summary
        assert "Demande 1 : regarde les journaux du worker." in summary
        digest = mask_reference(summary).group(1)  # the summarised tool answer stays retrievable
        original = await http.get(f"/api/mask/{digest}")
        assert original.status_code == 200 and original.text in [m["content"] for m in sent]
        events = (await http.get("/api/savings")).json()["events"]
        detail = events[0]["detail"]
        assert detail["fallback"] is True and detail["summariser"] == "extractif"
        assert "400" in detail["reason"]


async def test_switches_header_session_and_unknown_window(
    tmp_path: Path, upstream_url: str, fake_upstream: FakeUpstream
) -> None:
    async with hub(tmp_path, upstream_url) as (http, _):
        sent = history(3)
        body = {"model": "fake/window", "messages": sent}
        off = await http.post("/chat/completions", json=body, headers={"X-Kimi-Compaction": "off"})
        assert off.status_code == 200 and chats(fake_upstream)[-1]["messages"] == sent
        bad = await http.post(
            "/chat/completions",
            json=body,
            headers={b"X-Kimi-Compaction": "peut-être".encode("latin-1")},
        )
        assert bad.status_code == 400
        assert bad.json()["error"]["code"] == "invalid_compaction_header"
        assert len(chats(fake_upstream)) == 1
        patched = await http.patch("/api/sessions/1", json={"compaction": False})
        assert patched.status_code == 200
        await http.post("/chat/completions", json=body)
        assert chats(fake_upstream)[-1]["messages"] == sent
        # a model without max_context, streamed: masking only, never a summary
        session = (await http.post("/api/sessions", json={})).json()["id"]
        streamed = await http.post(
            "/chat/completions",
            headers={"X-Kimi-Session": str(session)},
            json={"model": "fake/unlisted", "messages": sent, "stream": True},
        )
        assert streamed.status_code == 200 and "[DONE]" in streamed.text
        forwarded = fake_upstream.received[-1]["messages"]
        assert len(forwarded) == len(sent) and "Content masked" in forwarded[3]["content"]
        assert not any(ENGLISH.summary_marker in str(m["content"]) for m in forwarded)


async def test_preview_then_apply_is_reused_by_next_turn(
    tmp_path: Path, upstream_url: str, fake_upstream: FakeUpstream
) -> None:
    async with hub(tmp_path, upstream_url, masking=False, summarise=False) as (http, _):
        sent = history(3, tool_text="ligne de journal\n" * 40)
        await http.post("/chat/completions", json={"model": "fake/wide", "messages": sent})
        assert chats(fake_upstream)[-1]["messages"] == sent  # far below the threshold
        preview = await http.post("/api/sessions/1/compaction/preview")
        assert preview.status_code == 200
        data = preview.json()
        assert data["applied"] is False and data["tokens_after"] < data["tokens_before"]
        assert data["messages"][2]["content"].startswith(ENGLISH.summary_marker)
        assert data["messages"][-1] == sent[-1]
        assert (await http.get("/api/savings")).json()["events"] == []
        applied = await http.post(
            "/api/sessions/1/compaction/apply", json={"keep_recent_exchanges": 1}
        )
        assert applied.status_code == 200 and applied.json()["applied"] is True
        following = [
            *sent,
            {"role": "assistant", "content": "Fait."},
            {"role": "user", "content": "Merci, continue."},
        ]
        await http.post("/chat/completions", json={"model": "fake/wide", "messages": following})
        forwarded = chats(fake_upstream)[-1]["messages"]
        assert forwarded[:-3] == applied.json()["messages"][:-1]
        assert forwarded[-3:] == following[-3:]


JSON_TYPE = {"content-type": "application/json"}  # any other type is a 415 before parsing


async def test_bad_input_on_savings_routes(tmp_path: Path, upstream_url: str) -> None:
    async with hub(tmp_path, upstream_url) as (http, _):
        unknown = await http.get("/api/mask/" + "0123456789abcdef" * 2)
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "mask_not_found"
        for bad in ("xyz", "g" * 32, "0" * 33, "0" * 31, "%2e%2e%2fetc%2fpasswd"):
            response = await http.get(f"/api/mask/{bad}")
            assert response.status_code in (400, 404)
            assert "error" in response.json()
        assert (await http.get("/api/mask/" + "g" * 32)).json()["error"]["code"] == (
            "invalid_mask_hash"
        )
        missing = await http.post("/api/sessions/999/compaction/preview")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "session_not_found"
        assert (await http.post("/api/sessions/abc/compaction/apply")).status_code == 400
        session = (await http.post("/api/sessions", json={})).json()["id"]
        url = f"/api/sessions/{session}/compaction/apply"
        empty = await http.post(url)
        assert empty.status_code == 404 and empty.json()["error"]["code"] == "no_messages"
        for raw in (
            b"{pas du json",
            b"[]",
            json.dumps({"keep_recent_exchanges": "x"}).encode(),
            json.dumps({"keep_recent_exchanges": 0}).encode(),
            json.dumps({"keep_recent_exchanges": True}).encode(),
            json.dumps({"inconnu": 1}).encode(),
        ):
            response = await http.post(url, content=raw, headers=JSON_TYPE)
            assert response.status_code == 400, raw
        bad_rounds = await http.post(url, json={"keep_recent_rounds": -1})
        assert bad_rounds.json()["error"]["param"] == "keep_recent_rounds"
        huge = await http.post(url, content=b'{"x": "' + b"a" * 70_000 + b'"}', headers=JSON_TYPE)
        assert huge.status_code == 413
        assert (await http.get("/api/savings?session=abc")).status_code == 400
        assert (await http.get("/api/savings?session=999")).status_code == 404


async def test_session_deleted_right_after_a_request(tmp_path: Path, upstream_url: str) -> None:
    async with hub(tmp_path, upstream_url) as (http, _):
        session = (await http.post("/api/sessions", json={})).json()["id"]
        body = {"model": "fake/wide", "messages": history(2)}
        reply = await http.post(
            "/chat/completions", json=body, headers={"X-Kimi-Session": str(session)}
        )
        assert reply.status_code == 200
        assert (await http.delete(f"/api/sessions/{session}")).status_code == 204
        assert (await http.post(f"/api/sessions/{session}/compaction/preview")).status_code == 404
        overview = await http.get("/api/savings")
        # what was saved stays counted, like the session's request rows (a ledger)
        assert overview.status_code == 200 and overview.json()["masking"]["events"] == 1


async def test_global_switches(
    tmp_path: Path, upstream_url: str, fake_upstream: FakeUpstream
) -> None:
    sent = history(3)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with hub(tmp_path / "a", upstream_url, compaction=False) as (http, _):
        await http.post("/chat/completions", json={"model": "fake/wide", "messages": sent})
        forwarded = chats(fake_upstream)[-1]["messages"]
        assert len(forwarded) == len(sent) and "Content masked" in forwarded[3]["content"]
        # masking alone cannot bring it under a 600-token window: refused, never forwarded
        count = len(chats(fake_upstream))
        refused = await http.post(
            "/chat/completions",
            json={"model": "fake/window", "messages": sent},
            headers={"X-Kimi-Session": "1"},
        )
        assert refused.status_code == 400 and len(chats(fake_upstream)) == count
        error = refused.json()["error"]
        assert error["code"] == "context_length_exceeded" and "fenêtre de 600" in error["message"]
        rows = (await http.get("/api/sessions/1/metrics")).json()["requests"]
        assert [(r["http_status"], r["status"]) for r in rows] == [(400, "error"), (200, "ok")]
    async with hub(tmp_path / "b", upstream_url, masking=False, compaction=False) as (http, _):
        await http.post("/chat/completions", json={"model": "fake/window", "messages": sent})
        assert chats(fake_upstream)[-1]["messages"] == sent
        assert (await http.get("/api/stats")).json()["totals"]["tokens_saved"] == 0


async def test_apply_does_not_count_masking_twice(
    tmp_path: Path, upstream_url: str, fake_upstream: FakeUpstream
) -> None:
    async with hub(tmp_path, upstream_url, summarise=False) as (http, _):
        sent = history(3)
        await http.post("/chat/completions", json={"model": "fake/wide", "messages": sent})
        before = (await http.get("/api/savings?session=1")).json()
        assert before["masking"]["events"] == 1
        masked = before["masking"]["tokens_saved"]
        assert masked == before["tokens_saved"] > 0  # the request row says the same
        applied = await http.post("/api/sessions/1/compaction/apply")
        assert applied.status_code == 200 and applied.json()["compaction"] is not None
        after = (await http.get("/api/savings?session=1")).json()
        assert after["masking"] == {"events": 1, "tokens_saved": masked}
        assert after["compaction"]["events"] == 1
        assert [e["kind"] for e in after["events"]] == ["compaction", "masking"]


async def test_short_chats_are_not_summarised(
    tmp_path: Path, upstream_url: str, fake_upstream: FakeUpstream
) -> None:
    """Under summarise_from_tokens (8192) old rounds are only masked; past it, summarised."""
    async with hub(tmp_path, upstream_url) as (http, _):
        short = history(2)
        await http.post("/chat/completions", json={"model": "fake/wide", "messages": short})
        forwarded = chats(fake_upstream)[-1]["messages"]
        assert len(forwarded) == len(short) and "Content masked" in forwarded[3]["content"]
        assert not any(ENGLISH.summary_marker in str(m["content"]) for m in forwarded)
        long = history(3)  # 10k tokens, under the test config's 64 KiB body limit
        reply = await http.post("/chat/completions", json={"model": "fake/wide", "messages": long})
        assert reply.status_code == 200
        forwarded = chats(fake_upstream)[-1]["messages"]
        assert forwarded[:2] == long[:2] and forwarded[2]["content"].startswith(
            ENGLISH.summary_marker
        )
        assert forwarded[-1] == long[-1]


async def test_model_summaries_survive_a_restart(
    tmp_path: Path, upstream_url: str, fake_upstream: FakeUpstream
) -> None:
    sent = history(3, tool_text="ligne de journal\n" * 40)
    forwarded: list[list[Json]] = []
    calls: list[int] = []
    for _ in range(2):  # the same database, a new process state
        async with hub(tmp_path, upstream_url, masking=False, summariser="fake/summarise") as (
            http,
            _,
        ):
            body = {"model": "fake/window", "messages": sent}
            assert (await http.post("/chat/completions", json=body)).status_code == 200
            forwarded.append(chats(fake_upstream)[-1]["messages"])
            calls.append(len(summaries(fake_upstream)))
    assert forwarded[0] == forwarded[1]  # same bytes after the restart: the cache still works
    assert calls[0] == calls[1] > 0  # no new summariser call: read back from SQLite
