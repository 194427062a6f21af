"""Hub replicas as real processes (``python -m hub serve``) for the team-mode tests."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2

from tests.support.hub_configs import UPSTREAM_SECRET, write_config
from tests.support.ports import free_port


def team_config(
    tmp_path: Path,
    upstream_url: str,
    database_url: str,
    redis_url: str,
    replica: str,
    extra: str = "",
) -> Path:
    """A config file for one replica: same database and Redis for all of them."""
    folder = tmp_path / replica
    folder.mkdir(exist_ok=True)
    path = write_config(
        folder,
        upstream_url,
        f'\n[cluster]\nredis_url = "{redis_url}"\nreplica = "{replica}"\n' + extra,
    )
    path.write_text(path.read_text().replace('path = "hub.db"', f'url = "{database_url}"'))
    return path


@dataclass
class Replica:
    name: str
    config: Path
    port: int
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        log = (self.config.parent / "hub.log").open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hub", "serve", "--config", str(self.config),
            "--port", str(self.port), "--log-level", "warning",
            stdout=log, stderr=log, env={**os.environ, "FAKE_UPSTREAM_KEY": UPSTREAM_SECRET},
        )  # fmt: skip
        log.close()
        await self.wait_ready()

    async def wait_ready(self) -> None:
        """Until /health answers with the cluster link up (at most 60 s)."""
        async with httpx2.AsyncClient(base_url=self.url, timeout=2) as http:
            for _ in range(600):
                assert self.process is not None
                if self.process.returncode is not None:
                    raise RuntimeError(f"{self.name} s'est arrêté : {self.log()[-3000:]}")
                try:
                    body = (await http.get("/health")).json()
                    if body.get("cluster", {}).get("status") == "opérationnel":
                        return
                except httpx2.TransportError:
                    pass  # not listening yet
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} ne répond pas : {self.log()[-3000:]}")

    def log(self) -> str:
        return (self.config.parent / "hub.log").read_text(errors="replace")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), 20)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


@asynccontextmanager
async def replicas(
    tmp_path: Path,
    upstream_url: str,
    database_url: str,
    redis_url: str,
    names: tuple[str, ...],
    extra: str = "",
) -> AsyncIterator[list[Replica]]:
    """``extra``: more TOML for every replica's config (MCP servers, say)."""
    started = [
        Replica(
            n, team_config(tmp_path, upstream_url, database_url, redis_url, n, extra), free_port()
        )
        for n in names
    ]
    try:
        await asyncio.gather(*(r.start() for r in started))
        yield started
    finally:
        await asyncio.gather(*(r.stop() for r in started))
