"""UpstreamHub against real MCP servers: listing, calls, progress, faults, recovery."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator

import mcp_types as types
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError

from hub.config import McpServerConfig
from hub.features.mcp_hub import ServerState, SupervisorSettings, UpstreamHub
from tests.support.mcp_results import completed
from tests.support.mcp_upstreams import (
    EVERYTHING_JS,
    FILESYSTEM_JS,
    TIME_BIN,
    dynamic,
    everything_stdio,
    needs_node,
    needs_time,
    running_in_task,
    silent,
)
from tests.support.polling import until
from tests.support.processes import alive, cmdline, descendants

# Quick pings and backoff, but generous deadlines: a Python MCP server takes seconds to
# import the SDK on a loaded CI core, and a missed deadline restarts it mid-test.
FAST = SupervisorSettings(
    init_timeout=15, ping_interval=0.2, ping_timeout=10, backoff_initial=0.05, backoff_max=0.5
)
SECRET = "tres-secret-1234"


async def wait_state(hub: UpstreamHub, name: str, state: ServerState) -> None:
    await until(lambda: hub.connections[name].status.state == state)


@pytest.fixture
async def dyn_hub() -> AsyncIterator[UpstreamHub]:
    servers = {
        "dyn": dynamic(env={"HUB_TEST_SECRET": SECRET}, call_timeout=0.5),
        "off": McpServerConfig(name="off", enabled=False),
        "bad_name": dynamic("bad_name"),
    }
    hub = UpstreamHub(servers, FAST)
    async with running_in_task(hub):
        assert await hub.connections["dyn"].wait_ready(20)
        yield hub


async def test_lists_prefixed_tools_and_reports_rejected_ones(dyn_hub: UpstreamHub) -> None:
    names = [t.name for t in dyn_hub.list_tools()]
    assert names == ["dyn__grow", "dyn__sleep", "dyn__env", "dyn__traceparent", "dyn__touch"]
    status = dyn_hub.connections["dyn"].status
    assert status.state == ServerState.DEGRADED
    assert any("bad_schema" in w for w in status.warnings)
    assert any("bad name!" in w for w in status.warnings)
    by_name = {s["name"]: s for s in dyn_hub.statuses()}
    assert by_name["off"]["state"] == "disabled"
    assert by_name["bad_name"]["state"] == "down"
    assert "invalide" in str(by_name["bad_name"]["last_error"])


async def test_call_forwards_arguments_and_keeps_secrets_in_child_env(dyn_hub: UpstreamHub) -> None:
    result = await dyn_hub.call_tool("dyn__env", {"name": "HUB_TEST_SECRET"})
    assert result.content[0].text == SECRET  # type: ignore[union-attr]
    assert SECRET not in repr(dyn_hub.statuses())
    assert dyn_hub.connections["dyn"].status.calls == 1


async def test_unknown_or_malformed_tool_names_raise(dyn_hub: UpstreamHub) -> None:
    for name in [
        "",
        "__",
        "dyn__",
        "nope__grow",
        "dyn",
        "x" * 10_000,
        "dyn__nope",
        "dyn__bad_schema",
    ]:
        with pytest.raises(MCPError) as info:
            await dyn_hub.call_tool(name, {})
        assert "inconnu" in info.value.error.message
        assert len(info.value.error.message) < 400


async def test_call_timeout_is_an_error_result_and_server_keeps_serving(
    dyn_hub: UpstreamHub,
) -> None:
    result = completed(await dyn_hub.call_tool("dyn__sleep", {"seconds": 30}))
    assert result.is_error
    assert "Délai dépassé" in result.content[0].text  # type: ignore[union-attr]
    assert "délai dépassé" in str(dyn_hub.connections["dyn"].status.last_error)
    assert not completed(await dyn_hub.call_tool("dyn__grow", {})).is_error


async def test_upstream_list_changed_is_picked_up_and_announced(dyn_hub: UpstreamHub) -> None:
    changes: list[int] = []

    def broken() -> None:
        raise RuntimeError("bogue d'un écouteur")

    dyn_hub.on_change(broken)  # a faulty listener must not disturb the upstream
    remove = dyn_hub.on_change(lambda: changes.append(1))
    await dyn_hub.call_tool("dyn__grow", {})
    await until(lambda: "dyn__extra" in [t.name for t in dyn_hub.list_tools()], 10)
    assert changes
    assert dyn_hub.connections["dyn"].status.restarts == 0
    remove()


async def test_hang_on_initialize_marks_down_and_retries() -> None:
    # long enough for the Python server to import the SDK on a loaded core (2 s was not:
    # it never came up), short enough for the silent one to be given up on quickly
    settings = SupervisorSettings(init_timeout=8, ping_interval=0.2, backoff_initial=0.05)
    async with running_in_task(
        UpstreamHub({"dyn": dynamic(), "silent": silent()}, settings)
    ) as hub:
        await _hang_checks(hub)


async def _hang_checks(dyn_hub: UpstreamHub) -> None:
    assert await dyn_hub.connections["dyn"].wait_ready(30)
    await until(lambda: dyn_hub.connections["silent"].status.restarts >= 1, 30)
    status = dyn_hub.connections["silent"].status
    assert "initialisation" in str(status.last_error)
    assert status.tool_count == 0
    result = completed(await dyn_hub.call_tool("dyn__grow", {}))  # the others keep serving
    assert not result.is_error


async def test_killed_upstream_is_restarted_and_its_tools_come_back(dyn_hub: UpstreamHub) -> None:
    pids = [p for p in descendants() if "mcp_dynamic_server.py" in cmdline(p)]
    assert pids
    before = dyn_hub.connections["dyn"].status.restarts  # a slow ping may have counted one
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    await until(lambda: dyn_hub.connections["dyn"].status.restarts > before)
    await wait_state(dyn_hub, "dyn", ServerState.DEGRADED)
    assert not completed(await dyn_hub.call_tool("dyn__grow", {})).is_error


async def test_restart_on_request_reconnects(dyn_hub: UpstreamHub) -> None:
    # counted from now: on a loaded machine a slow ping may already have restarted it once,
    # and ``>= 1`` then let the call reach the connection this restart was tearing down
    before = dyn_hub.connections["dyn"].status.restarts
    dyn_hub.connections["dyn"].restart()
    await until(lambda: dyn_hub.connections["dyn"].status.restarts > before)
    assert await dyn_hub.connections["dyn"].wait_ready(20)
    assert not completed(await dyn_hub.call_tool("dyn__grow", {})).is_error


async def test_down_server_call_is_an_error_result() -> None:
    hub = UpstreamHub({"silent": silent()}, FAST)
    async with hub.running():
        result = completed(await hub.call_tool("silent__x", {}))
    assert result.is_error
    assert "indisponible" in result.content[0].text  # type: ignore[union-attr]


async def test_no_child_is_left_after_the_hub_stops() -> None:
    servers = {"dyn": dynamic(), "silent": silent()}
    hub = UpstreamHub(servers, FAST)
    before = descendants()  # what earlier tests left running here (a session's redis-server)
    async with hub.running():
        assert await hub.connections["dyn"].wait_ready(20)
        children = descendants() - before
        assert any("mcp_dynamic_server.py" in cmdline(p) for p in children)
        assert any("mcp_silent_server.py" in cmdline(p) for p in children)
    await until(lambda: not any(alive(p) for p in children))


@needs_node
async def test_server_everything_stdio_through_registry() -> None:
    hub = UpstreamHub({"everything": everything_stdio()}, FAST)
    async with hub.running():
        assert await hub.connections["everything"].wait_ready(30)
        tools = {t.name: t for t in hub.list_tools()}
        params = StdioServerParameters(command="node", args=[str(EVERYTHING_JS), "stdio"])
        async with Client(params, mode="legacy") as direct:
            for tool in (await direct.list_tools()).tools:
                mine = tools[f"everything__{tool.name}"]
                assert mine.input_schema == tool.input_schema
                assert mine.annotations == tool.annotations
                assert mine.description == tool.description
        result = await hub.call_tool("everything__echo", {"message": "bonjour"})
        assert result.content[0].text == "Echo: bonjour"  # type: ignore[union-attr]
        steps: list[float] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            steps.append(progress)

        result = completed(
            await hub.call_tool(
                "everything__trigger-long-running-operation",
                {"duration": 0.3, "steps": 3},
                on_progress,
            )
        )
        assert not result.is_error
        assert steps == [1, 2, 3]  # a short task's few steps: all within the burst
        assert hub.list_prompts() and hub.list_resources()
        resource = hub.list_resources()[0]
        read = await hub.read_resource(types.ReadResourceRequestParams(uri=str(resource.uri)))
        assert isinstance(read, types.ReadResourceResult) and read.contents
        prompt = next(p for p in hub.list_prompts() if not p.arguments)
        got = await hub.get_prompt(types.GetPromptRequestParams(name=prompt.name))
        assert isinstance(got, types.GetPromptResult) and got.messages


@needs_node
@needs_time
async def test_time_and_filesystem_servers(tmp_path: object) -> None:
    servers = {
        "time": McpServerConfig(name="time", command=str(TIME_BIN)),
        "fs": McpServerConfig(name="fs", command="node", args=(str(FILESYSTEM_JS), str(tmp_path))),
    }
    hub = UpstreamHub(servers, FAST)
    async with hub.running():
        for connection in hub.connections.values():
            assert await connection.wait_ready(30)
        result = await hub.call_tool("time__get_current_time", {"timezone": "Europe/Paris"})
        assert "Europe/Paris" in result.content[0].text  # type: ignore[union-attr]
        result = await hub.call_tool("fs__list_allowed_directories", {})
        assert str(tmp_path) in result.content[0].text  # type: ignore[union-attr]


async def test_call_on_a_dead_child_restarts_it_without_waiting_for_a_ping() -> None:
    settings = SupervisorSettings(ping_interval=3600, backoff_initial=0.05)
    async with running_in_task(UpstreamHub({"dyn": dynamic()}, settings)) as hub:
        assert await hub.connections["dyn"].wait_ready(20)
        for pid in [p for p in descendants() if "mcp_dynamic_server.py" in cmdline(p)]:
            os.kill(pid, signal.SIGKILL)
        await until(lambda: not any("mcp_dynamic_server.py" in cmdline(p) for p in descendants()))
        result = completed(await hub.call_tool("dyn__grow", {}))
        assert result.is_error
        await until(lambda: hub.connections["dyn"].status.restarts >= 1)
        assert await hub.connections["dyn"].wait_ready(20)
        assert not completed(await hub.call_tool("dyn__grow", {})).is_error


async def test_restart_cuts_a_hung_start_short() -> None:
    settings = SupervisorSettings(init_timeout=3600, backoff_initial=0.05)
    async with running_in_task(UpstreamHub({"silent": silent()}, settings)) as hub:
        connection = hub.connections["silent"]
        await until(lambda: connection.status.state == ServerState.STARTING)
        connection.restart()
        await until(lambda: connection.status.restarts >= 1)
        assert connection.status.last_error is None  # a requested restart, not a failure


async def test_a_restart_is_told_at_once_and_calls_wait_for_it(dyn_hub: UpstreamHub) -> None:
    connection = dyn_hub.connections["dyn"]
    errors = connection.status.errors
    connection.restart()
    assert connection.status.state == ServerState.RESTARTING  # not « prêt » while it closes
    result = await dyn_hub.call_tool("dyn__grow", {})  # waits for the next round
    assert isinstance(result, types.CallToolResult) and not result.is_error
    assert dyn_hub.connections["dyn"].status.state == ServerState.DEGRADED  # usual (bad tools)
    assert connection.status.errors == errors


async def test_resources_without_templates_keep_the_server_up(dyn_hub: UpstreamHub) -> None:
    """Templates answered with "method not found" mean none: not a failed start."""
    assert [str(r.uri) for r in dyn_hub.list_resources()] == ["dyn://note"]
    assert dyn_hub.list_templates() == []
    assert dyn_hub.connections["dyn"].status.restarts == 0
