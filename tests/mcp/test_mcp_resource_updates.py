"""Resource subscriptions through the hub, in each era on each side: the everything server
(npm, 2025-11-25 only, ``resources/subscribe``) and the dynamic server (mcp SDK,
2026-07-28, URIs on ``subscriptions/listen``) upstream; 2025-era clients subscribe,
2026-07-28 clients listen. One upstream subscription serves every subscriber and ends
with the last one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx2
import mcp_types as types
import pytest
import pytest_asyncio
from mcp.client import Client
from mcp.client.session import IncomingMessage, MessageHandlerFnT
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import ResourceUpdated

from hub.api.app import create_app
from hub.config import load_config
from tests.support.hub_configs import write_config
from tests.support.hub_mcp import wait_ready
from tests.support.mcp_upstreams import DYN_TOML, EVERYTHING_TOML, needs_node
from tests.support.servers import serve

pytestmark = [needs_node, pytest.mark.asyncio(loop_scope="module")]
NOTE = "dyn://note"  # the dynamic server's one resource
TOGGLE = "toggle-subscriber-updates"  # everything: updates for its subscriptions every 5 s


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    tmp_path: Path = tmp_path_factory.mktemp("updates")
    config = load_config(
        write_config(tmp_path, "http://127.0.0.1:9", EVERYTHING_TOML + DYN_TOML), {}
    )
    async with serve(create_app(config)) as url, httpx2.AsyncClient(base_url=url) as http:
        await wait_ready(http, "everything", "dyn")
        yield url


def recorder(into: list[str]) -> MessageHandlerFnT:
    async def on_message(message: IncomingMessage) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            into.append(message.params.uri)

    return on_message


async def listened(client: Client, tool: str = "dyn__touch") -> list[str]:
    """``touch`` says ``dyn://note`` changed; its answer: the URIs the hub listens for."""
    result = await client.call_tool(tool, {})
    text = result.content[0]
    assert isinstance(text, types.TextContent)
    return text.text.split()


async def until_heard(heard: list[str], uri: str) -> None:
    with anyio.fail_after(15):
        while uri not in heard:
            await anyio.sleep(0.05)


async def test_legacy_client_hears_a_2026_upstream_through_its_listen_stream(hub: str) -> None:
    heard: list[str] = []
    async with Client(f"{hub}/mcp", mode="legacy", message_handler=recorder(heard)) as client:
        assert (await listened(client)) == []  # nobody subscribed yet: no URI upstream
        await client.subscribe_resource(NOTE)
        with anyio.fail_after(10):  # the hub reopens its listen stream with the URI
            while (await listened(client)) != [NOTE]:
                await anyio.sleep(0.05)
        await until_heard(heard, NOTE)
        await client.unsubscribe_resource(NOTE)
        with anyio.fail_after(10):
            while (await listened(client)) != []:
                await anyio.sleep(0.05)
        heard.clear()
        await listened(client)
        await anyio.sleep(0.3)
    assert heard == []  # unsubscribed: nothing more


async def test_two_subscribers_share_one_upstream_subscription(hub: str) -> None:
    first_heard: list[str] = []
    second_heard: list[str] = []
    url = f"{hub}/servers/dyn/mcp"
    async with (
        Client(url, mode="legacy", message_handler=recorder(first_heard)) as first,
        Client(url, mode="legacy", message_handler=recorder(second_heard)) as second,
    ):
        await first.subscribe_resource(NOTE)
        await first.subscribe_resource(NOTE)  # twice from one session: still one
        await second.subscribe_resource(NOTE)
        with anyio.fail_after(10):
            while (await listened(first, "touch")) != [NOTE]:
                await anyio.sleep(0.05)
        await until_heard(second_heard, NOTE)
        await first.unsubscribe_resource(NOTE)
        assert (await listened(second, "touch")) == [NOTE]  # the second still holds it
        second_heard.clear()
        await listened(second, "touch")
        await until_heard(second_heard, NOTE)
        await second.unsubscribe_resource(NOTE)
        with anyio.fail_after(10):
            while (await listened(second, "touch")) != []:
                await anyio.sleep(0.05)


@pytest.mark.parametrize("path", ["/servers/dyn/mcp", "/mcp"])
async def test_2026_client_listens_through_the_hub(hub: str, path: str) -> None:
    tool = "touch" if path.startswith("/servers") else "dyn__touch"
    async with Client(f"{hub}{path}", mode="auto") as client:
        assert client.protocol_version == "2026-07-28"
        async with client.listen(resource_subscriptions=[NOTE]) as subscription:
            assert subscription.honored.resource_subscriptions == [NOTE]
            with anyio.fail_after(10):
                while (await listened(client, tool)) != [NOTE]:
                    await anyio.sleep(0.05)
            with anyio.fail_after(10):
                async for event in subscription:
                    assert event == ResourceUpdated(uri=NOTE)
                    break
        with anyio.fail_after(10):  # the stream closed: the hub lets go upstream
            while (await listened(client, tool)) != []:
                await anyio.sleep(0.05)


async def test_2025_upstream_updates_reach_both_eras(hub: str) -> None:
    """everything only knows ``resources/subscribe``: the hub subscribes for the 2026
    client's listen stream, and relays its updates as events."""
    async with Client(f"{hub}/servers/everything/mcp", mode="legacy") as direct:
        uri = str((await direct.list_resources()).resources[0].uri)
    heard: list[str] = []
    async with (
        Client(f"{hub}/mcp", mode="auto") as modern,
        Client(f"{hub}/servers/everything/mcp", mode="legacy",
               message_handler=recorder(heard)) as legacy,
    ):  # fmt: skip
        await legacy.subscribe_resource(uri)
        async with modern.listen(resource_subscriptions=[uri]) as subscription:
            await legacy.call_tool(TOGGLE, {})  # starts the everything server's updates
            try:
                with anyio.fail_after(15):
                    async for event in subscription:
                        assert event == ResourceUpdated(uri=uri)
                        break
                await until_heard(heard, uri)
            finally:
                await legacy.call_tool(TOGGLE, {})  # and stops them


async def test_bad_subscriptions_are_refused_in_french(hub: str) -> None:
    async with Client(f"{hub}/mcp", mode="legacy") as client:
        with pytest.raises(MCPError, match="Ressource inconnue"):
            await client.subscribe_resource("dyn://absente")
        with pytest.raises(MCPError, match="Ressource inconnue"):
            await client.subscribe_resource("x" * 10_000)
        await client.unsubscribe_resource(NOTE)  # never subscribed: nothing to undo
    async with Client(f"{hub}/mcp", mode="auto") as modern:
        with pytest.raises(MCPError, match="Trop de ressources"):
            async with modern.listen(resource_subscriptions=[f"dyn://{i}" for i in range(101)]):
                pass
        # an unknown URI is honored and never fires, as a server does for its own
        async with modern.listen(resource_subscriptions=["dyn://absente"]) as subscription:
            assert subscription.honored.resource_subscriptions == ["dyn://absente"]
        assert (await listened(modern)) == []
