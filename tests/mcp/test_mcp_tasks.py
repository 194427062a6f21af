"""2025-11-25 tasks through the hub: the everything server (npm) upstream runs
``simulate-research-query`` as a task (status steps, one elicitation, then a report);
the TypeScript SDK's tasks client drives it through ``/servers/everything/mcp`` and
``/mcp``, and each virtual key reaches its own tasks only."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import AsyncIterator
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
from tests.support.mcp_upstreams import EVERYTHING_JS, EVERYTHING_TOML, needs_node
from tests.support.node import node22
from tests.support.ports import free_port
from tests.support.reference_server import answering
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
    port = free_port()
    env = {**os.environ, "PORT": str(port)}
    process = await asyncio.create_subprocess_exec(
        node22() or "node", str(EVERYTHING_JS), "streamableHttp", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        await answering(url)
        yield url
    finally:
        process.terminate()
        await process.wait()


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
    headers = {"authorization": f"Bearer {ADMIN}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(f"{hub.url}/mcp", http_client=http)) as modern,
    ):
        assert modern.protocol_version == "2026-07-28"
        assert modern.server_capabilities.tasks is None  # 2026: an extension, not served
        with pytest.raises(MCPError) as rejected:
            await modern.session.send_request(
                types.GetTaskRequest(params=types.GetTaskRequestParams(task_id="absente")),
                types.GetTaskResult,
            )
        assert rejected.value.error.code == types.METHOD_NOT_FOUND


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
