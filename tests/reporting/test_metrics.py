"""``GET /metrics`` parsed with prometheus-client's own parser, against the stored rows
(in-process; the MCP upstream case over a socket, with a real MCP client)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import openai
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from prometheus_client.parser import text_string_to_metric_families

from hub.api.app import create_app
from hub.config import load_config
from tests.support.asgi import InProcess, in_process
from tests.support.chats import HELLO
from tests.support.fake_upstream import FakeUpstream
from tests.support.hub_configs import ADMIN, UPSTREAM_SECRET, keyed_config
from tests.support.hub_mcp import wait_ready
from tests.support.hub_rows import stored_rows
from tests.support.mcp_upstreams import PYTHON, TESTS
from tests.support.servers import serve

SCRAPER = "metrics-only-key"


@pytest.fixture
async def hub(tmp_path: Path, upstream_url: str) -> AsyncIterator[InProcess]:
    # priced: a key with a budget may call it (fake/bad names it too)
    bad = '\n[models.bad]\nprovider = "fake"\nmodel = "bad"\noutput_price = 1.0\n'
    path = keyed_config(tmp_path, upstream_url, bad)
    text = path.read_text().replace("[server]\n", f'[server]\nmetrics_key = "{SCRAPER}"\n', 1)
    path.write_text(text)
    config = load_config(path, {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET})
    async with in_process(create_app(config)) as hub:
        yield hub


def _samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return found


async def test_metrics_match_stored_rows(hub: InProcess) -> None:
    admin = {"authorization": f"Bearer {ADMIN}"}
    async with hub.http(headers=admin) as http:
        created = await http.post("/api/keys", json={"name": "Alice", "budget": 1.0})
        key = created.json()
        async with hub.openai(key["secret"]) as alice:
            for _ in range(3):
                await alice.chat.completions.create(model="priced", messages=HELLO)
            stream = await alice.chat.completions.create(
                model="fake/echo", messages=HELLO, stream=True
            )
            _ = [chunk async for chunk in stream]
            with pytest.raises(openai.BadRequestError):  # an upstream 400: an error row
                await alice.chat.completions.create(model="fake/bad", messages=HELLO)
        async with hub.openai(ADMIN) as admin_client:
            await admin_client.chat.completions.create(model="fake/echo", messages=HELLO)
        rows = await stored_rows(http)
        scraped = await http.get("/metrics", headers={"authorization": f"Bearer {SCRAPER}"})
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    samples = _samples(scraped.text)
    counted: Counter[tuple[str, str, str]] = Counter()
    for labels, value in samples["kimi_requests_total"]:
        counted[(labels["model"], labels["key"], labels["status"])] += int(value)
    stored = Counter((r["model_key"], r["key_id"] or "aucune", r["status"]) for r in rows)
    assert counted == stored and sum(stored.values()) == 6
    kinds = (("prompt", "prompt_tokens"), ("completion", "completion_tokens"),
             ("cached", "cached_tokens"))  # fmt: skip
    for kind, column in kinds:
        total = sum(v for labels, v in samples["kimi_tokens_total"] if labels["kind"] == kind)
        assert total == sum(r[column] for r in rows)
    assert sum(v for _, v in samples["kimi_cost_total"]) == pytest.approx(
        sum(r["cost"] for r in rows)
    )
    durations = sum(v for _, v in samples["kimi_request_duration_seconds_count"])
    assert durations == len(rows)
    histogram = samples["kimi_request_duration_seconds_bucket"]
    buckets = [(float(labels["le"]), v) for labels, v in histogram if labels["model"] == "priced"]
    assert buckets == sorted(buckets) and buckets[-1] == (float("inf"), 3)  # cumulative
    priced = [r["total_ms"] / 1000 for r in rows if r["model_key"] == "priced"]
    assert all(v == sum(s <= le for s in priced) for le, v in buckets)
    assert sum(v for labels, v in samples["kimi_request_duration_seconds_sum"]
               if labels["model"] == "priced") == pytest.approx(sum(priced))  # fmt: skip
    assert sum(v for _, v in samples["kimi_time_to_first_byte_seconds_count"]) == sum(
        r["ttfb_ms"] is not None for r in rows
    )
    remaining = samples["kimi_key_budget_remaining"]
    alice_cost = sum(r["cost"] for r in rows if r["key_id"] == key["id"])
    [(labels, value)] = remaining
    assert labels == {"key": key["id"], "name": "Alice"}
    assert value == pytest.approx(1.0 - alice_cost)
    assert key["secret"] not in scraped.text


async def test_metrics_access(hub: InProcess) -> None:
    async with hub.http() as http:
        created = await http.post(
            "/api/keys", json={"name": "x"}, headers={"authorization": f"Bearer {ADMIN}"}
        )
        secret = created.json()["secret"]
        for token, status in (
            (None, 401),
            ("faux", 401),
            (secret, 403),
            (ADMIN, 200),
            (SCRAPER, 200),
        ):
            headers = {"authorization": f"Bearer {token}"} if token else {}
            assert (await http.get("/metrics", headers=headers)).status_code == status, token
        scraper = {"authorization": f"Bearer {SCRAPER}"}
        assert (await http.get("/api/sessions", headers=scraper)).status_code == 401
        assert (await http.post("/metrics", headers=scraper)).status_code == 405


async def test_mcp_upstream_state_and_tool_calls(tmp_path: Path, upstream_url: str) -> None:
    server = f"""
[mcp.servers.dyn]
command = {json.dumps(PYTHON)}
args = [{json.dumps(str(TESTS / "mcp_dynamic_server.py"))}]
"""
    path = keyed_config(tmp_path, upstream_url, server)
    config = load_config(path, {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET})
    admin = {"authorization": f"Bearer {ADMIN}"}
    async with serve(create_app(config)) as url:
        async with httpx2.AsyncClient(base_url=url, headers=admin) as http:
            await wait_ready(http, "dyn")
            async with Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client:
                for _ in range(2):
                    await client.call_tool("dyn__sleep", {"seconds": 0})
            samples = _samples((await http.get("/metrics")).text)
    states = {labels["state"]: v for labels, v in samples["kimi_mcp_upstream_state"]}
    assert states["ready"] + states["degraded"] == 1 and states["down"] == 0
    calls = {labels["result"]: v for labels, v in samples["kimi_mcp_tool_calls_total"]}
    assert calls == {"ok": 2, "error": 0}
    assert samples["kimi_mcp_tool_call_seconds_total"][0][1] >= 0


async def test_labels_stay_bounded_whatever_clients_send(
    hub: InProcess, fake_upstream: FakeUpstream
) -> None:
    """Issue #24: every ``provider/<anything>`` became a label (29.6 MB for 4 300 names)."""
    admin = {"authorization": f"Bearer {ADMIN}"}
    async with hub.http(headers=admin) as http, hub.openai(ADMIN) as client:
        sizes = []
        for batch in range(2):
            for n in range(20 * (batch + 1)):
                await client.chat.completions.create(model=f"fake/nom-{batch}-{n}", messages=HELLO)
            text = (await http.get("/metrics")).text
            sizes.append(len(text.splitlines()))
        await client.chat.completions.create(model="priced", messages=HELLO)
        samples = _samples((await http.get("/metrics")).text)
    assert sizes[0] == sizes[1]  # 40 more names, not one more line
    models = {labels["model"] for labels, _ in samples["kimi_requests_total"]}
    assert models == {"autre", "priced"}
    other = [v for labels, v in samples["kimi_requests_total"] if labels["model"] == "autre"]
    assert other == [60]
    assert len(fake_upstream.received) == 61


@pytest.mark.parametrize(
    "model",
    [
        "fake/echo\r\nX-Injected: 1",
        "fake/echo\n",
        "fake/\x00echo",
        "fake/\u2028echo",
        "fake/\u202eohce",
        "fake/" + "e" * 300,
    ],
)
async def test_model_names_with_control_characters_are_refused(
    hub: InProcess, fake_upstream: FakeUpstream, model: str
) -> None:
    async with hub.openai(ADMIN) as client:
        with pytest.raises(openai.BadRequestError) as refused:
            await client.chat.completions.create(model=model, messages=HELLO)
    assert refused.value.code == "invalid_model" and refused.value.param == "model"
    assert "\r" not in refused.value.message and "\n" not in refused.value.message
    assert fake_upstream.received == []  # nothing forwarded
