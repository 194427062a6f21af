"""A failing database or a full disk: rows wait, /health says why, nothing answered unrecorded.

The full disk is real (a 4 MiB tmpfs, when the test may mount one); the database that
fails while the journal still works is injected, as it is hard to cause for real.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import anyio
import httpx2
import pytest

from hub.api.app import create_app
from hub.config import load_config
from hub.core.records import RequestRecord
from hub.core.storage.journal import Journal
from hub.core.storage.store import Store
from hub.services.recording.row_writer import RowWriter, StorageUnavailable
from tests.support.asgi import in_process
from tests.support.chats import HELLO
from tests.support.hub_configs import UPSTREAM_SECRET, write_config
from tests.support.hub_rows import stored_rows


class FailingStore(Store):
    """A real store whose batch insert fails while ``broken`` (disk full, read-only…)."""

    broken = False
    attempts = 0

    async def insert_requests(
        self, records: Sequence[RequestRecord], *, provisional: bool = False
    ) -> list[int | None]:
        self.attempts += 1
        if self.broken:
            raise sqlite3.OperationalError("database or disk is full")
        return await super().insert_requests(records, provisional=provisional)


def _row(session_id: int, request_id: str) -> RequestRecord:
    return RequestRecord(
        session_id=session_id, created_at=1.0, model_key="m", provider="p", upstream_model="u",
        stream=False, prompt_tokens=1, completion_tokens=1, usage_source="upstream",
        prompt_estimate=1, ttfb_ms=None, total_ms=1.0, status="ok", http_status=200,
        error=None, cost=0.0, request_id=request_id,
    )  # fmt: skip


async def _built(row: RequestRecord) -> RequestRecord:
    return row


async def test_failing_database_queues_rows_logs_once_and_recovers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hub.rows")
    store = FailingStore((await Store.open(tmp_path / "hub.db")).db)
    session = await store.create_session("s", active=True)
    stored: list[RequestRecord] = []
    writer = RowWriter(store, Journal(tmp_path / "journal", "hub.db"), stored.append, 3)
    task = asyncio.create_task(writer.run())
    try:
        store.broken = True
        for i in range(3):
            writer.begin(f"r{i}", _row(session.id, f"r{i}").to_json())
            writer.finish(_built(_row(session.id, f"r{i}")), journal=True)
        with anyio.fail_after(30):  # a hang guard: several failed attempts, one incident
            while store.attempts < 3:
                await asyncio.sleep(0.05)
        health = writer.health()
        assert not health.ok and "disk is full" in (health.reason or "")
        assert health.queued == 3 and health.journal_pending == 3
        with pytest.raises(StorageUnavailable) as refused:
            # the queue is full: refused, not lost
            writer.begin("r3", _row(session.id, "r3").to_json())
        assert refused.value.status == 503 and refused.value.code == "storage_unavailable"
        store.broken = False
        await writer.drained(give_up_on_failure=False)
        assert writer.health().ok and [r.request_id for r in stored] == ["r0", "r1", "r2"]
        assert writer.health().journal_pending == 0
        messages = [r.getMessage() for r in caplog.records]
        assert sum("en échec" in m for m in messages) == 1
        assert sum("rétablie" in m for m in messages) == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        writer.close()
        await store.close()


async def test_a_failing_listener_does_not_stop_the_writer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="hub.rows")
    store = await Store.open(tmp_path / "hub.db")
    session = await store.create_session("s", active=True)
    seen: list[str | None] = []

    def listener(row: RequestRecord) -> None:  # a dashboard event that fails to build
        seen.append(row.request_id)
        if row.request_id == "r0":
            raise ValueError("événement impossible")

    writer = RowWriter(store, Journal(tmp_path / "journal", "hub.db"), listener)
    task = asyncio.create_task(writer.run())
    try:
        for batch in (("r0", "r1"), ("r2",)):  # the second batch after the failure
            for request_id in batch:
                writer.begin(request_id, _row(session.id, request_id).to_json())
                writer.finish(_built(_row(session.id, request_id)), journal=False)
            with anyio.fail_after(30):  # the writer died before: this waited forever
                await writer.drained(give_up_on_failure=False)
        assert seen == ["r0", "r1", "r2"] and len(await store.list_requests()) == 3
        assert any("non publié" in r.getMessage() for r in caplog.records)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        writer.close()
        await store.close()


@contextmanager
def tiny_disk(where: Path) -> Iterator[Path]:
    where.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("monter un tmpfs demande root (le disque plein réel n'est pas testable ici)")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"tmpfs refusé par le système : {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    filler = disk / f"filler-{len(list(disk.glob('filler-*')))}"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 512, 64, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)
    return filler


async def _chat(http: httpx2.AsyncClient) -> httpx2.Response:
    response = await http.post("/chat/completions", json={"model": "fake/echo", "messages": HELLO})
    if response.status_code != 200:  # the documented refusal, OpenAI-shaped
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "storage_unavailable"
    return response


async def test_full_disk_refuses_or_queues_and_loses_nothing(
    tmp_path: Path, upstream_url: str
) -> None:
    with tiny_disk(tmp_path / "disk") as disk:
        config_path = write_config(tmp_path, upstream_url)
        text = config_path.read_text().replace('path = "hub.db"', f'path = "{disk}/hub.db"')
        config_path.write_text(text)
        config = load_config(config_path, {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET})
        async with in_process(create_app(config)) as hub, hub.http() as http:
            filler = fill(disk)
            first = await _chat(http)  # no session yet: creating one needs the disk
            assert first.status_code == 503
            filler.unlink()
            assert (await _chat(http)).status_code == 200
            filler = fill(disk)
            answers = [await _chat(http) for _ in range(20)]
            health = await http.get("/health")
            assert health.status_code == 503 and health.json()["status"] == "dégradé"
            assert health.json()["database"]["erreur"]
            filler.unlink()
            assert (await _chat(http)).status_code == 200
            for _ in range(200):  # the writer retries with backoff (≤ 5 s)
                if (await http.get("/health")).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            answered = 2 + sum(r.status_code == 200 for r in answers)
            rows = await stored_rows(http)
            assert len(rows) == answered
