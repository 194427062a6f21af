"""Sessions on the request path come from memory, and the memory follows every write."""

from pathlib import Path

from hub.config import ProviderConfig, SessionsConfig
from hub.core.storage.store import Store
from hub.proxy.routing import Route
from hub.services.events import EventBus
from hub.services.sessions.service import SessionService
from hub.services.sessions.state import MemorySessionState


async def test_state_follows_writes_and_matches_the_store(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "s.db") as store:
        first = await store.create_session("ancienne", active=True)
        state = await MemorySessionState.load(store)
        assert (await state.active()) == first
        service = SessionService(store, state, EventBus(), SessionsConfig())
        second = await service.create("nouvelle")
        active, former = await state.active(), await state.get(first.id)
        assert active is not None and former is not None
        assert active.id == second.id and not former.active
        await service.rename(first.id, "renommée")
        await service.set_compaction(first.id, False)
        await service.activate(first.id)
        await service.delete(second.id)
        assert await state.get(second.id) is None
        assert await state.all() == await store.list_sessions()
        assert await state.active() == await store.active_session()


async def test_request_path_does_not_query_the_store_for_a_known_session(tmp_path: Path) -> None:
    """A closed store proves the reads are from memory (creating one is the exception)."""
    store = await Store.open(tmp_path / "s.db")
    session = await store.create_session("s", active=True)
    await store.update_session(session.id, provider="p", model_key="m")
    service = SessionService(
        store, await MemorySessionState.load(store), EventBus(), SessionsConfig()
    )
    await store.close()
    route = Route("m", ProviderConfig(name="p", base_url="http://x"), "m", None)
    assert (await service.for_request(None, route)).id == session.id
    assert (await service.for_request(str(session.id), route)).name == "s"


async def test_changes_by_another_process_reach_the_state_on_refresh(tmp_path: Path) -> None:
    """``kimi-proxy mcp`` writes the same file through its own connection."""
    async with (
        await Store.open(tmp_path / "s.db") as store,
        await Store.open(tmp_path / "s.db") as other,
    ):
        service = SessionService(
            store, await MemorySessionState.load(store), EventBus(), SessionsConfig()
        )
        created = await other.create_session("par stdio", active=True)
        assert (await service.list())[-1] == created  # REST reads go to the store
        await other.activate_session(0)  # nothing active, seen after the periodic reload
        await service.refresh()
        route = Route("m", ProviderConfig(name="p", base_url="http://x"), "m", None)
        assert (await service.for_request(None, route)).id != created.id
