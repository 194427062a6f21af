"""``kimi-proxy serve --workers N``: N replicas on one port, or one with a French warning."""

from __future__ import annotations

import asyncio
import os
import sys

import httpx2

from tests.conftest import UPSTREAM_SECRET, write_config
from tests.engines import free_port
from tests.replicas import team_config


async def _serve(config, *args: str) -> tuple[asyncio.subprocess.Process, int]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub", "serve", "--config", str(config), "--port", str(port),
        "--log-level", "warning", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "FAKE_UPSTREAM_KEY": UPSTREAM_SECRET},
    )  # fmt: skip
    return process, port


async def _replicas_seen(port: int, wanted: int) -> set[str]:
    """Replica names answering /health on one port (new connection each time; bounded)."""
    seen: set[str] = set()
    for _ in range(300):
        try:
            async with httpx2.AsyncClient(timeout=2) as http:
                body = (await http.get(f"http://127.0.0.1:{port}/health")).json()
            seen.add(body["replica"])
            if len(seen) >= wanted:
                break
        except httpx2.TransportError:
            await asyncio.sleep(0.1)  # not listening yet
    return seen


async def _stop(process: asyncio.subprocess.Process) -> str:
    process.terminate()
    output, _ = await asyncio.wait_for(process.communicate(), 30)
    return output.decode(errors="replace")


async def test_workers_are_replicas_of_one_hub(
    tmp_path, upstream_url, postgres_url, redis_url
) -> None:
    config = team_config(tmp_path, upstream_url, postgres_url, redis_url, "machine")
    process, port = await _serve(config, "--workers", "2")
    try:
        seen = await _replicas_seen(port, 2)
    finally:
        output = await _stop(process)
    assert len(seen) == 2, output
    assert all(name.startswith("machine/") for name in seen)


async def test_workers_without_cluster_fall_back_to_one_with_a_warning(
    tmp_path, upstream_url
) -> None:
    process, port = await _serve(write_config(tmp_path, upstream_url), "--workers", "3")
    try:
        seen = await _replicas_seen(port, 1)
    finally:
        output = await _stop(process)
    assert len(seen) == 1
    assert "AVERTISSEMENT" in output and "--workers 3 demande [cluster] redis_url" in output
