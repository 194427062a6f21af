"""Tasks of an upstream that speaks the 2026-07-28 tasks extension (fastmcp-tasks, from
PyPI): relayed as they are to 2026 clients, translated for 2025 ones (the TypeScript
SDK's tasks client), routed from any replica when the upstream keeps its tasks in Redis.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx2
import mcp_types as types
import pytest
import pytest_asyncio
from mcp.client import Client
from mcp.shared.exceptions import MCPError

from hub.api.app import create_app
from hub.config import load_config
from tests.support.hub_configs import write_config
from tests.support.hub_mcp import wait_ready
from tests.support.json_values import JsonObject
from tests.support.mcp_upstreams import needs_node, needs_tasks_server, tasks_server
from tests.support.modern_tasks import ModernTasksClient, StoppedAtHandle, get_task
from tests.support.node import node22
from tests.support.replicas import Replica, replicas
from tests.support.servers import serve

pytestmark = [needs_tasks_server, pytest.mark.asyncio(loop_scope="module")]
ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "tests" / "support" / "tasks_client.mjs"


def servers_toml(url: str) -> str:
    return f'\n[mcp.servers.taches]\nurl = "{url}"\n'


FLAT = """
[mcp.profiles.flat]
servers = ["taches"]
prefix = "on_collision"
tools = { allow = ["taches__*"] }
"""
SUITE = ROOT / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
TASK_SCENARIOS = (
    "tasks-capability-negotiation", "tasks-dispatch-and-envelope", "tasks-lifecycle",
    "tasks-mrtr-composition", "tasks-mrtr-input", "tasks-request-headers",
    "tasks-request-state-removal", "tasks-required-task-error", "tasks-wire-fields",
)  # fmt: skip


async def passed_checks(url: str, scenario: str) -> set[str]:
    """The checks of one of the suite's tasks scenarios (extension scenarios: --force)."""
    command = [node22() or "node", str(SUITE), "server", "--url", url]
    command += ["--spec-version", "2026-07-28", "--scenario", scenario, "--force"]
    done = await anyio.run_process(command, check=False, stderr=subprocess.STDOUT)
    text = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout.decode(errors="replace"))
    assert "Passed:" in text, text[-2000:]
    return set(re.findall(r"\[([a-z0-9-]+)\s*\] SUCCESS", text))


@needs_node
async def test_the_suites_task_scenarios_pass_through_the_hub_as_alone(
    hub: str, upstream: str
) -> None:
    """The conformance suite's ``tasks-*`` scenarios (not scored, no reference fixture):
    every check fastmcp-tasks passes alone passes through ``/servers/NAME/mcp`` and the
    unprefixed profile."""
    alone_total = 0
    for scenario in TASK_SCENARIOS:
        alone = await passed_checks(upstream, scenario)
        alone_total += len(alone)
        for path in ("/servers/taches/mcp", "/profiles/flat/mcp"):
            lost = alone - await passed_checks(f"{hub}{path}", scenario)
            assert not lost, f"{scenario} via {path} : {sorted(lost)}"
    assert alone_total >= 40  # the fixture still exercises the extension (43 of 44)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def upstream() -> AsyncIterator[str]:
    async with tasks_server() as url:
        yield url


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory, upstream: str) -> AsyncIterator[str]:
    tmp_path: Path = tmp_path_factory.mktemp("native-tasks")
    path = write_config(tmp_path, "http://127.0.0.1:9", servers_toml(upstream) + FLAT)
    async with serve(create_app(load_config(path, {}))) as url:
        async with httpx2.AsyncClient(base_url=url) as http:
            await wait_ready(http, "taches")
        yield url


async def modern_call(url: str, tool: str, arguments: JsonObject) -> tuple[str, ModernTasksClient]:
    tasks = ModernTasksClient({"name": "Ada"})
    async with Client(url, extensions=[tasks], elicitation_callback=tasks.elicit) as client:
        result = await client.call_tool(tool, arguments)
    text = result.content[0]
    assert isinstance(text, types.TextContent)
    return text.text, tasks


@pytest.mark.parametrize(("path", "prefix"), [("/servers/taches/mcp", ""), ("/mcp", "taches__")])
async def test_a_2026_client_sees_the_upstreams_tasks_as_they_are(
    hub: str, path: str, prefix: str
) -> None:
    text, tasks = await modern_call(f"{hub}{path}", f"{prefix}ask_name", {})
    assert text == "Bonjour Ada"
    assert tasks.statuses[0] == "input_required" and tasks.statuses[-1] == "completed"
    assert tasks.asked[0]["params"]["message"] == "Votre nom ?"
    total, summed = await modern_call(f"{hub}{path}", f"{prefix}slow_sum", {"a": 2, "b": 3})
    assert total == "5" and summed.handles  # a task: the client opted in
    echoed, plain = await modern_call(f"{hub}{path}", f"{prefix}echo", {"text": "sans tâche"})
    assert echoed == "sans tâche" and not plain.handles  # the server chose to answer at once


async def test_a_2026_client_without_the_extension_gets_the_upstreams_refusal(hub: str) -> None:
    async with Client(f"{hub}/servers/taches/mcp") as client:
        with pytest.raises(MCPError) as refused:
            await client.call_tool("ask_name", {})
        assert refused.value.error.code == types.MISSING_REQUIRED_CLIENT_CAPABILITY
        total = await client.call_tool("slow_sum", {"a": 1, "b": 1})  # at once, no task
        assert isinstance(total.content[0], types.TextContent) and total.content[0].text == "2"


@needs_node
@pytest.mark.parametrize(("path", "prefix"), [("/servers/taches/mcp", ""), ("/mcp", "taches__")])
async def test_a_2025_client_runs_the_2026_upstreams_tasks(
    hub: str, path: str, prefix: str
) -> None:
    """The hub translates: tasks/result waits by polling, the question is asked of the
    2025 client as a request, its answer goes back with tasks/update."""
    lines = await ts_client(f"{hub}{path}", "run", f"{prefix}ask_name", "{}")
    assert lines[0]["tasks"] == {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}
    assert {"elicited": "Votre nom ?"} in lines
    assert lines[-1]["type"] == "result" and lines[-1]["text"] == "Bonjour Ada", lines
    summed = await ts_client(f"{hub}{path}", "run", f"{prefix}slow_sum", '{"a": 2, "b": 3}')
    task_id = next(line["taskId"] for line in summed if line.get("type") == "taskCreated")
    assert summed[-1]["text"] == "5"
    got = (await ts_client(f"{hub}{path}", "get", str(task_id)))[-1]["task"]
    assert isinstance(got, dict) and got["status"] == "completed" and "result" not in got
    assert str(task_id) in (await ts_client(f"{hub}{path}", "list", ""))[-1]["ids"]


async def ts_client(url: str, *args: str) -> list[JsonObject]:
    node = node22() or "node"
    env = {**os.environ, "TASKS_ANSWER": json.dumps({"name": "Ada"})}
    command = [node, str(CLIENT), url, "", *args]
    done = await anyio.run_process(command, check=False, stderr=subprocess.STDOUT, env=env)
    lines = done.stdout.decode().splitlines()
    assert done.returncode == 0, lines
    return [json.loads(line) for line in lines]


async def test_a_task_started_on_one_replica_is_followed_on_another(
    tmp_path: Path, upstream_url: str, postgres_url: str, redis_url: str
) -> None:
    """Team mode: the routing row is in PostgreSQL, the task in the upstream's Redis:
    replica B answers tasks/get for the task replica A started."""
    async with tasks_server(redis_url) as upstream:
        names = ("A", "B")
        async with replicas(
            tmp_path, upstream_url, postgres_url, redis_url, names, servers_toml(upstream)
        ) as (a, b):
            await ready(a, b)
            tasks = ModernTasksClient({}, stop_after_handle=True)
            async with Client(f"{a.url}/mcp", extensions=[tasks]) as on_a:
                with pytest.raises(StoppedAtHandle):
                    await on_a.call_tool("taches__slow_sum", {"a": 20, "b": 22, "seconds": 1})
            task_id = tasks.handles[0]
            async with Client(f"{b.url}/mcp", extensions=[ModernTasksClient({})]) as on_b:
                with anyio.fail_after(30):
                    while (task := await get_task(on_b.session, task_id))["status"] != "completed":
                        await anyio.sleep(0.2)
            assert task["result"]["content"][0]["text"] == "42"


async def ready(*started: Replica) -> None:
    for replica in started:
        async with httpx2.AsyncClient(base_url=replica.url) as http:
            await wait_ready(http, "taches")
