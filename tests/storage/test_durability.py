"""Nothing lost: kill -9, SIGTERM, a database that cannot open, a journal replayed twice.

The hub runs as a real ``kimi-proxy serve`` process against the fake upstream served
in the test's loop; rows are read back from a restarted hub, as a user would.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import anyio
import httpx2
import pytest
from anyio.abc import Process

from hub.core.records import RequestRecord, request_from_json
from hub.core.storage.journal import Journal, orphans, replay
from hub.core.storage.store import Store
from tests.support.chats import HELLO
from tests.support.fake_upstream import FakeUpstream
from tests.support.hub_configs import UPSTREAM_SECRET, write_config
from tests.support.hub_rows import stored_rows
from tests.support.json_values import Json
from tests.support.mcp_upstreams import PYTHON, ROOT
from tests.support.polling import until
from tests.support.ports import free_port
from tests.support.servers import serve


@asynccontextmanager
async def hub_process(config: Path) -> AsyncIterator[tuple[Process, httpx2.AsyncClient]]:
    port = free_port()
    command = [PYTHON, "-m", "hub", "serve", "--config", str(config), "--port", str(port)]
    process = await anyio.open_process(
        [*command, "--log-level", "warning"],
        cwd=ROOT,
        env={"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET, "PATH": "/usr/bin:/bin"},
        stdout=None,
        stderr=None,
    )
    async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:

        async def up() -> bool:
            try:
                return (await http.get("/health")).status_code == 200
            except httpx2.TransportError:
                return False

        with anyio.fail_after(60):
            while not await up():
                assert process.returncode is None, "le hub s'est arrêté au démarrage"
                await anyio.sleep(0.1)
        try:
            yield process, http
        finally:
            if process.returncode is None:
                process.terminate()
                with anyio.move_on_after(30):
                    await process.wait()
            if process.returncode is None:
                process.kill()
                await process.wait()


async def rows_after_restart(config: Path) -> list[Json]:
    async with hub_process(config) as (_, http):
        return await stored_rows(http)


async def first_event(http: httpx2.AsyncClient, body: Json, started: asyncio.Event) -> bytes:
    async with http.stream("POST", "/chat/completions", json=body) as response:
        async for chunk in response.aiter_bytes():
            started.set()
            await asyncio.sleep(3600)  # hold the stream open until the hub dies
            return chunk
    return b""


async def test_kill_9_leaves_interrupted_rows_not_nothing(tmp_path: Path) -> None:
    upstream = FakeUpstream(delay=1.0)
    async with serve(upstream.app()) as url:
        config = write_config(tmp_path, url)
        async with hub_process(config) as (process, http):
            for _ in range(10):
                ok = await http.post("/chat/completions", json={"model": "fake/echo",
                                                                "messages": HELLO})  # fmt: skip
                assert ok.status_code == 200
            events = [asyncio.Event() for _ in range(5)]
            body = {"model": "fake/slow", "messages": HELLO, "stream": True}
            streams = [asyncio.create_task(first_event(http, body, e)) for e in events]
            await until(lambda: all(e.is_set() for e in events))
            process.send_signal(signal.SIGKILL)
            await process.wait()
            for task in streams:
                task.cancel()
            await asyncio.gather(*streams, return_exceptions=True)
        rows = await rows_after_restart(config)
    assert len(rows) == 15  # 10 answered + 5 in flight: none lost
    statuses = sorted(r["status"] for r in rows if r["stream"])
    assert statuses == ["interrupted"] * 5
    # a start line holds only the request's own facts; replay adds the interrupted row's
    cut = [r for r in rows if r["stream"]]
    assert {(r["model_key"], r["provider"], r["http_status"], r["prompt_tokens"]) for r in cut} == {
        ("fake/slow", "fake", 0, 0)
    }
    assert all(r["error"].startswith("interrompue") and r["session_id"] for r in cut)
    assert all(r["status"] in ("ok", "interrupted") for r in rows if not r["stream"])
    assert len({r["request_id"] for r in rows}) == 15
    assert not list((tmp_path / "journal").glob("*.jsonl"))  # replayed, then deleted; the
    # restarted hub's own segment went at its clean stop


async def test_sigterm_waits_for_the_deadline_then_records_cancelled(tmp_path: Path) -> None:
    upstream = FakeUpstream(delay=2.0)  # 8 words × 2 s: longer than the deadline
    async with serve(upstream.app()) as url:
        config = write_config(tmp_path, url, "")
        text = config.read_text().replace("[server]\n", "[server]\nshutdown_timeout = 1\n", 1)
        config.write_text(text)
        async with hub_process(config) as (process, http):
            started = asyncio.Event()
            body = {"model": "fake/slow", "messages": HELLO, "stream": True}
            stream = asyncio.create_task(first_event(http, body, started))
            await until(started.is_set)
            process.send_signal(signal.SIGTERM)
            with anyio.fail_after(30):  # a hang guard: the deadline is 1 s
                await process.wait()
            stream.cancel()
            await asyncio.gather(stream, return_exceptions=True)
        [row] = await rows_after_restart(config)
    assert row["status"] == "cancelled" and row["http_status"] == 499


async def test_database_that_cannot_open_exits_with_a_french_error(tmp_path: Path) -> None:
    (tmp_path / "hub.db").mkdir()  # a directory where the database file should be
    config = write_config(tmp_path, "http://127.0.0.1:9")
    result = await anyio.run_process(
        [PYTHON, "-m", "hub", "serve", "--config", str(config), "--port", str(free_port())],
        cwd=ROOT,
        env={"FAKE_UPSTREAM_KEY": "k", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode != 0
    assert "Impossible d'ouvrir la base de données" in result.stderr.decode()


def _row(request_id: str, status: str = "ok") -> RequestRecord:
    return RequestRecord(
        session_id=1, created_at=1.0, model_key="m", provider="p", upstream_model="u",
        stream=False, prompt_tokens=3, completion_tokens=2, usage_source="upstream",
        prompt_estimate=3, ttfb_ms=1.0, total_ms=2.0, status=status,  # type: ignore[arg-type]
        http_status=200, error=None, cost=0.0, request_id=request_id,
    )  # fmt: skip


async def test_journal_replay_is_idempotent_and_ignores_live_segments(tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    journal = Journal(directory, "hub.db")
    journal.started("a", _row("a", "interrupted").to_json())
    journal.started("b", _row("b", "interrupted").to_json())
    journal.ended([("a", _row("a").to_json())])
    assert orphans(directory, "hub.db") == []  # held by this live journal
    with (directory / "hub.db.1.0.jsonl").open("w") as cut:
        cut.write('{"k": "start", "id": "c", "row": {"session_id"')  # disk full mid-line
    journal.close()  # like a death: rows not committed, the files stay, unlocked
    paths = orphans(directory, "hub.db")
    assert len(paths) == 2
    rows = [request_from_json(r) for r in replay(paths)]
    assert sorted((r.request_id, r.status) for r in rows if r) == [
        ("a", "ok"),
        ("b", "interrupted"),
    ]
    async with await Store.open(tmp_path / "hub.db") as store:
        await store.create_session("s", active=True)
        records = [r for r in rows if r]
        first = await store.insert_requests(records)
        again = await store.insert_requests(records)
        assert all(first) and again == [None, None]
        assert len(await store.list_requests()) == 2


def test_journal_lines_are_json_rows(tmp_path: Path) -> None:
    journal = Journal(tmp_path, "x.db")
    journal.started("r1", _row("r1", "interrupted").to_json())
    [segment] = tmp_path.glob("x.db.*.jsonl")
    entry = json.loads(segment.read_text())
    assert entry["id"] == "r1" and request_from_json(entry["row"]) == _row("r1", "interrupted")
    journal.committed(["r1"])
    journal.close()
    assert not list(tmp_path.glob("*.jsonl"))  # everything committed: nothing kept


def test_a_row_keeps_its_cached_tokens_through_the_journal(tmp_path: Path) -> None:
    row = replace(_row("r1"), cached_tokens=7)  # replay used to read them back as 0
    assert request_from_json(row.to_json()) == row


def test_an_answered_line_turns_the_start_row_into_the_answer(tmp_path: Path) -> None:
    # kill -9 between the answer and the background row: the start row plus the answer's
    # facts must give the status and upstream usage the client saw
    journal = Journal(tmp_path, "x.db")
    start = replace(_row("r1", "interrupted"), usage_source="estimated", prompt_tokens=0)
    journal.started("r1", start.to_json())
    journal.answered("r1", {"status": "ok", "http_status": 200, "prompt_tokens": 41,
                            "usage_source": "upstream", "total_ms": 9.5})  # fmt: skip
    journal.started("r2", _row("r2", "interrupted").to_json())
    journal.close()
    rows = {r.request_id: r for r in map(request_from_json, replay(orphans(tmp_path, "x.db"))) if r}
    assert (rows["r1"].status, rows["r1"].prompt_tokens, rows["r1"].total_ms) == ("ok", 41, 9.5)
    assert rows["r1"].usage_source == "upstream" and rows["r1"].session_id == 1
    assert rows["r2"].status == "interrupted"


def test_committing_a_rotated_segment_closes_it_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a batch holding several rows of a rotated segment closed its descriptor once per row:
    # EBADF killed the row writer (no row stored after ~8 MiB of journal, stop hung) or,
    # had the number been reused meanwhile, closed some other file or socket
    monkeypatch.setattr("hub.core.storage.journal.SEGMENT_BYTES", 200)
    journal = Journal(tmp_path, "x.db")
    for i in range(5):
        journal.started(f"r{i}", _row(f"r{i}", "interrupted").to_json())
    journal.committed([])  # past SEGMENT_BYTES: a new segment, the old one still open
    assert len(list(tmp_path.glob("*.jsonl"))) == 2
    journal.committed([f"r{i}" for i in range(5)])
    assert len(list(tmp_path.glob("*.jsonl"))) == 1  # the old one is gone, the current stays
    journal.close()
    assert not list(tmp_path.glob("*.jsonl"))
