"""The store on both engines: SQLite (default) and PostgreSQL (team mode), same tests."""

import asyncio
import sqlite3
from pathlib import Path

from hub.core.records import RequestRecord
from hub.core.storage.keys import KeyLimits, KeyRecord, KeyStore
from hub.core.storage.masks import MaskStore
from hub.core.storage.migrations import MIGRATIONS, Dialects, for_dialect
from hub.core.storage.savings import CachedCompaction, SavingsStore
from hub.core.storage.store import Store
from tests.support.json_values import Json


def _record(session_id: int, **changes: Json) -> RequestRecord:
    base: dict[str, Json] = dict(
        session_id=session_id, created_at=1.0, model_key="m", provider="p", upstream_model="u",
        stream=False, prompt_tokens=10, completion_tokens=5, usage_source="upstream",
        prompt_estimate=11, ttfb_ms=1.0, total_ms=2.0, status="ok", http_status=200, error=None,
        cost=0.5,
    )  # fmt: skip
    base.update(changes)
    return RequestRecord(**base)


async def test_migrations_bring_a_new_file_to_the_latest_version(tmp_path: Path) -> None:
    path = tmp_path / "db" / "hub.db"
    store = await Store.open(path)
    assert await store.schema_version() == len(MIGRATIONS)
    await store.close()
    reopened = await Store.open(path)  # idempotent: nothing re-applied
    assert await reopened.schema_version() == len(MIGRATIONS)
    mode = await reopened.fetch_one("PRAGMA journal_mode")
    assert mode is not None and mode[0] == "wal"
    await reopened.close()


async def test_migrating_from_an_older_version_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    raw = sqlite3.connect(path)
    first = MIGRATIONS[0]
    assert isinstance(first, str)  # the first step is the same for every engine
    raw.executescript(first + "\nPRAGMA user_version = 1;")
    raw.execute("INSERT INTO sessions (name, created_at) VALUES ('ancienne', 1)")
    raw.commit()
    raw.close()
    store = await Store.open(path)
    assert [s.name for s in await store.list_sessions()] == ["ancienne"]
    assert await store.schema_version() == len(MIGRATIONS)
    await store.close()


async def test_requests_totals_paging_and_soft_delete(store_target: str) -> None:
    store = await Store.open(store_target)
    first = await store.create_session("a", active=True)
    second = await store.create_session("b", active=True)
    active = await store.active_session()
    assert active is not None and active.id == second.id
    for _ in range(5):
        await store.insert_request(_record(first.id))
    assert await store.insert_request(_record(second.id, status="error", cost=0.0)) == 6
    totals = await store.totals(first.id)
    assert (totals.requests, totals.prompt_tokens, totals.cost) == (5, 50, 2.5)
    assert (await store.totals()).errors == 1
    page = await store.list_requests(first.id, limit=2)
    older = await store.list_requests(first.id, limit=10, before_id=page[-1].id)
    assert len(page) == 2 and len(older) == 3
    assert older[0].id is not None and page[-1].id is not None
    assert older[0].id < page[-1].id
    assert await store.delete_session(first.id)
    assert not await store.delete_session(first.id)  # already gone
    # the rows are a ledger: budgets, exports and analytics still count them
    assert (await store.totals()).requests == 6 and (await store.totals(first.id)).requests == 5
    assert await store.get_session(first.id) is None
    assert [s.id for s in await store.list_sessions()] == [second.id]
    assert await store.count_sessions() == 1
    await store.close()


async def test_a_row_for_a_session_deleted_meanwhile_is_kept(store_target: str) -> None:
    # rows are written after the response: the session may be hidden by then
    store = await Store.open(store_target)
    gone = await store.create_session("éphémère", active=True)
    assert await store.delete_session(gone.id)
    assert await store.active_session() is None
    assert await store.insert_request(_record(gone.id)) is not None
    assert (await store.totals()).requests == 1
    await store.close()


async def test_batches_skip_known_request_ids_and_unknown_sessions(store_target: str) -> None:
    """A journal replayed twice stores each row once; a row of no session at all goes."""
    async with await Store.open(store_target) as store:
        live = await store.create_session("vivante", active=True)
        gone = await store.create_session("supprimée", active=False)
        await store.delete_session(gone.id)
        rows = [_record(live.id, request_id=f"r{i}") for i in range(450)]
        rows.append(_record(gone.id, request_id="hidden"))
        rows.append(_record(gone.id + 1000, request_id="orphan"))
        first = await store.insert_requests(rows)
        assert all(first[:451]) and first[451] is None and len(set(first[:451])) == 451
        again = await store.insert_requests([*rows[:3], _record(live.id, request_id="new")])
        assert again[:3] == [None, None, None] and again[3] is not None
        assert (await store.totals()).requests == 452
        [latest] = await store.list_requests(limit=1)
        assert latest.request_id == "new"


async def test_sessions_activate_update_and_types(store_target: str) -> None:
    async with await Store.open(store_target) as store:
        assert await store.schema_version() == len(MIGRATIONS)
        first = await store.create_session("é 🙂", active=True)
        second = await store.create_session("b", active=False)
        active = await store.active_session()
        assert active is not None and active.id == first.id
        await store.activate_session(second.id)
        assert [s.active for s in await store.list_sessions()] == [False, True]
        await store.update_session(second.id, provider="p", model_key="m", compaction=False)
        updated = await store.get_session(second.id)
        assert updated is not None
        assert (updated.provider, updated.model_key, updated.compaction) == ("p", "m", False)
        assert updated.name == "b" and isinstance(updated.created_at, float)
        assert await store.count_sessions() == 2
        assert await store.get_session(999) is None
        assert not await store.delete_session(999)
        stamp = 1_790_000_000.123456  # a timestamp keeps its microseconds (no float4)
        await store.insert_request(_record(first.id, created_at=stamp, tokens_saved=7))
        row = await store.last_request(first.id)
        assert row is not None
        assert row.created_at == stamp and row.stream is False and row.tokens_saved == 7
        totals = (await store.totals()).to_json()
        assert all(type(totals[k]) is int for k in ("requests", "prompt_tokens", "errors"))


async def test_masks_and_savings_on_both_engines(store_target: str) -> None:
    async with await Store.open(store_target) as store:
        masks = MaskStore(store, retention=2)
        await masks.put([("a" * 32, "un\x00é", 5), ("b" * 32, "deux", 5), ("a" * 32, "un\x00é", 5)])
        await masks.put([("c" * 32, "trois", 5)])
        assert await masks.count() == 2 and await masks.get("c" * 32) == "trois"
        savings = SavingsStore(store)
        session = await store.create_session("s", active=True)
        cached = CachedCompaction("h1", 3, [{"role": "user", "content": "r"}], "m", 100, 10)
        await savings.save_compaction(session.id, cached)
        await savings.save_compaction(session.id, cached)  # upsert, not a duplicate key
        assert await savings.find_compaction(["zz", "h1"]) == cached
        assert await savings.add_event(session.id, "masking", 50, 20, {"n": 1}) is not None
        assert await savings.add_event(None, "compaction", 100, 10, {}) is not None
        assert await savings.add_event(12345, "masking", 1, 0, {}) is None  # session gone
        totals = await savings.totals()
        assert totals["masking"] == {"events": 1, "tokens_saved": 30}
        assert len(await savings.events()) == 2
        await savings.save_messages(session.id, "m", [{"role": "user", "content": "x"}])
        await savings.save_messages(session.id, "m2", [])
        assert await savings.last_messages(session.id) == ("m2", [])


async def test_replicas_starting_at_once_migrate_once(postgres_url: str) -> None:
    # five replicas on an empty database: the advisory lock lets one migrate
    stores = await asyncio.gather(*(Store.open(postgres_url) for _ in range(5)))
    assert {await s.schema_version() for s in stores} == {len(MIGRATIONS)}
    rows = await stores[0].fetch_all("SELECT version FROM schema_version ORDER BY version")
    assert [r[0] for r in rows] == list(range(1, len(MIGRATIONS) + 1))
    await asyncio.gather(*(s.close() for s in stores))


def test_migrations_translate_types_for_postgresql() -> None:
    sql = "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER, at REAL, b BLOB);"
    assert for_dialect(sql, "sqlite") == sql
    assert for_dialect(sql, "postgresql") == (
        "CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, n BIGINT,"
        " at DOUBLE PRECISION, b BYTEA);"
    )
    pair = Dialects(sqlite="PRAGMA x;", postgresql="SELECT 1;")
    assert for_dialect(pair, "postgresql") == "SELECT 1;"


async def test_virtual_keys_on_both_engines(store_target: str) -> None:
    async with await Store.open(store_target) as store:
        keys = KeyStore(store)
        limits = KeyLimits(budget=5, period="month", rpm=30, models=("kimi-code/*",))
        key = KeyRecord("a1b2c3d4e5f6", "alice", "sel", "hash", 1.5, limits)
        await keys.insert(key)
        assert await keys.get(key.id) == key
        assert await keys.update(key.id, "alice2", KeyLimits(tpm=1000))
        assert await keys.revoke(key.id, 2.0) and not await keys.revoke(key.id, 3.0)
        [stored] = await keys.list()
        assert (stored.name, stored.limits.tpm, stored.revoked_at) == ("alice2", 1000, 2.0)
        assert await keys.spent_since(key.id, 0.0) == 0.0


async def test_a_final_row_replaces_its_provisional_one_never_the_reverse(
    store_target: str,
) -> None:
    """Team mode (0033): the row written before the answer left is replaced by the final
    one, keeping its id; a late provisional row never replaces a final one."""
    async with await Store.open(store_target) as store:
        session = await store.create_session("équipe", active=True)
        early = _record(session.id, request_id="r1", prompt_estimate=0, cost=0.25)
        await store.insert_provisional([early])
        (stored,) = await store.list_requests(session.id)
        final = _record(session.id, request_id="r1", prompt_estimate=11, cost=0.5)
        assert await store.insert_requests([final]) == [stored.id]  # its metric event etc.
        await store.insert_provisional([early, _record(session.id, request_id="r2")])
        rows = {r.request_id: r for r in await store.list_requests(session.id)}
        assert rows["r1"].prompt_estimate == 11 and rows["r1"].cost == 0.5
        assert await store.insert_requests([final]) == [None]  # a replayed journal
        assert set(rows) == {"r1", "r2"}


async def test_open_auto_session_joins_the_one_another_process_just_opened(
    store_target: str,
) -> None:
    async with await Store.open(store_target) as store:
        first, created = await store.open_auto_session(
            "a", active=True, key_id=None, replacing=None
        )
        assert created and first.auto and first.active
        # a second process saw no session either: it joins the first one
        same, created = await store.open_auto_session("b", active=True, key_id=None, replacing=None)
        assert (same.id, created) == (first.id, False)
        # the one it saw is still current: a new one replaces it
        newer, created = await store.open_auto_session(
            "c", active=True, key_id=None, replacing=first.id
        )
        assert created and newer.id != first.id
        active = await store.active_session()
        assert active is not None and active.id == newer.id
        keyed, created = await store.open_auto_session(
            "k", active=False, key_id="k1", replacing=None
        )
        active = await store.active_session()
        assert created and not keyed.active and active is not None and active.id == newer.id
