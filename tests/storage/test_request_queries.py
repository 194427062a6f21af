"""Request queries and the body store on both engines (SQLite, real PostgreSQL 15)."""

from __future__ import annotations

import time
from dataclasses import replace

from hub.core.jsontypes import JSON
from hub.core.redact import Redactor
from hub.core.storage.bodies import BodyStore, CapturedBodies
from hub.core.storage.queries import RequestFilter, RequestQueries
from hub.core.storage.store import Store
from tests.support.records import fake_record

DAY = 86_400


async def test_journal_on_both_engines(store_target: str) -> None:
    async with await Store.open(store_target) as store:
        session = await store.create_session("s", active=True)
        midnight = (int(time.time()) // DAY - 3) * DAY  # UTC midnight, 3 days ago
        for index in range(30):
            failed = index % 5 == 0
            await store.insert_request(replace(
                fake_record(session.id, index, "a" if index % 2 else "b"),
                created_at=midnight + (index % 3) * DAY + 3600, total_ms=float(index + 1),
                status="error" if failed else "ok", error="Délai DÉPASSÉ 50%" if failed else None,
            ))  # fmt: skip
        journal = RequestQueries(store)
        groups = await journal.groups(RequestFilter(), 0)
        days = sorted({g.day for g in groups})
        assert len(days) == 3 and sum(g.totals.requests for g in groups) == 30
        assert sum(g.totals.errors for g in groups) == 6
        # two hours west of UTC, 01:00 UTC falls on the day before
        assert sorted({g.day for g in await journal.groups(RequestFilter(), -7200)}) != days
        # ASCII letters in any case (SQLite's LOWER folds only those), accents as stored
        assert await journal.count(RequestFilter(text="délai DÉPASSÉ 50%")) == 6
        assert await journal.count(RequestFilter(status="failed", model="b")) == 3
        assert await journal.count(RequestFilter(key_id="kp-absent")) == 0
        window = RequestFilter(since=midnight + DAY, until=midnight + 2 * DAY)
        assert await journal.count(window) == 10
        page = await journal.search(RequestFilter(model="a"), limit=4)
        older = await journal.search(RequestFilter(model="a"), limit=100, before_id=page[-1].id)
        assert len(page) == 4 and len(older) == 11
        assert page[-1].id is not None and older[0].id is not None
        assert page[-1].id > older[0].id
        ranks = await journal.latency(RequestFilter(), (0.5, 0.9, 0.99))
        assert ranks["total"] == {"p50": 15.0, "p90": 27.0, "p99": 30.0}
        assert ranks["ttfb"] == {"p50": None, "p90": None, "p99": None}  # fake rows: no TTFB
        assert (await journal.latency(RequestFilter(model="z"), (0.5,)))["total"] == {"p50": None}


async def test_body_store_on_both_engines(store_target: str) -> None:
    async with await Store.open(store_target) as store:
        session = await store.create_session("s", active=True)
        bodies = BodyStore(store, retention=2, redactor=Redactor(["sk-secret-1"]))
        ids = []
        for index in range(4):
            row_id = await store.insert_request(fake_record(session.id, index))
            assert row_id is not None
            ids.append(row_id)
            client: dict[str, JSON] = {
                "model": "m",
                "messages": [{"role": "user", "content": f"sk-secret-1 {index}"}],
            }
            forwarded: dict[str, JSON] = {
                **client,
                "messages": [{"role": "user", "content": "\u0000masqué"}],
            }
            await bodies.save(row_id, CapturedBodies(client, forwarded if index else client))
        assert [await bodies.get(i) is not None for i in ids] == [False, False, True, True]
        kept = await bodies.get(ids[-1])
        assert kept is not None and "sk-secret-1" not in str(kept.to_json())
        assert kept.forwarded is not None
        await store.delete_session(session.id)
        assert await bodies.get(ids[-1]) is not None  # its row stays: only retention prunes
