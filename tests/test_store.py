import sqlite3

from hub.core.migrations import MIGRATIONS
from hub.core.records import RequestRecord
from hub.core.store import Store


def _record(session_id: int, **changes) -> RequestRecord:
    base = dict(
        session_id=session_id, created_at=1.0, model_key="m", provider="p", upstream_model="u",
        stream=False, prompt_tokens=10, completion_tokens=5, usage_source="upstream",
        prompt_estimate=11, ttfb_ms=1.0, total_ms=2.0, status="ok", http_status=200, error=None,
        cost=0.5,
    )  # fmt: skip
    base.update(changes)
    return RequestRecord(**base)


async def test_migrations_bring_a_new_file_to_the_latest_version(tmp_path) -> None:
    path = tmp_path / "db" / "hub.db"
    store = await Store.open(path)
    assert await store.schema_version() == len(MIGRATIONS)
    await store.close()
    reopened = await Store.open(path)  # idempotent: nothing re-applied
    assert await reopened.schema_version() == len(MIGRATIONS)
    mode = await reopened.fetch_one("PRAGMA journal_mode")
    assert mode is not None and mode[0] == "wal"
    await reopened.close()


async def test_migrating_from_an_older_version_keeps_data(tmp_path) -> None:
    path = tmp_path / "old.db"
    raw = sqlite3.connect(path)
    raw.executescript(MIGRATIONS[0] + "\nPRAGMA user_version = 1;")
    raw.execute("INSERT INTO sessions (name, created_at) VALUES ('ancienne', 1)")
    raw.commit()
    raw.close()
    store = await Store.open(path)
    assert [s.name for s in await store.list_sessions()] == ["ancienne"]
    assert await store.schema_version() == len(MIGRATIONS)
    await store.close()


async def test_requests_totals_paging_and_cascade(tmp_path) -> None:
    store = await Store.open(tmp_path / "hub.db")
    first = await store.create_session("a", active=True)
    second = await store.create_session("b", active=True)
    assert (await store.active_session()).id == second.id
    for _ in range(5):
        await store.insert_request(_record(first.id))
    assert await store.insert_request(_record(second.id, status="error", cost=0.0)) == 6
    totals = await store.totals(first.id)
    assert (totals.requests, totals.prompt_tokens, totals.cost) == (5, 50, 2.5)
    assert (await store.totals()).errors == 1
    page = await store.list_requests(first.id, limit=2)
    older = await store.list_requests(first.id, limit=10, before_id=page[-1].id)
    assert len(page) == 2 and len(older) == 3 and older[0].id < page[-1].id
    assert await store.delete_session(first.id)
    assert (await store.totals()).requests == 1
    await store.close()


async def test_a_row_for_a_session_deleted_meanwhile_is_dropped(tmp_path) -> None:
    # rows are written after the response: the session may be gone by then
    store = await Store.open(tmp_path / "hub.db")
    gone = await store.create_session("éphémère", active=True)
    assert await store.delete_session(gone.id)
    assert await store.insert_request(_record(gone.id)) is None
    assert (await store.totals()).requests == 0
    await store.close()
