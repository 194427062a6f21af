from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import httpx2
import pytest
import redis.asyncio
from openai import AsyncOpenAI

from hub.api.app import create_app
from hub.config import HubConfig, load_config
from tests.support.engines import missing_engines, running_postgres, running_redis
from tests.support.fake_upstream import FakeUpstream
from tests.support.servers import serve

if TYPE_CHECKING:
    from tests.support.replicas import Replica

CONFIG = """
[server]
max_body_bytes = 65536

[database]
path = "hub.db"

[retry]
attempts = 3
backoff_initial = 0.01
backoff_max = 0.5
connect_timeout = 2.0
read_timeout = {read_timeout}

[providers.fake]
base_url = "{upstream}/v1"
api_key = "${{FAKE_UPSTREAM_KEY}}"

[providers.other]
base_url = "{upstream}/v1"

[models."fake/echo"]
provider = "fake"
model = "echo"
max_context = 1000
input_price = 1.0
output_price = 2.0

[models."other/echo"]
provider = "other"
model = "echo"
max_context = 8000

[models.small]
provider = "fake"
model = "echo"
max_context = 60
"""

UPSTREAM_SECRET = "sk-upstream-secret-123"


@pytest.fixture
def fake_upstream() -> FakeUpstream:
    return FakeUpstream()


@pytest.fixture
async def upstream_url(fake_upstream: FakeUpstream) -> AsyncIterator[str]:
    async with serve(fake_upstream.app()) as url:
        yield url


def write_config(
    tmp_path: Path, upstream_url: str, extra: str = "", read_timeout: float = 5.0
) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(upstream=upstream_url, read_timeout=read_timeout) + extra)
    return path


@pytest.fixture
def hub_config(tmp_path: Path, upstream_url: str) -> HubConfig:
    return load_config(write_config(tmp_path, upstream_url), {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET})


@pytest.fixture
async def hub_url(hub_config: HubConfig) -> AsyncIterator[str]:
    async with serve(create_app(hub_config)) as url:
        yield url


@pytest.fixture
async def http(hub_url: str) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(base_url=hub_url, timeout=10) as client:
        yield client


@pytest.fixture
async def openai_client(hub_url: str) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=hub_url, api_key="client-key", max_retries=0) as client:
        yield client


def _engines_or_skip() -> None:
    missing = missing_engines()
    if missing is None:
        return
    if os.environ.get("CI"):  # CI installs them (.ci/run): never a silent skip there
        pytest.fail(f"{missing} : .ci/run doit l'installer")
    pytest.skip(f"{missing} : installez-le pour lancer les tests du mode équipe")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """One PostgreSQL 15 cluster per test session; tests get their own database in it."""
    _engines_or_skip()
    with running_postgres() as server:
        yield server.admin_url


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    _engines_or_skip()
    with running_redis() as server:
        yield server.url


@pytest.fixture
async def postgres_url(postgres_server: str) -> str:
    """A fresh, empty database for this test."""
    name = f"t{uuid.uuid4().hex[:16]}"
    conn = await asyncpg.connect(postgres_server)
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    return postgres_server.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
async def redis_url(redis_server: str) -> str:
    """The session's Redis, emptied for this test."""
    client = redis.asyncio.Redis.from_url(redis_server)
    try:
        await client.flushall()
    finally:
        await client.aclose()
    return redis_server


@pytest.fixture
async def two_replicas(
    tmp_path: Path, upstream_url: str, postgres_url: str, redis_url: str
) -> AsyncIterator[list[Replica]]:
    """Replicas « A » and « B »: two hub processes on this test's PostgreSQL and Redis."""
    from tests.support.replicas import replicas  # tests.support.replicas imports this module

    async with replicas(tmp_path, upstream_url, postgres_url, redis_url, ("A", "B")) as started:
        yield started


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a Store opens: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "hub.db")
    url: str = request.getfixturevalue("postgres_url")
    return url
