"""The whole hub on PostgreSQL (``[database] url``): real requests, real server."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from openai import AsyncOpenAI

from hub.api.app import create_app
from hub.config import ConfigError, load_config
from tests.support.hub_configs import UPSTREAM_SECRET, write_config
from tests.support.servers import serve


def _config_on(tmp_path: Path, upstream_url: str, database_url: str) -> Path:
    path = write_config(tmp_path, upstream_url)
    text = path.read_text().replace('path = "hub.db"', f'url = "{database_url}"\npool_size = 4')
    path.write_text(text)
    return path


async def test_the_hub_serves_and_records_on_postgresql(
    tmp_path: Path, upstream_url: str, postgres_url: str
) -> None:
    config = load_config(
        _config_on(tmp_path, upstream_url, postgres_url), {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET}
    )
    assert config.database.url == postgres_url and config.database.pool_size == 4
    async with (
        serve(create_app(config)) as url,
        httpx2.AsyncClient(base_url=url, timeout=10) as http,
        AsyncOpenAI(base_url=url, api_key="k", max_retries=0) as client,
    ):
        health = (await http.get("/health")).json()
        assert health["database"]["status"] == "opérationnelle"
        hostile = await http.post("/api/sessions", json={"name": "nul\x00 é 🙂"})
        assert hostile.status_code == 201, hostile.text
        answer = await client.chat.completions.create(
            model="fake/echo", messages=[{"role": "user", "content": "Bonjour"}]
        )
        assert answer.choices[0].message.content
        stream = await client.chat.completions.create(
            model="fake/echo", messages=[{"role": "user", "content": "Salut"}], stream=True
        )
        assert [chunk async for chunk in stream]
        stats = (await http.get("/api/stats")).json()
        assert stats["totals"]["requests"] == 2
        metrics = (await http.get(f"/api/sessions/{hostile.json()['id']}/metrics")).json()
        assert len(metrics["requests"]) == 2
        export = await http.get("/api/export/csv")
        assert export.status_code == 200 and export.text.count("\n") >= 3
    assert not (tmp_path / "hub.db").exists()  # nothing went to SQLite


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ('"mysql://x/y"', "postgresql://"),
        ('"sqlite:///x.db"', "postgresql://"),
        ("5", "chaîne"),
    ],
)
def test_database_url_must_be_postgresql(tmp_path: Path, value: str, problem: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[database]\nurl = {value}\n")
    with pytest.raises(ConfigError, match=r"database\.url") as failure:
        load_config(path, {})
    assert problem in str(failure.value)


def test_pool_size_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[database]\nurl = "postgresql://h/db"\npool_size = 0\n')
    with pytest.raises(ConfigError, match="pool_size"):
        load_config(path, {})
