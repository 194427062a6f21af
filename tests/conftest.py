from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
from openai import AsyncOpenAI

from hub.api.app import create_app
from hub.config import HubConfig, load_config
from tests.fake_upstream import FakeUpstream
from tests.servers import serve

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
