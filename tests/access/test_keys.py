"""Virtual keys with the official openai SDK: issue, attribute, limit, revoke (in-process;
the MCP client and the WebSocket over a socket)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx2
import openai
import pytest
import websockets
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from openai import AsyncOpenAI

from hub.api.app import create_app
from hub.cli.main import main as cli_main
from hub.config import HubConfig, load_config
from tests.support.asgi import in_process
from tests.support.chats import HELLO
from tests.support.fake_upstream import FakeUpstream
from tests.support.hub_configs import ADMIN, COST, UPSTREAM_SECRET, keyed_config
from tests.support.json_values import Json, JsonObject
from tests.support.servers import serve


@dataclass
class Hub:
    admin: httpx2.AsyncClient
    sdk: Callable[[str], AsyncOpenAI]

    async def key(self, **fields: object) -> tuple[str, JsonObject]:
        response = await self.admin.post("/api/keys", json={"name": "test", **fields})
        assert response.status_code == 201, response.text
        body = response.json()
        return body.pop("secret"), body

    def client(self, secret: str) -> AsyncOpenAI:
        return self.sdk(secret)


ADMIN_HEADERS = {"authorization": f"Bearer {ADMIN}"}


def _config(tmp_path: Path, upstream_url: str) -> HubConfig:
    return load_config(keyed_config(tmp_path, upstream_url), {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET})


@pytest.fixture
async def hub(tmp_path: Path, upstream_url: str) -> AsyncIterator[Hub]:
    """The admin-keyed hub, in-process."""
    async with in_process(create_app(_config(tmp_path, upstream_url))) as app:
        async with app.http(headers=ADMIN_HEADERS) as admin:
            yield Hub(admin, app.openai)


@pytest.fixture
async def served_url(tmp_path: Path, upstream_url: str) -> AsyncIterator[str]:
    """The admin-keyed hub on a socket, for a real MCP client."""
    async with serve(create_app(_config(tmp_path, upstream_url))) as url:
        yield url


async def _files(folder: Path) -> list[Path]:
    return [Path(p) async for p in anyio.Path(folder).glob("hub.db*")]


async def _ask(client: AsyncOpenAI, model: str = "fake/echo", **extra: Json) -> str:
    reply = await client.chat.completions.create(model=model, messages=HELLO, **extra)
    return reply.choices[0].message.content or ""


async def test_secret_shown_once_and_only_a_hash_stored(hub: Hub, tmp_path: Path) -> None:
    secret, body = await hub.key(name="Alice", rpm=10, models=["fake/*"])
    assert secret.startswith("sk-kp-") and len(secret) > 40
    assert body["name"] == "Alice" and body["rpm"] == 10 and body["models"] == ["fake/*"]
    listed = (await hub.admin.get("/api/keys")).text
    assert secret not in listed and "salt" not in listed and "hash" not in listed
    again = (await hub.admin.get(f"/api/keys/{body['id']}")).json()
    assert "secret" not in again
    stored = b"".join([await anyio.Path(p).read_bytes() for p in await _files(tmp_path)])
    random_part = secret.split("-", 3)[3]  # sk-kp-<id>-<random>; the random part may hold "-"
    assert secret.encode() not in stored and random_part.encode() not in stored


async def test_requests_attributed_to_their_key(hub: Hub) -> None:
    alice, alice_key = await hub.key(name="Alice")
    bob, _ = await hub.key(name="Bob")
    async with hub.client(alice) as a, hub.client(bob) as b:
        assert await _ask(a)
        await _ask(b)
        await _ask(a)
    exported = await hub.admin.get("/api/export/json")
    requests = exported.json()["requests"]
    assert sorted(r["key_id"] == alice_key["id"] for r in requests) == [False, True, True]
    csv_text = (await hub.admin.get("/api/export/csv")).text
    assert csv_text.splitlines()[0].endswith("key_id") and alice_key["id"] in csv_text
    for text in (exported.text, csv_text):
        assert alice not in text and bob not in text


async def test_unknown_and_malformed_keys_get_the_same_answer(hub: Hub) -> None:
    secret, _ = await hub.key()
    forged = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    unknown = "sk-kp-000000000000-" + "x" * 43
    answers = []
    for header in (f"Bearer {forged}", f"Bearer {unknown}", "Bearer sk-kp-", "Basic abc", "x"):
        response = await hub.admin.post(
            "/chat/completions",
            json={"model": "fake/echo", "messages": HELLO},
            headers={"authorization": header},
        )
        assert response.status_code == 401
        assert forged not in response.text and secret not in response.text
        answers.append(response.json())
    assert all(answer == answers[0] for answer in answers)
    assert answers[0]["error"]["code"] == "invalid_api_key"


async def test_virtual_key_cannot_administer(hub: Hub) -> None:
    secret, _ = await hub.key()
    headers = {"authorization": f"Bearer {secret}"}
    for method, path in (("GET", "/api/keys"), ("POST", "/api/keys"), ("GET", "/api/sessions")):
        response = await hub.admin.request(method, path, headers=headers, json={"name": "x"})
        assert response.status_code == 403, (path, response.text)
        assert response.json()["error"]["code"] == "admin_key_required"
    async with hub.client(secret) as client:
        models = await client.models.list()
        assert any(m.id == "fake/echo" for m in models.data)


async def test_tiny_budget_holds_under_twenty_concurrent_requests(
    hub: Hub, fake_upstream: FakeUpstream
) -> None:
    secret, body = await hub.key(name="Petit budget", budget=COST * 3.5)
    other, _ = await hub.key(name="Sans limite")
    async with hub.client(secret) as client:
        results = await asyncio.gather(
            *(_ask(client, "priced", max_tokens=9) for _ in range(20)), return_exceptions=True
        )
        ok = [r for r in results if isinstance(r, str)]
        refused = [r for r in results if isinstance(r, openai.RateLimitError)]
        assert len(ok) == 3 and len(refused) == 17, results
        assert refused[0].code == "budget_exceeded"
        assert "Budget" in refused[0].message
        assert len(fake_upstream.received) == 3  # refused requests never reach the provider
        with pytest.raises(openai.RateLimitError):
            await _ask(client, "priced", max_tokens=9)
    async with hub.client(other) as client:  # the other key is not affected
        assert await _ask(client, "priced")
    state = (await hub.admin.get(f"/api/keys/{body['id']}")).json()
    assert state["budget_remaining"] == pytest.approx(COST * 0.5)


async def test_budget_counts_streams_when_they_end_and_survives_a_restart(
    tmp_path: Path, upstream_url: str
) -> None:
    config = _config(tmp_path, upstream_url)
    async with in_process(create_app(config)) as hub:
        async with hub.http(headers=ADMIN_HEADERS) as admin:
            created = (await admin.post("/api/keys", json={"name": "s", "budget": COST})).json()
        async with hub.openai(created["secret"]) as client:
            stream = await client.chat.completions.create(
                model="priced", messages=HELLO, stream=True
            )
            text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
            assert text
    async with in_process(create_app(config)) as hub:  # spend is read back from the stored rows
        async with hub.openai(created["secret"]) as client:
            with pytest.raises(openai.RateLimitError) as refused:
                await _ask(client, "priced")
            assert refused.value.code == "budget_exceeded"


async def test_rpm_sixth_request_gets_retry_after(hub: Hub) -> None:
    secret, _ = await hub.key(name="Lente", rpm=5)
    async with hub.client(secret) as client:
        for _ in range(5):
            await _ask(client)
        with pytest.raises(openai.RateLimitError) as refused:
            await _ask(client)
    assert refused.value.code == "rate_limit_exceeded"
    retry_after = int(refused.value.response.headers["retry-after"])
    assert 1 <= retry_after <= 60


async def test_tpm_limit(hub: Hub) -> None:
    secret, _ = await hub.key(name="Tokens", tpm=5)
    async with hub.client(secret) as client:
        await _ask(client)  # under the limit when admitted; its real tokens then count
        with pytest.raises(openai.RateLimitError) as refused:
            await _ask(client)
    assert refused.value.code == "rate_limit_exceeded"
    assert int(refused.value.response.headers["retry-after"]) >= 1


async def test_model_patterns(hub: Hub) -> None:
    secret, _ = await hub.key(name="Fake seulement", models=["fake/*"])
    async with hub.client(secret) as client:
        assert await _ask(client, "fake/echo")
        with pytest.raises(openai.PermissionDeniedError) as refused:
            await _ask(client, "other/echo")
    assert refused.value.code == "model_not_allowed"
    assert "other/echo" in refused.value.message


async def test_revoked_and_expired_keys_are_refused(hub: Hub) -> None:
    revoked, body = await hub.key(name="Révoquée")
    expired, _ = await hub.key(name="Expirée", expires_at=time.time() - 1)
    iso_future, _ = await hub.key(name="Future", expires_at="2999-01-01T00:00:00+00:00")
    async with hub.client(revoked) as client:
        assert await _ask(client)
        gone = await hub.admin.delete(f"/api/keys/{body['id']}")
        assert gone.status_code == 200 and gone.json()["revoked_at"]
        with pytest.raises(openai.AuthenticationError) as refused:
            await _ask(client)
        assert "révoquée" in refused.value.message
    async with hub.client(expired) as client:
        with pytest.raises(openai.AuthenticationError) as refused:
            await _ask(client)
        assert "expirée" in refused.value.message
    async with hub.client(iso_future) as client:
        assert await _ask(client)


async def test_update_changes_limits(hub: Hub) -> None:
    secret, body = await hub.key(name="A", models=["other/*"])
    patched = await hub.admin.patch(f"/api/keys/{body['id']}", json={"models": None, "rpm": 1})
    assert patched.status_code == 200, patched.text
    assert patched.json()["models"] == [] and patched.json()["rpm"] == 1
    async with hub.client(secret) as client:
        assert await _ask(client, "fake/echo")
        with pytest.raises(openai.RateLimitError):
            await _ask(client, "fake/echo")


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/api/keys", {}, 400),
        ("POST", "/api/keys", {"name": ""}, 400),
        ("POST", "/api/keys", {"name": 3}, 400),
        ("POST", "/api/keys", {"name": "x", "budget": -1}, 400),
        ("POST", "/api/keys", {"name": "x", "budget": "1"}, 400),
        ("POST", "/api/keys", {"name": "x", "rpm": 0}, 400),
        ("POST", "/api/keys", {"name": "x", "rpm": 1.5}, 400),
        ("POST", "/api/keys", {"name": "x", "period": "week"}, 400),
        ("POST", "/api/keys", {"name": "x", "models": "fake/*"}, 400),
        ("POST", "/api/keys", {"name": "x", "models": [""]}, 400),
        ("POST", "/api/keys", {"name": "x", "tools": ["a"] * 101}, 400),
        ("POST", "/api/keys", {"name": "x", "expires_at": "demain"}, 400),
        ("POST", "/api/keys", {"name": "x", "secret": "sk-kp-mine"}, 400),
        ("POST", "/api/keys", [1], 400),
        ("POST", "/api/keys", {"name": "x" * 70_000}, 413),
        ("PATCH", "/api/keys/nope", {"name": "y"}, 404),
        ("DELETE", "/api/keys/nope", None, 404),
        ("GET", "/api/keys/nope", None, 404),
    ],
)
async def test_hostile_key_requests(
    hub: Hub, method: str, path: str, body: Json, status: int
) -> None:
    response = await hub.admin.request(method, path, json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]


async def test_keys_never_logged(hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret, _ = await hub.key()
    async with hub.client(secret) as client:
        await _ask(client)
        with pytest.raises(openai.NotFoundError):
            await _ask(client, "nope/model")
    assert secret not in caplog.text
    assert secret.split("-", 3)[3] not in caplog.text  # the random part (it may hold "-")


def test_cli_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\npath = "{tmp_path / "cli.db"}"\n')
    cli_main(["keys", "create", "CI", "--budget", "2", "--period", "day", "--config", str(config)])
    created = capsys.readouterr().out
    secret = next(line for line in created.splitlines() if line.startswith("sk-kp-"))
    key_id = secret.split("-")[2]
    cli_main(["keys", "list", "--config", str(config)])
    listed = capsys.readouterr().out
    assert key_id in listed and "CI" in listed and secret not in listed and "active" in listed
    cli_main(["keys", "revoke", key_id, "--config", str(config)])
    assert "révoquée" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli_main(["keys", "revoke", "inconnue", "--config", str(config)])
    assert "introuvable" in capsys.readouterr().err


async def test_mcp_tool_patterns(served_url: str) -> None:
    admin = httpx2.AsyncClient(base_url=served_url, headers=ADMIN_HEADERS)
    hub = Hub(admin, lambda key: AsyncOpenAI(base_url=served_url, api_key=key, max_retries=0))
    async with admin:
        await _mcp_tool_patterns(hub, served_url)


async def _mcp_tool_patterns(hub: Hub, url: str) -> None:
    secret, _ = await hub.key(name="Outils", tools=["tokens_*"])
    headers = {"authorization": f"Bearer {secret}"}
    async with (
        httpx2.AsyncClient(headers=headers) as authed,
        Client(streamable_http_client(f"{url}/mcp", http_client=authed)) as client,
    ):
        names = [tool.name for tool in (await client.list_tools()).tools]
        assert names and all(name.startswith("tokens_") for name in names)
        assert (await client.call_tool("tokens_count", {"text": "a"})).is_error is False
        with pytest.raises(MCPError) as refused:
            await client.call_tool("sessions_list", {})
        assert "non autorisé" in str(refused.value)
    free, _ = await hub.key(name="Tous outils")
    async with (
        httpx2.AsyncClient(headers={"authorization": f"Bearer {free}"}) as authed,
        Client(streamable_http_client(f"{url}/mcp", http_client=authed)) as client,
    ):
        assert "sessions_list" in [tool.name for tool in (await client.list_tools()).tools]


async def test_each_key_has_its_own_sessions_and_filters(hub: Hub) -> None:
    alice, alice_key = await hub.key(name="Alice")
    bob, bob_key = await hub.key(name="Bob")
    seen: dict[str, set[str]] = {"alice": set(), "bob": set()}
    for who, secret in (("alice", alice), ("bob", bob), ("alice", alice)):
        async with hub.client(secret) as client:
            raw = await client.chat.completions.with_raw_response.create(
                model="fake/echo", messages=HELLO
            )
            seen[who].add(raw.headers["x-kimi-session"])
    assert len(seen["alice"]) == 1 and len(seen["bob"]) == 1 and seen["alice"] != seen["bob"]
    sessions = (await hub.admin.get("/api/sessions", params={"key": alice_key["id"]})).json()
    [mine] = sessions["sessions"]
    assert str(mine["id"]) in seen["alice"] and mine["key_id"] == alice_key["id"]
    assert mine["active"] is False and "Alice" in mine["name"]  # not the dashboard's session
    exported = (await hub.admin.get("/api/export/json", params={"key": bob_key["id"]})).json()
    assert [r["key_id"] for r in exported["requests"]] == [bob_key["id"]]
    assert exported["totals"]["requests"] == 1
    assert [s["key_id"] for s in exported["sessions"]] == [bob_key["id"]]
    csv_text = (await hub.admin.get("/api/export/csv", params={"key": alice_key["id"]})).text
    assert len(csv_text.strip().splitlines()) == 3
    for path in ("/api/sessions", "/api/export/json", "/api/export/csv"):
        assert (await hub.admin.get(path, params={"key": "inconnue"})).status_code == 404


async def test_secret_never_reaches_the_websocket(hub_url: str) -> None:
    """Open hub (no admin key): a virtual key still works and is attributed, never echoed."""
    async with httpx2.AsyncClient(base_url=hub_url) as http:
        created = (await http.post("/api/keys", json={"name": "ws"})).json()
    secret = created["secret"]
    seen: list[str] = []
    async with websockets.connect(hub_url.replace("http://", "ws://") + "/ws") as ws:
        seen.append(str(await ws.recv()))
        async with AsyncOpenAI(base_url=hub_url, api_key=secret, max_retries=0) as client:
            await client.chat.completions.create(model="fake/echo", messages=HELLO)
            with pytest.raises(openai.NotFoundError):
                await client.chat.completions.create(model="nope/x", messages=HELLO)
        while not any(json.loads(text).get("type") == "metric" for text in seen):
            seen.append(str(await asyncio.wait_for(ws.recv(), 5)))
    events = "\n".join(seen)
    assert created["id"] in events and secret not in events
    # the random part after "sk-kp-<id>-" (split("-") is not it: token_urlsafe has "-")
    assert secret.removeprefix(f"sk-kp-{created['id']}-") not in events
