"""The tool-call audit on both engines (SQLite, real PostgreSQL 15): batches, filters,
keyset pages, export pages, and the writer's read-your-writes."""

from __future__ import annotations

import time

from hub.core.storage.audit import AuditFilter, AuditRecord, AuditStore
from hub.core.storage.store import Store
from hub.services.events import EventBus
from hub.services.recording.audit import AuditLog


def entry(index: int, **changes: object) -> AuditRecord:
    facts: dict[str, object] = {
        "created_at": 1_700_000_000.0 + index,
        "caller": "key" if index % 2 else "admin",
        "key_id": "abcdef012345" if index % 2 else None,
        "endpoint": "/mcp",
        "via": None,
        "server": "everything" if index % 3 else None,
        "tool": "echo" if index % 3 else "tokens_count",
        "decision": "allowed" if index % 4 else "denied",
        "reason": None if index % 4 else "refusé par les motifs d'outils de la clé",
        "duration_ms": 1.5,
        "result_chars": 10,
        "is_error": not index % 4,
        "flags": ("injection_result",) if index == 7 else (),
    }
    facts.update(changes)
    return AuditRecord(**facts)  # type: ignore[arg-type]


async def test_audit_rows_on_both_engines(store_target: str) -> None:
    async with await Store.open(store_target) as store:
        audit = AuditStore(store)
        await audit.insert([entry(i) for i in range(1, 1201)])  # three INSERT batches
        newest = await audit.search(AuditFilter(), limit=3)
        assert [r.created_at for r in newest] == [1_700_001_200.0, 1_700_001_199.0, 1_700_001_198.0]
        assert newest[0].id == await audit.newest_id()
        page = await audit.search(AuditFilter(), limit=3, before_id=newest[-1].id)
        assert page[0].id == (newest[-1].id or 0) - 1
        denied = await audit.search(AuditFilter(decision="denied", key_id=None), limit=2000)
        assert len(denied) == 300 and all(r.is_error and r.reason for r in denied)
        refused = await audit.search(AuditFilter(decision="refused"), limit=2000)
        assert len(refused) == 300
        keyed = await audit.search(AuditFilter(caller="key", key_id="abcdef012345"), limit=2000)
        assert len(keyed) == 600
        own = await audit.search(AuditFilter(tool="tokens_count", server=None), limit=2000)
        assert len(own) == 400 and all(r.server is None for r in own)
        flagged = await audit.search(AuditFilter(flagged=True), limit=10)
        assert [(r.tool, r.flags) for r in flagged] == [("echo", ("injection_result",))]
        window = AuditFilter(since=1_700_000_010.0, until=1_700_000_020.0)
        assert len(await audit.search(window, limit=100)) == 10
        oldest = await audit.oldest_after(AuditFilter(), after_id=0, up_to_id=10**9, limit=2)
        assert [r.created_at for r in oldest] == [1_700_000_001.0, 1_700_000_002.0]
        assert oldest[0].to_json()["flags"] == [] and oldest[0].to_json()["caller"] == "key"


async def test_audit_log_reads_its_own_writes(store_target: str) -> None:
    async with await Store.open(store_target) as store:
        log = AuditLog(AuditStore(store), EventBus())
        async with log.running():
            for index in range(5):
                log.record(entry(index, created_at=time.time()))
            rows = await log.search(AuditFilter(), 10, None)  # flushes first
            assert len(rows) == 5
            pages = [page async for page in log.pages(AuditFilter(tool="echo"))]
            assert sum(len(p) for p in pages) == 3
        # stopping writes what was still queued
        log.record(entry(9))
        async with log.running():
            pass
        assert len(await AuditStore(store).search(AuditFilter(), limit=100)) == 6
