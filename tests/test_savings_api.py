"""Savings end to end: what reaches the fake upstream, the cache, the fallback, the routes."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
from mcp import Client
from openai import AsyncOpenAI

from hub.api.app import create_app
from hub.config import load_config
from hub.features.compaction import ACKNOWLEDGEMENT, SUMMARY_MARKER
from tests.conftest import UPSTREAM_SECRET, write_config
from tests.fake_upstream import SUMMARY
from tests.servers import serve

SAVINGS = """
[savings]
masking = {masking}
compaction = {compaction}
mask_min_tokens = 50
keep_recent_exchanges = 1
{summariser}

[models."fake/window"]
provider = "fake"
model = "echo"
max_context = 600

[models."fake/wide"]
provider = "fake"
model = "echo"
max_context = 100000
"""
LOG = (
    "\r\n".join(
        f"2026-03-02 10:00:{i % 60:02d} INFO [worker-{i % 4}] tâche {i} traitée — ok 🙂"
        for i in range(120)
    )
    + "\r\nKeyError: 'invoice_id'\n"
)
MASK_REF = re.compile(r"mask:([0-9a-f]{32})")


@asynccontextmanager
async def hub(
    tmp_path: Path,
    upstream_url: str,
    *,
    masking: bool = True,
    compaction: bool = True,
    summariser: str | None = None,
) -> AsyncIterator[tuple[httpx2.AsyncClient, object]]:
    line = f'summariser_model = "{summariser}"' if summariser else ""
    flags = {"masking": str(masking).lower(), "compaction": str(compaction).lower()}
    extra = SAVINGS.format(summariser=line, **flags)
    config = load_config(
        write_config(tmp_path, upstream_url, extra), {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET}
    )
    app = create_app(config)
    async with serve(app) as url, httpx2.AsyncClient(base_url=url, timeout=10) as client:
        yield client, app


def history(exchanges: int, tool_text: str = LOG) -> list[dict]:
    messages: list[dict] = [{"role": "system", "content": "Tu es un agent de programmation."}]
    for i in range(exchanges):
        call = {
            "id": f"call_{i}",
            "type": "function",
            "function": {"name": "read_logs", "arguments": '{"lines": 120}'},
        }
        messages += [
            {"role": "user", "content": f"Demande {i} : regarde les journaux du worker."},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": f"call_{i}", "content": f"{tool_text}#{i}"},
            {"role": "assistant", "content": f"Réponse {i} : `compute_tax_total` échoue."},
        ]
    messages.append({"role": "user", "content": "Et maintenant, corrige-le."})
    return messages


def chats(fake) -> list[dict]:
    return [body for body in fake.received if body["model"] == "echo"]


def summaries(fake) -> list[dict]:
    return [body for body in fake.received if body["model"] == "summarise"]


async def test_masked_request_reaches_upstream_and_original_comes_back(
    tmp_path, upstream_url, fake_upstream
) -> None:
    async with hub(tmp_path, upstream_url) as (http, _):
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
            assert "Contenu masqué" in content and "KeyError: 'invoice_id'" in content
            digest = MASK_REF.search(content).group(1)
            original = await http.get(f"/api/mask/{digest}")
            assert original.status_code == 200
            assert original.content == sent[index]["content"].encode("utf-8")
        async with Client(f"{http.base_url}/mcp") as mcp:  # the same original over MCP
            reference = MASK_REF.search(forwarded[3]["content"]).group(0)
            fetched = await mcp.call_tool("mask_get", {"hash": reference})
            assert fetched.structured_content["content"] == sent[3]["content"]
            missing = await mcp.call_tool("mask_get", {"hash": "mask:" + "0" * 32})
            assert missing.is_error and "introuvable" in missing.content[0].text
        stats = (await http.get("/api/stats")).json()
        saved = stats["totals"]["tokens_saved"]
        assert saved > 500 and stats["savings"]["masking"] == {"events": 1, "tokens_saved": saved}
        metrics = (await http.get("/api/sessions/1/metrics")).json()
        assert metrics["requests"][0]["tokens_saved"] == saved
        assert metrics["savings"]["masking"]["tokens_saved"] == saved


async def test_compaction_summary_then_cache_hit_on_next_turn(
    tmp_path, upstream_url, fake_upstream
) -> None:
    async with hub(tmp_path, upstream_url, masking=False, summariser="fake/summarise") as (
        http,
        app,
    ):
        first = history(3, tool_text="ligne de journal\n" * 40)
        async with app.state.hub.bus.subscribe() as events:
            reply = await http.post(
                "/chat/completions", json={"model": "fake/window", "messages": first}
            )
            assert reply.status_code == 200
            event = await events.get()
            while event["type"] != "compaction":
                event = await events.get()
        assert event["cache_hit"] is False and event["summariser"] == "llm:fake/summarise"
        assert event["tokens_after"] < event["tokens_before"]
        assert len(summaries(fake_upstream)) == 1
        forwarded = chats(fake_upstream)[-1]["messages"]
        assert forwarded[0] == first[0]
        assert forwarded[1]["role"] == "user" and SUMMARY in forwarded[1]["content"]
        assert forwarded[1]["content"].startswith(SUMMARY_MARKER)
        assert forwarded[2] == {"role": "assistant", "content": ACKNOWLEDGEMENT}
        assert forwarded[3:] == first[-1:]

        second = [
            *first,
            {"role": "assistant", "content": "D'accord."},
            {"role": "user", "content": "Ajoute un test."},
        ]
        reply = await http.post(
            "/chat/completions", json={"model": "fake/window", "messages": second}
        )
        assert reply.status_code == 200
        assert len(summaries(fake_upstream)) == 1  # reused, not summarised again
        again = chats(fake_upstream)[-1]["messages"]
        assert again[:3] == forwarded[:3] and again[3:] == second[-3:]
        overview = (await http.get("/api/savings?session=1")).json()
        kinds = [(e["kind"], e["detail"]["cache_hit"]) for e in overview["events"]]
        assert kinds == [("compaction", True), ("compaction", False)]
        assert overview["compaction"]["events"] == 2 and overview["tokens_saved"] > 0


async def test_failing_summariser_falls_back_to_extractive(
    tmp_path, upstream_url, fake_upstream
) -> None:
    async with hub(tmp_path, upstream_url, masking=False, summariser="fake/bad") as (http, _):
        sent = history(3, tool_text="ligne de journal\nValueError: total négatif\n" * 20)
        reply = await http.post(
            "/chat/completions", json={"model": "fake/window", "messages": sent}
        )
        assert reply.status_code == 200
        forwarded = chats(fake_upstream)[-1]["messages"]
        summary = forwarded[1]["content"]
        assert "Résumé extractif" in summary and "ValueError: total négatif" in summary
        assert "Demande 0 : regarde les journaux du worker." in summary
        events = (await http.get("/api/savings")).json()["events"]
        detail = events[0]["detail"]
        assert detail["fallback"] is True and detail["summariser"] == "extractif"
        assert "400" in detail["reason"]


async def test_switches_header_session_and_unknown_window(
    tmp_path, upstream_url, fake_upstream
) -> None:
    async with hub(tmp_path, upstream_url) as (http, _):
        sent = history(3)
        body = {"model": "fake/window", "messages": sent}
        off = await http.post("/chat/completions", json=body, headers={"X-Kimi-Compaction": "off"})
        assert off.status_code == 200 and chats(fake_upstream)[-1]["messages"] == sent
        bad = await http.post(
            "/chat/completions",
            json=body,
            headers={"X-Kimi-Compaction": "peut-être".encode("latin-1")},
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
        assert len(forwarded) == len(sent) and "Contenu masqué" in forwarded[3]["content"]
        assert not any(SUMMARY_MARKER in str(m["content"]) for m in forwarded)


async def test_preview_then_apply_is_reused_by_next_turn(
    tmp_path, upstream_url, fake_upstream
) -> None:
    async with hub(tmp_path, upstream_url, masking=False) as (http, _):
        sent = history(3, tool_text="ligne de journal\n" * 40)
        await http.post("/chat/completions", json={"model": "fake/wide", "messages": sent})
        assert chats(fake_upstream)[-1]["messages"] == sent  # far below the threshold
        preview = await http.post("/api/sessions/1/compaction/preview")
        assert preview.status_code == 200
        data = preview.json()
        assert data["applied"] is False and data["tokens_after"] < data["tokens_before"]
        assert data["messages"][1]["content"].startswith(SUMMARY_MARKER)
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


async def test_bad_input_on_savings_routes(tmp_path, upstream_url) -> None:
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
            response = await http.post(url, content=raw)
            assert response.status_code == 400, raw
        huge = await http.post(url, content=b'{"x": "' + b"a" * 70_000 + b'"}')
        assert huge.status_code == 413
        assert (await http.get("/api/savings?session=abc")).status_code == 400
        assert (await http.get("/api/savings?session=999")).status_code == 404


async def test_session_deleted_right_after_a_request(tmp_path, upstream_url) -> None:
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
        # events go with their session, like its request rows
        assert overview.status_code == 200 and overview.json()["masking"]["events"] == 0


async def test_global_switches(tmp_path, upstream_url, fake_upstream) -> None:
    sent = history(3)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with hub(tmp_path / "a", upstream_url, compaction=False) as (http, _):
        await http.post("/chat/completions", json={"model": "fake/window", "messages": sent})
        forwarded = chats(fake_upstream)[-1]["messages"]
        assert len(forwarded) == len(sent) and "Contenu masqué" in forwarded[3]["content"]
    async with hub(tmp_path / "b", upstream_url, masking=False, compaction=False) as (http, _):
        await http.post("/chat/completions", json={"model": "fake/window", "messages": sent})
        assert chats(fake_upstream)[-1]["messages"] == sent
        assert (await http.get("/api/stats")).json()["totals"]["tokens_saved"] == 0
