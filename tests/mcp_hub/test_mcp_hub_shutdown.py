"""Stopping the hub process (SIGTERM, Ctrl-C) leaves no upstream child behind."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import anyio
import httpx2
import pytest

from tests.support.mcp_upstreams import EVERYTHING_JS, PYTHON, ROOT, TESTS
from tests.support.polling import until
from tests.support.ports import free_port
from tests.support.processes import alive, cmdline, descendants


def config_text(tmp_path: Path) -> str:
    dynamic = json.dumps(str(TESTS / "mcp_dynamic_server.py"))
    silent = json.dumps(str(TESTS / "mcp_silent_server.py"))
    text = f"""
[database]
path = "{tmp_path / "hub.db"}"

[mcp.servers.dyn]
command = {json.dumps(PYTHON)}
args = [{dynamic}]

[mcp.servers.silent]
command = {json.dumps(PYTHON)}
args = [{silent}]
"""
    if EVERYTHING_JS.exists():
        script = json.dumps(str(EVERYTHING_JS))
        text += f'\n[mcp.servers.everything]\ncommand = "node"\nargs = [{script}, "stdio"]\n'
    return text


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_stopping_the_hub_ends_every_child(tmp_path: Path, sig: signal.Signals) -> None:
    config = tmp_path / "config.toml"
    config.write_text(config_text(tmp_path))
    port = free_port()
    command = [PYTHON, "-m", "hub", "serve", "--config", str(config), "--port", str(port)]
    process = await anyio.open_process(
        [*command, "--log-level", "warning"], cwd=ROOT, stdout=None, stderr=None
    )
    try:
        async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            states: dict[str, str] = {}

            async def poll() -> None:
                try:
                    response = await http.get("/api/mcp/servers")
                except httpx2.TransportError:
                    return
                states.update({s["name"]: s["state"] for s in response.json()["servers"]})

            # three children to start on a machine that may be busy with other tests
            with anyio.fail_after(90):
                while states.get("dyn") not in ("ready", "degraded") or (
                    EVERYTHING_JS.exists() and states.get("everything") != "ready"
                ):
                    await poll()
                    await anyio.sleep(0.05)
        children = descendants(process.pid)
        lines = [cmdline(p) for p in children]
        assert any("mcp_dynamic_server.py" in line for line in lines)
        assert any("mcp_silent_server.py" in line for line in lines)
        process.send_signal(sig)
        with anyio.fail_after(30):
            await process.wait()
        await until(lambda: not any(alive(p) for p in children), 10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
