"""MaskStore: deduplication by hash, byte-for-byte originals, retention limit."""

from __future__ import annotations

from pathlib import Path

from hub.core.storage.masks import MaskStore
from hub.core.storage.store import Store
from hub.features.savings.sanitizer import mask_hash


async def test_dedup_roundtrip_and_retention(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "hub.db") as store:
        masks = MaskStore(store, retention=2)
        texts = ["un\r\n🙂 é", "deux\x00\tfin", "trois" * 100]
        await masks.put([(mask_hash(t), t, 5) for t in texts[:2]])
        await masks.put([(mask_hash(texts[0]), texts[0], 5)])  # known: only marked as used
        assert await masks.count() == 2
        assert await masks.get(mask_hash(texts[0])) == texts[0]
        await masks.put([(mask_hash(texts[2]), texts[2], 5)])
        assert await masks.count() == 2
        assert await masks.get(mask_hash(texts[1])) is None  # least recently used went
        assert await masks.get(mask_hash(texts[2])) == texts[2]
        assert await masks.get("0" * 32) is None
