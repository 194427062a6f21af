"""Supervision of stdio children: exit seen at once, last error kept, one event per
change, whole process group ended, no orphans after many crashes."""

from __future__ import annotations

import itertools
import json
import os
import signal
from pathlib import Path

import anyio
import mcp_types as types
from mcp.client import Client
from mcp.client.session import IncomingMessage, MessageHandlerFnT

from hub.api.app import create_app
from hub.config import McpServerConfig, load_config
from hub.core.jsontypes import JSONObject
from hub.features.mcp_hub import ServerState, SupervisorSettings, UpstreamHub
from tests.support.hub_configs import write_config
from tests.support.mcp_upstreams import PYTHON, TESTS, dynamic, running_in_task
from tests.support.polling import until
from tests.support.processes import alive
from tests.support.servers import serve

# Pings far apart: whatever is noticed here is noticed through the process exit.
NO_PING = SupervisorSettings(init_timeout=20, ping_interval=3600, backoff_initial=1.0)
DYN = str(TESTS / "mcp_dynamic_server.py")
ORPHAN_MARK = "617.25"  # `sleep 617.25`: a grandchild no other test starts


def processes_with(argument: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argument.encode() in argv and alive(int(entry.name)):
                found.append(int(entry.name))
    return found


async def test_kill_9_is_reported_down_with_its_signal() -> None:
    events: list[JSONObject] = []
    hub = UpstreamHub({"dyn": dynamic()}, NO_PING, on_status=events.append)
    async with running_in_task(hub):
        connection = hub.connections["dyn"]
        assert await connection.wait_ready(20)
        pid = connection.output.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        # a hang guard, not a timing assertion: the ping would take an hour
        await until(lambda: connection.status.state == ServerState.DOWN, 5)
        status = connection.status.to_json()
        assert status["exit_code"] == -9 and "SIGKILL" in str(status["last_error"])
        await until(lambda: connection.status.state != ServerState.DOWN, 20)
        assert await connection.wait_ready(20)
        assert "SIGKILL" in str(connection.status.last_error)  # still shown after the restart
    states = [e["state"] for e in events]
    assert "down" in states
    assert all(a != b for a, b in itertools.pairwise(events))  # once per change


async def test_exit_code_and_stderr_are_kept_after_the_restart(tmp_path: Path) -> None:
    marker = tmp_path / "crashed-once"
    script = (
        f'if [ ! -e "{marker}" ]; then touch "{marker}"; '
        'echo "démarrage" >&2; echo "erreur fatale : base absente" >&2; exit 3; fi; '
        f'exec "{PYTHON}" "{DYN}"'
    )
    config = McpServerConfig(name="flaky", command="sh", args=("-c", script))
    settings = SupervisorSettings(init_timeout=20, ping_interval=3600, backoff_initial=0.05)
    hub = UpstreamHub({"flaky": config}, settings)
    async with running_in_task(hub):
        connection = hub.connections["flaky"]
        await until(lambda: connection.status.restarts >= 1, 20)
        assert await connection.wait_ready(20)
        status = connection.status.to_json()
    assert status["state"] == "degraded"  # the dynamic server lists two bad tools
    assert status["exit_code"] == 3
    assert status["last_error"] == (
        "processus terminé (code 3) ; stderr : erreur fatale : base absente"
    )
    assert status["stderr"] == ["démarrage", "erreur fatale : base absente"]
    assert isinstance(status["last_error_at"], float)


async def test_wait_ready_outlasts_a_failed_first_round(tmp_path: Path) -> None:
    """A caller waiting while the first start fails is woken by the second round (each
    round has its own ready event: it used to wait on the dropped one until its limit)."""
    marker = tmp_path / "crashed-once"
    script = f'if [ ! -e "{marker}" ]; then touch "{marker}"; exit 3; fi; exec "{PYTHON}" "{DYN}"'
    config = McpServerConfig(name="flaky", command="sh", args=("-c", script))
    settings = SupervisorSettings(init_timeout=20, ping_interval=3600, backoff_initial=0.05)
    hub = UpstreamHub({"flaky": config}, settings)
    async with running_in_task(hub):
        connection = hub.connections["flaky"]
        assert await connection.wait_ready(20)  # called while the first round starts
        assert connection.status.restarts == 1


async def test_no_orphans_after_50_crash_restart_cycles() -> None:
    # Each child leaves a grandchild in its process group, then exits: a crash.
    script = f"sleep {ORPHAN_MARK} & echo 'plantage' >&2; exit 7"
    config = McpServerConfig(name="crashy", command="sh", args=("-c", script))
    settings = SupervisorSettings(ping_interval=3600, backoff_initial=0.005, backoff_max=0.01)
    hub = UpstreamHub({"crashy": config}, settings)
    before = set(processes_with(ORPHAN_MARK))  # an earlier run's, not this one's

    def ours() -> set[int]:
        return set(processes_with(ORPHAN_MARK)) - before

    async with running_in_task(hub):
        connection = hub.connections["crashy"]
        await until(lambda: connection.status.restarts >= 50, 120)
        leftovers = ours()
        assert connection.status.exit_code == 7
        assert connection.status.stderr == ["plantage"]
    assert len(leftovers) <= 1  # at most the grandchild of the round running right then
    await until(lambda: not ours(), 10)


async def test_list_changed_and_mcp_status_once_per_change(
    tmp_path: Path, upstream_url: str
) -> None:
    extra = f"""
[mcp.servers.dyn]
command = {json.dumps(PYTHON)}
args = [{json.dumps(DYN)}]

[mcp.profiles.agent]
discovery = "search"
"""
    config = load_config(write_config(tmp_path, upstream_url, extra), {"FAKE_UPSTREAM_KEY": "k"})
    notes: list[str] = []
    search_notes: list[str] = []

    def recorder(into: list[str]) -> MessageHandlerFnT:
        async def on_message(message: IncomingMessage) -> None:
            if isinstance(message, types.ToolListChangedNotification):
                into.append("tools")
            elif isinstance(message, types.ServerNotification):
                into.append(type(message).__name__)

        return on_message

    async with serve(create_app(config)) as url:
        async with (
            Client(f"{url}/mcp", mode="legacy", message_handler=recorder(notes)) as client,
            Client(f"{url}/profiles/agent/mcp", mode="legacy",
                   message_handler=recorder(search_notes)) as searching,
        ):  # fmt: skip
            with anyio.fail_after(20):
                while "dyn__grow" not in {t.name for t in (await client.list_tools()).tools}:
                    await anyio.sleep(0.05)
            await searching.list_tools()
            notes.clear()
            search_notes.clear()
            await client.call_tool("dyn__grow", {})
            with anyio.fail_after(10):
                while not notes or not search_notes:
                    await anyio.sleep(0.02)
            await client.call_tool("dyn__env", {"name": "HOME"})  # a round trip after it
            await client.list_tools()
            found = await searching.call_tool("tool_search", {"query": "ajouté"})
    assert notes == ["tools"]  # tools only: prompts and resources did not change
    assert search_notes == ["tools"]  # search mode: the catalogue changed, once
    assert found.structured_content["results"][0]["name"] == "dyn__extra"
