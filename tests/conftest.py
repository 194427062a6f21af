from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx2
import pytest
import redis.asyncio
from openai import AsyncOpenAI
from playwright.async_api import Browser

from hub.api.app import create_app
from hub.config import HubConfig, load_config
from tests.support.asgi import InProcess, in_process
from tests.support.dashboard_browser import HAVE_CHROMIUM, chromium
from tests.support.engines import missing_engines, running_postgres, running_redis
from tests.support.fake_upstream import FakeUpstream
from tests.support.hub_configs import UPSTREAM_SECRET, write_config
from tests.support.replicas import Replica, replicas
from tests.support.servers import serve


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's chromium; the test skips without it (never a downloaded browser)."""
    if not HAVE_CHROMIUM:
        pytest.skip(
            "/usr/bin/chromium absent (apt-get install chromium) : tests navigateur ignorés"
        )
    async with chromium() as launched:
        yield launched


@pytest.fixture
def fake_upstream() -> FakeUpstream:
    return FakeUpstream()


@pytest.fixture
async def upstream_url(fake_upstream: FakeUpstream) -> AsyncIterator[str]:
    async with serve(fake_upstream.app()) as url:
        yield url


@pytest.fixture
def hub_config(tmp_path: Path, upstream_url: str) -> HubConfig:
    return load_config(write_config(tmp_path, upstream_url), {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET})


@pytest.fixture
async def asgi_hub(
    hub_config: HubConfig, request: pytest.FixtureRequest
) -> AsyncIterator[InProcess]:
    """The hub of ``hub_config`` started in-process: clients reach it with no socket."""
    if "hub_url" in request.fixturenames:  # two hubs on one database file
        pytest.fail("asgi_* et hub_url dans un même test : choisir l'un ou l'autre")
    async with in_process(create_app(hub_config)) as hub:
        yield hub


@pytest.fixture
async def asgi_http(asgi_hub: InProcess) -> AsyncIterator[httpx2.AsyncClient]:
    """An httpx2 client of the in-process hub (``asgi_hub``)."""
    async with asgi_hub.http() as client:
        yield client


@pytest.fixture
async def asgi_openai(asgi_hub: InProcess) -> AsyncIterator[AsyncOpenAI]:
    """The openai SDK on the in-process hub (``asgi_hub``)."""
    async with asgi_hub.openai() as client:
        yield client


@pytest.fixture
async def hub_url(hub_config: HubConfig) -> AsyncIterator[str]:
    """The hub of ``hub_config`` served by uvicorn (the hub's protocol) on loopback."""
    async with serve(create_app(hub_config)) as url:
        yield url


@pytest.fixture
async def http(hub_url: str) -> AsyncIterator[httpx2.AsyncClient]:
    """An httpx2 client of ``hub_url``, over the socket."""
    async with httpx2.AsyncClient(base_url=hub_url, timeout=10) as client:
        yield client


@pytest.fixture
async def openai_client(hub_url: str) -> AsyncIterator[AsyncOpenAI]:
    """The openai SDK on ``hub_url``, over the socket."""
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
    async with replicas(tmp_path, upstream_url, postgres_url, redis_url, ("A", "B")) as started:
        yield started


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a Store opens: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "hub.db")
    url: str = request.getfixturevalue("postgres_url")
    return url
