"""A client whose base URL ends in ``/v1`` is told to drop it (the hub has no such prefix)."""

from __future__ import annotations

from pathlib import Path

import httpx2
import openai
import pytest
from openai import AsyncOpenAI

from hub.api.app import create_app
from hub.config import load_config
from tests.support.hub_configs import UPSTREAM_SECRET, with_admin_key, write_config
from tests.support.servers import serve

ADMIN = "admin-v1"


async def test_a_v1_base_url_gets_a_404_that_says_so(hub_url: str) -> None:
    async with AsyncOpenAI(base_url=f"{hub_url}/v1", api_key="x", max_retries=0) as client:
        with pytest.raises(openai.NotFoundError) as listing:
            await client.models.list()
        with pytest.raises(openai.NotFoundError) as chat:
            await client.chat.completions.create(
                model="fake/echo", messages=[{"role": "user", "content": "a"}]
            )
    assert listing.value.code == chat.value.code == "no_v1_prefix"
    assert f"l'URL de base {hub_url} (sans /v1)" in listing.value.message
    assert "cette route est alors /models" in listing.value.message
    assert "cette route est alors /chat/completions" in chat.value.message
    async with httpx2.AsyncClient(base_url=hub_url) as http:
        for path in ("/v1", "/v1/", "/v1/embeddings?x=1"):
            response = await http.get(path)
            assert (
                response.status_code == 404 and response.json()["error"]["code"] == "no_v1_prefix"
            )
        other = await http.get("/nothing-here")
        error = other.json()["error"]
        assert (error["message"], error["code"]) == ("Route introuvable.", "http_error")


async def test_the_hint_reaches_clients_whatever_their_key(
    tmp_path: Path, upstream_url: str
) -> None:
    """With an admin key, a virtual or a wrong key on /v1 still gets the hint, not 401/403."""
    path = with_admin_key(write_config(tmp_path, upstream_url), ADMIN)
    config = load_config(path, {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET})
    async with serve(create_app(config)) as url:
        headers = {"authorization": f"Bearer {ADMIN}"}
        async with httpx2.AsyncClient(base_url=url, headers=headers) as admin:
            secret = (await admin.post("/api/keys", json={"name": "v1"})).json()["secret"]
        for token in (secret, ADMIN, "faux"):
            async with AsyncOpenAI(base_url=f"{url}/v1", api_key=token, max_retries=0) as c:
                with pytest.raises(openai.NotFoundError) as refused:
                    await c.models.list()
            assert "sans /v1" in refused.value.message
