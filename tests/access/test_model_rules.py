"""Which model a key may use and what it costs, whatever name the client gives it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import openai
import pytest
from openai import AsyncOpenAI

from hub.api.app import create_app
from hub.config import load_config, parse_config
from hub.proxy.routing import ModelRouter
from tests.support.chats import HELLO
from tests.support.fake_upstream import FakeUpstream
from tests.support.hub_configs import UPSTREAM_SECRET, with_admin_key, write_config
from tests.support.servers import serve

ADMIN = "admin-rules"
EXTRA = """
[providers.locked]
base_url = "{upstream}/v1"
api_key = "${{LOCKED_PROVIDER_KEY}}"

[models."fake-model"]
provider = "fake"
model = "fake-model"
input_price = 0.0
output_price = 1000.0
max_output = 9

[models."cheap-alias"]
provider = "fake"
model = "fake-model"
input_price = 0.0
output_price = 1.0

[models.vault]
provider = "locked"
model = "echo"
"""


@pytest.fixture
async def hub(tmp_path: Path, upstream_url: str) -> AsyncIterator[httpx2.AsyncClient]:
    path = write_config(tmp_path, upstream_url, EXTRA.format(upstream=upstream_url))
    config = load_config(with_admin_key(path, ADMIN), {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET})
    async with serve(create_app(config)) as url:
        headers = {"authorization": f"Bearer {ADMIN}"}
        async with httpx2.AsyncClient(base_url=url, headers=headers, timeout=10) as admin:
            yield admin


async def _client(admin: httpx2.AsyncClient, **limits: object) -> AsyncOpenAI:
    created = await admin.post("/api/keys", json={"name": "règles", **limits})
    assert created.status_code == 201, created.text
    return AsyncOpenAI(
        base_url=str(admin.base_url), api_key=created.json()["secret"], max_retries=0
    )


async def _ask(client: AsyncOpenAI, model: str) -> str:
    reply = await client.chat.completions.create(model=model, messages=HELLO)
    return reply.choices[0].message.content or ""


async def test_provider_slash_model_costs_what_the_configured_model_costs(
    hub: httpx2.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    """Issue #24: ``fake/fake-model`` reached the priced model for free (5 × 200)."""
    async with await _client(hub, budget=0.02) as client:  # two answers of 0.009
        assert await _ask(client, "fake/fake-model")
        assert await _ask(client, "fake/fake-model")
        with pytest.raises(openai.RateLimitError):
            await _ask(client, "fake/fake-model")
    rows = (await hub.get("/api/export/json")).json()["requests"]
    # the configured model a budget pays most for, of the two naming this upstream model
    assert [(r["model_key"], r["cost"]) for r in rows] == [("fake-model", 0.009)] * 2
    assert len(fake_upstream.received) == 2


async def test_a_budget_never_runs_on_an_unpriced_model(
    hub: httpx2.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    async with await _client(hub, budget=1.0) as client:
        for name in ("other/echo", "fake/no-such-price"):  # configured unpriced; unknown
            with pytest.raises(openai.PermissionDeniedError) as refused:
                await _ask(client, name)
            assert refused.value.code == "model_not_priced"
            assert "n'a pas de prix" in refused.value.message and name in refused.value.message
        assert await _ask(client, "fake/gpt-4o-mini")  # priced by the built-in table
    async with await _client(hub) as client:  # no budget: an unpriced model is fine
        assert await _ask(client, "other/echo")
    rows = (await hub.get("/api/export/json")).json()["requests"]
    assert [r["model_key"] for r in rows] == ["fake/gpt-4o-mini", "other/echo"]
    assert rows[0]["cost"] > 0 and rows[1]["cost"] == 0
    assert len(fake_upstream.received) == 2


async def test_key_patterns_match_every_name_of_the_model(hub: httpx2.AsyncClient) -> None:
    async with await _client(hub, models=["fake-model"]) as client:
        assert await _ask(client, "fake/fake-model")  # same upstream model, same price
        for name in ("cheap-alias", "fake/echo", "other/echo"):
            with pytest.raises(openai.PermissionDeniedError) as refused:
                await _ask(client, name)
            assert refused.value.code == "model_not_allowed"
    async with await _client(hub, models=["fake/*"]) as client:
        assert await _ask(client, "fake-model")  # its provider/model form is fake/fake-model
        with pytest.raises(openai.PermissionDeniedError):
            await _ask(client, "other/echo")


async def test_key_rules_answer_before_a_missing_provider_key(hub: httpx2.AsyncClient) -> None:
    """403 for a model the key may not use, even when its provider has no key (not 401)."""
    async with await _client(hub, models=["fake/*"]) as client:
        for name in ("vault", "locked/echo"):
            with pytest.raises(openai.PermissionDeniedError) as refused:
                await _ask(client, name)
            assert refused.value.code == "model_not_allowed"
    async with await _client(hub) as client:  # allowed: then the provider's state answers
        with pytest.raises(openai.AuthenticationError) as missing:
            await _ask(client, "vault")
        assert missing.value.code == "missing_provider_key"
        with pytest.raises(openai.NotFoundError):
            await _ask(client, "nowhere/echo")


ROUTER = """
[providers.p]
base_url = "http://p/v1"
[models.a]
provider = "p"
model = "m"
input_price = 1.0
output_price = 2.0
[models.b]
provider = "p"
model = "m"
output_price = 3.0
[models.free]
provider = "p"
model = "local"
input_price = 0
[models.unpriced]
provider = "p"
model = "local2"
max_output = 8192
"""


def test_router_resolves_every_name_of_a_model() -> None:
    router = ModelRouter(parse_config(ROUTER, Path("/tmp/c.toml"), {}))
    assert router.resolve("a").model_key == "a"  # an exact key wins
    dearest = router.resolve("p/m")
    assert dearest.model_key == "b" and dearest.names == ("b", "p/m")
    assert router.resolve("p/local").model_key == "free"
    free, unpriced = router.resolve("free").model, router.resolve("unpriced").model
    assert free is not None and free.priced and free.output_price == 0
    assert unpriced is not None and not unpriced.priced and unpriced.max_output == 8192
    builtin = router.resolve("p/gpt-4o")
    assert builtin.model is not None and builtin.model.priced and builtin.model.input_price > 0
    assert router.resolve("p/unknown").model is None
