"""server-everything as a standalone Streamable HTTP process, managed by
scripts/start-mcp-servers.sh; the hub reaches it by URL and survives its restart."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.config import load_config
from hub.features.mcp_hub import SupervisorSettings, UpstreamHub
from tests.support.mcp_upstreams import EVERYTHING_JS, PYTHON, ROOT, needs_node, running_in_task
from tests.support.ports import free_port
from tests.support.processes import alive

SCRIPT = ROOT / "scripts" / "start-mcp-servers.sh"
TOKEN = "jeton-http-4242"


@pytest.fixture
def http_config(tmp_path: Path) -> Iterator[Path]:
    port = free_port()
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[mcp.servers.evhttp]
command = "node"
args = [{json.dumps(str(EVERYTHING_JS))}, "streamableHttp"]
url = "http://127.0.0.1:{port}/mcp"
env = {{ PORT = "{port}", EVERYTHING_TOKEN = "{TOKEN}" }}
headers = {{ Authorization = "Bearer {TOKEN}" }}
"""
    )
    yield path
    script(path, tmp_path, "stop")


def script(config: Path, run_dir: Path, action: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KIMI_PROXY_PYTHON": PYTHON,
        "KIMI_PROXY_MCP_RUN_DIR": str(run_dir / "run"),
    }
    return subprocess.run(
        [str(SCRIPT), action, "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def pid_of(run_dir: Path) -> int:
    return int((run_dir / "run" / "evhttp.pid").read_text().split()[0])


@needs_node
def test_script_start_is_idempotent_and_stop_ends_only_its_process(
    http_config: Path, tmp_path: Path
) -> None:
    first = script(http_config, tmp_path, "start")
    assert first.returncode == 0, first.stderr
    assert "prêt" in first.stderr
    pid = pid_of(tmp_path)
    again = script(http_config, tmp_path, "start")
    assert again.returncode == 0 and "déjà" in again.stderr
    assert pid_of(tmp_path) == pid
    status = script(http_config, tmp_path, "status")
    assert "evhttp" in status.stdout and "prêt" in status.stdout
    assert TOKEN not in status.stdout + status.stderr + first.stderr
    run_file = tmp_path / "run" / "evhttp.run"
    assert run_file.stat().st_mode & 0o077 == 0  # secrets readable by the owner only
    assert script(http_config, tmp_path, "stop").returncode == 0
    assert not alive(pid)
    assert "arrêté" in script(http_config, tmp_path, "status").stdout


@needs_node
async def test_hub_reconnects_after_upstream_restart(http_config: Path, tmp_path: Path) -> None:
    assert script(http_config, tmp_path, "start").returncode == 0
    servers = load_config(http_config, {}).mcp.servers
    # A long ping interval: the restart is noticed through the stale session (HTTP 404).
    settings = SupervisorSettings(init_timeout=10, ping_interval=3600, backoff_initial=0.05)
    hub = UpstreamHub(servers, settings)
    async with running_in_task(hub):
        assert await hub.connections["evhttp"].wait_ready(30)
        assert hub.connections["evhttp"].status.transport == "http"
        result = await hub.call_tool("evhttp__echo", {"message": "un"})
        assert result.content[0].text == "Echo: un"  # type: ignore[union-attr]
        assert script(http_config, tmp_path, "restart").returncode == 0
        result = await hub.call_tool("evhttp__echo", {"message": "deux"})
        assert result.content[0].text == "Echo: deux"  # type: ignore[union-attr]
        assert hub.connections["evhttp"].status.restarts >= 1
        assert TOKEN not in json.dumps(hub.statuses())
