"""2025-11-25 tasks through the hub: the everything server (npm) upstream runs
``simulate-research-query`` as a task (status steps, one elicitation, then a report);
the TypeScript SDK's tasks client drives it through ``/servers/everything/mcp`` and
``/mcp``, and each virtual key reaches its own tasks only."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx2
import mcp_types as types
import pytest
import pytest_asyncio
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from hub.api.app import create_app
from hub.config import load_config
from hub.core.storage.mcp_tasks import TaskHandle, TaskHandles
from hub.core.storage.store import Store
from tests.support.hub_configs import write_config
from tests.support.hub_mcp import wait_ready
from tests.support.json_values import JsonObject
from tests.support.mcp_upstreams import EVERYTHING_JS, EVERYTHING_TOML, http_server, needs_node
from tests.support.modern_tasks import ModernTasksClient, StoppedAtHandle, get_task, send
from tests.support.node import node22
from tests.support.servers import serve

pytestmark = [needs_node, pytest.mark.asyncio(loop_scope="module")]
CLIENT = Path(__file__).resolve().parents[1] / "support" / "tasks_client.mjs"
ADMIN = "admin-tasks-key"
TOOL = "simulate-research-query"
PROFILE = """
[mcp.profiles.bare]
servers = []
"""


@dataclass
class Hub:
    url: str
    admin: httpx2.AsyncClient

    @asynccontextmanager
    async def modern(
        self, path: str, tasks: ModernTasksClient | None = None, key: str = ADMIN
    ) -> AsyncIterator[Client]:
        """A 2026-07-28 mcp SDK client, with the tasks extension when ``tasks`` is given."""
        headers = {"authorization": f"Bearer {key}"}
        extensions = [tasks] if tasks else []
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http,
            Client(
                streamable_http_client(f"{self.url}{path}", http_client=http),
                extensions=extensions,
                # declares elicitation: the task's question comes as an inputRequest
                elicitation_callback=tasks.elicit if tasks else None,
            ) as client,
        ):
            assert client.protocol_version == "2026-07-28"
            yield client

    async def key(self) -> str:
        response = await self.admin.post("/api/keys", json={"name": "tâches"})
        assert response.status_code == 201, response.text
        secret: str = response.json()["secret"]
        return secret

    async def client(self, path: str, step: str, arg: str, key: str = ADMIN) -> list[JsonObject]:
        """One run of the TypeScript tasks client; what it printed."""
        node = node22() or "node"
        command = [node, str(CLIENT), f"{self.url}{path}", key, step, arg]
        done = await anyio.run_process(command, check=False, stderr=subprocess.STDOUT)
        lines = done.stdout.decode().splitlines()
        assert done.returncode == 0, lines
        return [json.loads(line) for line in lines]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    tmp_path: Path = tmp_path_factory.mktemp("tasks")
    path = write_config(tmp_path, "http://127.0.0.1:9", EVERYTHING_TOML + PROFILE)
    path.write_text(path.read_text().replace("[server]\n", f'[server]\napi_key = "{ADMIN}"\n'))
    config = load_config(path, {})
    async with serve(create_app(config)) as url:
        headers = {"authorization": f"Bearer {ADMIN}"}
        async with httpx2.AsyncClient(base_url=url, headers=headers, timeout=30) as admin:
            await wait_ready(admin, "everything")
            yield Hub(url, admin)


def created(lines: list[JsonObject]) -> str:
    ids = [line["taskId"] for line in lines if line.get("type") == "taskCreated"]
    assert len(ids) == 1, lines
    task_id = ids[0]
    assert isinstance(task_id, str)
    return task_id


def steps(lines: list[JsonObject]) -> list[JsonObject]:
    """What a run showed, less the task id (each run has its own) and repeated statuses
    (how many polls see one status depends on timing)."""
    shown: list[JsonObject] = []
    for line in lines:
        step = {k: v for k, v in line.items() if k != "taskId"}
        if not shown or step != shown[-1]:
            shown.append(step)
    return shown


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def direct() -> AsyncIterator[str]:
    """The everything server alone over Streamable HTTP, for what a task shows directly."""
    async with http_server(node22() or "node", str(EVERYTHING_JS), "streamableHttp") as url:
        yield url


@pytest.mark.parametrize(
    ("path", "tool"), [("/servers/everything/mcp", TOOL), ("/mcp", f"everything__{TOOL}")]
)
async def test_a_task_runs_through_the_hub_as_directly(
    hub: Hub, direct: str, path: str, tool: str
) -> None:
    lines = await hub.client(path, "run", tool)
    alone = await Hub(direct, hub.admin).client("", "run", TOOL, key="")
    assert steps(lines) == steps(alone)
    assert lines[0]["tasks"] == {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}
    task_id = created(lines)
    statuses = [line["status"] for line in lines if line.get("type") == "taskStatus"]
    assert "working" in statuses
    elicited = [str(line["elicited"]) for line in lines if "elicited" in line]
    assert len(elicited) == 1 and elicited[0].startswith('The research query "hub"'), lines
    result = lines[-1]
    assert result["type"] == "result", lines
    assert "Research Report: hub (technique)" in str(result["text"])
    got = await hub.client(path, "get", task_id)
    task = got[-1]["task"]
    assert isinstance(task, dict) and task["taskId"] == task_id and task["status"] == "completed"
    again = await hub.client(path, "result", task_id)  # the result stays fetchable
    assert "Research Report: hub (technique)" in str(again[-1]["text"])


async def test_each_key_reaches_its_own_tasks_only(hub: Hub) -> None:
    mine, theirs = await hub.key(), await hub.key()
    task_id = created(await hub.client("/mcp", "run", f"everything__{TOOL}", mine))
    listed = (await hub.client("/mcp", "list", "", mine))[-1]["ids"]
    assert isinstance(listed, list) and task_id in listed
    assert (await hub.client("/servers/everything/mcp", "list", "", theirs))[-1] == {"ids": []}
    for step in ("get", "result", "cancel"):
        refused = (await hub.client("/servers/everything/mcp", step, task_id, theirs))[-1]
        assert refused["code"] == types.INVALID_PARAMS, refused
        assert "Tâche inconnue" in str(refused["error"])
    seen = (await hub.client("/mcp", "get", task_id))[-1]["task"]  # the admin key sees all
    assert isinstance(seen, dict) and seen["taskId"] == task_id
    # a profile without upstream servers has no tasks at all
    outside = (await hub.client("/profiles/bare/mcp", "get", task_id, mine))[-1]
    assert outside["code"] == types.METHOD_NOT_FOUND


async def test_a_task_is_cancelled_through_the_hub(hub: Hub) -> None:
    lines = await hub.client("/servers/everything/mcp", "start", TOOL)
    task_id = created(lines)
    cancelled = (await hub.client("/servers/everything/mcp", "cancel", task_id))[-1]["task"]
    assert isinstance(cancelled, dict) and cancelled["status"] == "cancelled"


async def test_bad_task_requests_get_clear_errors(hub: Hub) -> None:
    for task_id in ("absente", "x" * 10_000, "'; DROP TABLE mcp_tasks; --"):
        refused = (await hub.client("/mcp", "get", task_id))[-1]
        assert refused["code"] == types.INVALID_PARAMS
        assert "Tâche inconnue" in str(refused["error"])
    async with hub.modern("/mcp") as undeclared:
        for method in ("tasks/get", "tasks/update", "tasks/cancel"):  # SEP-2663: -32021
            with pytest.raises(MCPError) as lacking:
                await send(undeclared.session, method, {"taskId": "absente"})
            assert lacking.value.error.code == types.MISSING_REQUIRED_CLIENT_CAPABILITY
    async with hub.modern("/mcp", ModernTasksClient({})) as modern:
        with pytest.raises(MCPError) as unknown:
            await get_task(modern.session, "absente")
        assert unknown.value.error.code == types.INVALID_PARAMS
        for method in ("tasks/result", "tasks/list"):  # gone from the 2026 extension
            with pytest.raises(MCPError) as gone:
                await send(modern.session, method, {"taskId": "x"})
            assert gone.value.error.code == types.METHOD_NOT_FOUND
        with pytest.raises(MCPError, match="taskId et inputResponses"):
            await send(modern.session, "tasks/update", {"taskId": "x"})


@pytest.mark.parametrize("store_target", ["sqlite", "postgresql"], indirect=True)
async def test_another_replica_finds_whose_task_it_is(store_target: str) -> None:
    """The routing rows are in the shared database: any replica's store reads them."""
    first, second = await Store.open(store_target), await Store.open(store_target)
    try:
        await first.migrate()
        handle = TaskHandle("t-1", "everything", "key-a")
        assert await TaskHandles(first).record(handle, 60_000)
        assert not await TaskHandles(second).record(TaskHandle("t-1", "other", None), None)
        assert await TaskHandles(second).find("t-1") == handle
        assert await TaskHandles(second).all() == [handle]
        assert await TaskHandles(second).record(TaskHandle("t-0", "x", None), -1)
        assert await TaskHandles(second).find("t-0") is None  # expired at once
    finally:
        await first.close()
        await second.close()


@pytest.mark.parametrize(
    ("path", "tool"), [("/servers/everything/mcp", TOOL), ("/mcp", f"everything__{TOOL}")]
)
async def test_a_2026_client_runs_the_task_with_the_extension(
    hub: Hub, path: str, tool: str
) -> None:
    """The 2025 upstream's task, its question and its result, as the 2026 extension
    shows them: a handle, then tasks/get with inputRequests, tasks/update, the result."""
    tasks = ModernTasksClient({"interpretation": "technique"})
    async with hub.modern(path, tasks) as client:
        extensions = client.server_capabilities.extensions or {}
        assert "io.modelcontextprotocol/tasks" in extensions
        result = await client.call_tool(tool, {"topic": "hub", "ambiguous": True})
    text = result.content[0]
    assert isinstance(text, types.TextContent)
    assert "Research Report: hub (technique)" in text.text
    assert tasks.handles and tasks.statuses[-1] == "completed", tasks.statuses
    assert "input_required" in tasks.statuses and "working" in tasks.statuses
    assert [request["method"] for request in tasks.asked] == ["elicitation/create"]


async def test_a_2026_client_without_the_extension_is_told_what_it_lacks(hub: Hub) -> None:
    async with hub.modern("/servers/everything/mcp") as client:
        with pytest.raises(MCPError) as refused:
            await client.call_tool(TOOL, {"topic": "hub"})
        assert refused.value.error.code == types.MISSING_REQUIRED_CLIENT_CAPABILITY
        data = refused.value.error.data
        assert data == {
            "requiredCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}}
        }
        echoed = await client.call_tool("echo", {"message": "sans tâche"})  # the others run
        assert echoed.is_error is not True


async def test_a_2026_client_cancels_and_other_keys_do_not_see(hub: Hub) -> None:
    mine, theirs = await hub.key(), await hub.key()
    tasks = ModernTasksClient({"interpretation": "technique"}, stop_after_handle=True)
    async with hub.modern("/mcp", tasks, key=mine) as client:
        with pytest.raises(StoppedAtHandle):
            await client.call_tool(f"everything__{TOOL}", {"topic": "hub"})
        task_id = tasks.handles[0]
        async with hub.modern("/mcp", ModernTasksClient({}), key=theirs) as other:
            with pytest.raises(MCPError, match="Tâche inconnue"):
                await get_task(other.session, task_id)
            with pytest.raises(MCPError, match="Tâche inconnue"):
                await send(other.session, "tasks/cancel", {"taskId": task_id})
        acknowledged = await send(client.session, "tasks/cancel", {"taskId": task_id})
        assert acknowledged["resultType"] == "complete" and "taskId" not in acknowledged
        assert (await get_task(client.session, task_id))["status"] == "cancelled"
