"""``DurableRows`` when PostgreSQL fails: answers never wait on a failing database.

A PostgreSQL that hangs is hard to cause on loopback: the store here is a stand-in
that fails, then hangs (the one fault injected by hand).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from hub.core.jsontypes import JSONObject
from hub.core.records import RequestRecord
from hub.core.storage.database import DatabaseUnavailable
from hub.core.storage.store import Store
from hub.services.recording.durable import DurableRows

START: JSONObject = {
    "session_id": 1, "created_at": 1.0, "model_key": "m", "provider": "p",
    "upstream_model": "u", "stream": False, "tokens_saved": 0, "request_id": "r1",
    "key_id": None,
}  # fmt: skip
ANSWER: JSONObject = {"status": "ok", "http_status": 200, "error": None, "ttfb_ms": 1.0,
          "total_ms": 2.0, "attempts": 1}  # fmt: skip


class FailingStore(Store):
    def __init__(self) -> None:  # no database: every write fails, then hangs
        self.calls = 0
        self.release = asyncio.Event()

    async def insert_provisional(self, records: Sequence[RequestRecord]) -> None:
        self.calls += 1
        if self.calls == 1:
            raise DatabaseUnavailable("refusée")
        await self.release.wait()


async def test_after_a_failed_batch_answers_do_not_wait_for_a_hanging_database() -> None:
    store = FailingStore()
    durable = DurableRows(store)
    assert await durable.wait(durable.start(START, ANSWER)) is False  # refused at once
    pending = durable.start({**START, "request_id": "r2"}, ANSWER)
    waited = asyncio.create_task(durable.wait(pending))
    await asyncio.sleep(0)
    assert waited.done() and waited.result() is False  # not held WAIT seconds
    assert store.calls == 2  # the row is still being written
    store.release.set()
    assert await pending is True
    await durable.close()
