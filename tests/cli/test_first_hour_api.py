"""The first hour: no provider key, precise French validation, ``GET /models/{id}``."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx2
import openai
import pytest
from openai import AsyncOpenAI

from hub.api.app import create_app, open_hub
from hub.config import load_config
from hub.core.error_text import french_reason
from hub.core.records import RequestRecord
from hub.services.chat.failure_log import failure_line
from tests.support.asgi import InProcess, in_process
from tests.support.chats import HELLO
from tests.support.fake_upstream import FakeUpstream
from tests.support.hub_configs import write_config
from tests.support.json_values import JsonObject


@pytest.fixture
async def keyless_hub(tmp_path: Path, upstream_url: str) -> AsyncIterator[InProcess]:
    """The test config with FAKE_UPSTREAM_KEY unset: provider « fake » has no key."""
    config = load_config(write_config(tmp_path, upstream_url), {})
    assert config.providers["fake"].missing_key == "FAKE_UPSTREAM_KEY"
    async with in_process(create_app(config)) as hub:
        yield hub


async def test_start_without_provider_key(
    keyless_hub: InProcess, fake_upstream: FakeUpstream
) -> None:
    async with keyless_hub.http() as http:
        health = (await http.get("/health")).json()
        assert health["status"] == "opérationnel"
        assert health["providers"]["fake"] == {
            "status": "clé manquante",
            "variable": "FAKE_UPSTREAM_KEY",
        }
        assert health["providers"]["other"] == {"status": "prêt"}
        [warning] = health["warnings"]
        assert "clé manquante" in warning and "FAKE_UPSTREAM_KEY" in warning
        models = {m["id"]: m for m in (await http.get("/models")).json()["data"]}
        assert models["fake/echo"]["status"] == "clé manquante"
        assert "status" not in models["other/echo"]
        assert (await http.get("/api/sessions")).status_code == 200  # the rest works
    async with keyless_hub.openai("k") as client:
        with pytest.raises(openai.AuthenticationError) as caught:
            await client.chat.completions.create(model="fake/echo", messages=HELLO)
        assert caught.value.code == "missing_provider_key"
        assert "FAKE_UPSTREAM_KEY" in caught.value.message
        with pytest.raises(openai.AuthenticationError):  # provider/model form too
            await client.chat.completions.create(model="fake/anything", messages=HELLO)
        reply = await client.chat.completions.create(model="other/echo", messages=HELLO)
        assert reply.choices[0].message.content
    assert len(fake_upstream.received) == 1  # only the keyed provider was called


def test_start_up_warning_is_french(
    tmp_path: Path, upstream_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    config = load_config(write_config(tmp_path, upstream_url), {})

    async def run() -> None:
        async with open_hub(config):
            pass

    with caplog.at_level(logging.WARNING, logger="hub"):
        asyncio.run(run())
    assert any("clé manquante" in r.getMessage() and "FAKE_UPSTREAM_KEY" in r.getMessage()
               for r in caplog.records)  # fmt: skip


def _body(**fields: object) -> dict[str, object]:
    return {"model": "fake/echo", "messages": HELLO, **fields}


def _one(**message: object) -> dict[str, object]:
    return _body(messages=[message])


@pytest.mark.parametrize(
    ("body", "param", "fragment"),
    [
        ({"model": "fake/echo", "messages": "hello"}, "messages", "doit être une liste"),
        ({"model": 123, "messages": HELLO}, "model", "doit être une chaîne"),
        ({"model": "fake/echo"}, "messages", "manquant"),
        ({"messages": HELLO}, "model", "manquant"),
        ({"model": "  ", "messages": HELLO}, "model", "vide"),
        (_body(temperature=3), "temperature", "entre 0 et 2"),
        (_body(temperature="chaud"), "temperature", "doit être un nombre"),
        (_body(temperature=True), "temperature", "reçu : un booléen"),
        (_body(top_p=1.5), "top_p", "entre 0 et 1"),
        (_body(n=0), "n", "entre 1 et 128"),
        (_body(n=1.5), "n", "doit être un entier"),
        (_body(max_tokens=-1), "max_tokens", "entre 1 et 2147483647 (reçu : -1)"),
        (_body(max_tokens="10"), "max_tokens", "doit être un entier"),
        (_body(presence_penalty=5), "presence_penalty", "entre -2 et 2"),
        (_body(stop=[1]), "stop", "liste de chaînes"),
        (_one(role="bot", content="x"), "messages[0].role", "valeurs acceptées"),
        (_body(messages=[{"role": 1, "content": "x"}]), "messages[0].role", "doit être une chaîne"),
        (_body(messages=[{"content": "x"}]), "messages[0].role", "manquant"),
        (_body(messages=[{"role": "user"}]), "messages[0].content", "manquant"),
        (_one(role="user", content=5), "messages[0].content", "reçu : un nombre"),
        (_body(messages=[{"role": "user", "content": [1]}]), "messages[0].content[0]", "objet"),
        (_body(messages=[{"role": "user", "content": [{}]}]), "messages[0].content[0]", "type"),
        (_body(messages=[{"role": "user", "content": "x" * 10}, 7]), "messages[1]", "objet"),
    ],
)
async def test_precise_french_validation(
    asgi_http: httpx2.AsyncClient,
    fake_upstream: FakeUpstream,
    body: JsonObject,
    param: str,
    fragment: str,
) -> None:
    response = await asgi_http.post("/chat/completions", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param
    assert fragment in error["message"], error["message"]
    assert fake_upstream.received == []


async def test_valid_fields_and_unknown_fields_pass_through(
    asgi_http: httpx2.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    body = _body(
        temperature=0, top_p=1, n=1, max_tokens=5, stop=["\n"], seed=4, x_custom={"a": 1},
        messages=[
            {"role": "system", "content": "sois bref"},
            {"role": "user", "content": [{"type": "text", "text": "Bonjour"}]},
            {"role": "assistant", "content": None, "tool_calls": []},
            {"role": "developer", "content": "x"},
        ],
    )  # fmt: skip
    response = await asgi_http.post("/chat/completions", json=body)
    assert response.status_code == 200, response.text
    [sent] = fake_upstream.received
    assert sent["seed"] == 4 and sent["x_custom"] == {"a": 1} and sent["temperature"] == 0


async def test_models_retrieve(asgi_openai: AsyncOpenAI, asgi_http: httpx2.AsyncClient) -> None:
    model = await asgi_openai.models.retrieve("fake/echo")
    assert model.id == "fake/echo" and model.owned_by == "fake"
    assert (await asgi_openai.models.retrieve("small")).id == "small"
    with pytest.raises(openai.NotFoundError) as caught:
        await asgi_openai.models.retrieve("gpt-9")
    assert caught.value.code == "model_not_found"
    assert "fake/echo" in caught.value.message
    hostile = await asgi_http.get("/models/" + "%2e%2e/" * 50 + "x" * 5000)
    assert hostile.status_code == 404
    assert set(hostile.json()["error"]) == {"message", "type", "param", "code"}
    assert len(hostile.json()["error"]["message"]) < 1000


def test_failure_line_names_request_and_reason() -> None:
    row = RequestRecord(
        session_id=1, created_at=0.0, model_key="fake/echo", provider="fake",
        upstream_model="echo", stream=False, prompt_tokens=0, completion_tokens=0,
        usage_source="estimated", prompt_estimate=0, ttfb_ms=None, total_ms=1.0,
        status="error", http_status=502, error="Fournisseur injoignable\nsuite", cost=0.0,
        attempts=3, id=7,
    )  # fmt: skip
    line = failure_line(row)
    assert line is not None and "\n" not in line
    assert line.startswith("Requête n° 7 en échec (HTTP 502")
    assert "Fournisseur injoignable" in line and "3 tentative(s)" in line
    assert failure_line(replace(row, status="ok")) is None
    assert failure_line(replace(row, status="cancelled")) is None


async def test_upstream_failure_is_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    config = load_config(write_config(tmp_path, dead), {"FAKE_UPSTREAM_KEY": "k"})
    with caplog.at_level(logging.WARNING, logger="hub"):
        async with in_process(create_app(config)) as hub, hub.http() as http:
            response = await http.post("/chat/completions", json=_body())
            assert response.status_code == 502
            await http.get("/api/stats")  # flushes the row, hence the event
            for _ in range(100):
                if any("Requête n°" in r.getMessage() for r in caplog.records):
                    break
                await asyncio.sleep(0.02)
    lines = [r.getMessage() for r in caplog.records if "Requête n°" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].startswith("Requête n° 1 en échec (HTTP 502") and "injoignable" in lines[0]


class ConnectError(Exception):
    """Named like httpx's: french_reason matches on the class name."""


def test_library_errors_in_french() -> None:
    assert french_reason(ConnectError("All connection attempts failed")) == (
        "connexion impossible : le serveur ne répond pas à cette adresse"
    )
    assert french_reason(Exception("Connection closed")) == "le serveur a fermé la connexion"
    assert french_reason(FileNotFoundError(2, "No such file", "npx-absent")) == (
        "commande ou fichier introuvable : npx-absent"
    )
    assert french_reason(TimeoutError()) == "délai dépassé"
    assert french_reason(ValueError("déjà en français")) == "déjà en français"
