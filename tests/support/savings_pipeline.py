"""A ``SavingsPipeline`` with the default ``[savings]``, on an in-memory store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from hub.config import HubConfig
from hub.core.storage.savings import SavingsStore
from hub.core.storage.store import Store
from hub.core.tokens import TokenCounter
from hub.proxy.routing import ModelRouter
from hub.proxy.upstream import ProviderPool
from hub.services.savings.pipeline import SavingsPipeline


@asynccontextmanager
async def savings_pipeline(counter: TokenCounter) -> AsyncIterator[SavingsPipeline]:
    config = HubConfig(source=Path("test"))
    store = await Store.open(":memory:")
    pool = ProviderPool(config)
    try:
        yield SavingsPipeline(
            config.savings, ModelRouter(config), pool, counter, SavingsStore(store)
        )
    finally:
        await pool.aclose()
        await store.close()
