"""Team mode when an engine goes away: Redis degrades, PostgreSQL gives a French 503."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest

from hub.api.app import create_app
from hub.config import load_config
from tests.support.engines import running_postgres, running_redis
from tests.support.hub_configs import UPSTREAM_SECRET, write_config
from tests.support.json_values import Json
from tests.support.replicas import team_config
from tests.support.servers import serve

HELLO = {"model": "fake/echo", "messages": [{"role": "user", "content": "Bonjour"}]}


async def _until(http: httpx2.AsyncClient, check: Callable[[Json], bool]) -> Json:
    """Poll /health until ``check(body)`` holds (bounded: 20 s)."""
    for _ in range(200):
        body = (await http.get("/health")).json()
        if check(body):
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"état attendu jamais atteint : {body}")


async def test_redis_outage_degrades_sharing_but_never_fails_a_chat(
    tmp_path: Path, upstream_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hub.cluster")
    with running_redis() as redis_server:
        path = write_config(
            tmp_path, upstream_url, f'\n[cluster]\nredis_url = "{redis_server.url}"\n'
        )
        config = load_config(path, {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET})
        async with (
            serve(create_app(config)) as url,
            httpx2.AsyncClient(base_url=url, timeout=10) as http,
        ):
            await _until(http, lambda b: b["cluster"]["status"] == "opérationnel")
            redis_server.stop()
            for _ in range(3):  # never fails, never waits on Redis
                assert (await http.post("/chat/completions", json=HELLO)).status_code == 200
            degraded = await _until(http, lambda b: b["cluster"]["status"] == "dégradé")
            assert degraded["status"] == "dégradé" and degraded["cluster"]["erreur"]
            assert (await http.get("/health")).status_code == 200  # still serving
            assert "Redis injoignable" in caplog.text
            redis_server.start()  # same port: the link comes back by itself
            await _until(http, lambda b: b["status"] == "opérationnel")
            assert "rétablie" in caplog.text
            assert (await http.get("/api/stats")).json()["totals"]["requests"] == 3


async def test_postgresql_outage_is_a_french_503_and_rows_survive(
    tmp_path: Path, upstream_url: str, redis_url: str
) -> None:
    with running_postgres() as pg:
        path = team_config(tmp_path, upstream_url, pg.admin_url, redis_url, "solo")
        config = load_config(path, {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET})
        async with (
            serve(create_app(config)) as url,
            httpx2.AsyncClient(base_url=url, timeout=30) as http,
        ):
            assert (await http.post("/chat/completions", json=HELLO)).status_code == 200
            pg.stop()
            answered = 1
            for _ in range(3):
                response = await http.post("/chat/completions", json=HELLO)
                if response.status_code == 200:  # served from memory: its row waits
                    answered += 1
                    continue
                assert response.status_code == 503, response.text
                error = response.json()["error"]
                # the database cannot be read, or the request could not be recorded
                assert error["code"] in ("database_unavailable", "storage_unavailable")
                assert "base de données" in error["message"] or "enregistr" in error["message"]
            health = await http.get("/health")
            assert health.status_code == 503
            assert health.json()["database"]["status"] == "indisponible"
            pg.start()
            await _until(http, lambda b: b["database"]["status"] == "opérationnelle")
            for _ in range(50):  # stale pooled connections are dropped one by one
                if (await http.post("/chat/completions", json=HELLO)).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("le hub ne sert plus après le retour de PostgreSQL")
            answered += 1
            stats = await _until_rows(http, answered)
            assert stats["totals"]["requests"] == answered


async def _until_rows(http: httpx2.AsyncClient, count: int) -> Json:
    for _ in range(200):
        stats = (await http.get("/api/stats")).json()
        if stats["totals"]["requests"] >= count:
            return stats
        await asyncio.sleep(0.1)
    return stats
