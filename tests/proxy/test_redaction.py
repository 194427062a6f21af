"""Configured secrets never leave the hub, even when an upstream echoes them back."""

import json
from pathlib import Path

import httpx2
import pytest

from hub.api.app import create_app
from hub.config import load_config
from hub.core.redact import REDACTED, Redactor
from hub.proxy.upstream import provider_secrets
from tests.support.asgi import in_process
from tests.support.chats import HELLO
from tests.support.fake_upstream import FakeUpstream
from tests.support.hub_configs import UPSTREAM_SECRET, write_config


def test_redactor_replaces_every_secret_longest_first() -> None:
    redactor = Redactor(["sk-abc", "sk-abcdef", "", "xy"])
    assert redactor.text("a sk-abcdef b sk-abc c xy") == f"a {REDACTED} b {REDACTED} c xy"
    assert redactor.data(b"Bearer sk-abcdef") == f"Bearer {REDACTED}".encode()
    assert Redactor([]).text("rien à masquer") == "rien à masquer"


def test_provider_secrets_take_keys_and_secret_headers(tmp_path: Path) -> None:
    extra = """
[providers.headers]
base_url = "http://127.0.0.1:1/v1"
headers = { "X-Api-Key" = "hdr-secret-1", "OpenAI-Beta" = "assistants=v2" }
"""
    config = load_config(write_config(tmp_path, "http://127.0.0.1:1", extra), {
        "FAKE_UPSTREAM_KEY": UPSTREAM_SECRET
    })  # fmt: skip
    secrets = provider_secrets(config)
    assert UPSTREAM_SECRET in secrets and "hdr-secret-1" in secrets
    assert "assistants=v2" not in secrets


@pytest.mark.parametrize("stream", [False, True])
async def test_echoed_key_is_redacted_in_reply_rows_and_exports(
    asgi_http: httpx2.AsyncClient, fake_upstream: FakeUpstream, stream: bool
) -> None:
    body = {"model": "fake/echo-key", "messages": HELLO, "stream": stream}
    response = await asgi_http.post("/chat/completions", json=body)
    assert fake_upstream.headers[-1]["authorization"] == f"Bearer {UPSTREAM_SECRET}"
    assert response.status_code == 400
    assert UPSTREAM_SECRET not in response.text
    assert response.json()["error"]["message"] == f"en-tête reçu : Bearer {REDACTED}"
    exported = (await asgi_http.get("/api/export/json")).json()
    [row] = exported["requests"]
    assert row["status"] == "error" and REDACTED in row["error"]
    for path in ("/api/export/json", "/api/export/csv", "/api/stats", "/api/sessions"):
        assert UPSTREAM_SECRET not in (await asgi_http.get(path)).text, path
    metrics = await asgi_http.get(f"/api/sessions/{row['session_id']}/metrics")
    assert UPSTREAM_SECRET not in metrics.text


async def test_summariser_error_text_is_redacted(
    tmp_path: Path, upstream_url: str, fake_upstream: FakeUpstream
) -> None:
    """A summariser that echoes the key: the compaction event's reason stays clean."""
    extra = '\n[savings]\nsummariser_model = "fake/echo-key"\n'
    extra += "keep_recent_rounds = 1\nrewrite_batch_rounds = 1\n"
    config = load_config(write_config(tmp_path, upstream_url, extra), {
        "FAKE_UPSTREAM_KEY": UPSTREAM_SECRET
    })  # fmt: skip
    history = [
        {"role": "user", "content": "première question"},
        {"role": "assistant", "content": "réponse " * 400},
        {"role": "user", "content": "autre question " * 300},
        {"role": "assistant", "content": "réponse " * 400},
        {"role": "user", "content": "deuxième question"},
    ]
    async with in_process(create_app(config)) as hub:
        async with hub.http() as http:
            reply = await http.post(
                "/chat/completions", json={"model": "fake/echo", "messages": history}
            )
            assert reply.status_code == 200
            savings = (await http.get("/api/savings")).json()
    [event] = savings["events"]
    assert event["detail"]["fallback"] is True and event["detail"]["reason"]
    assert UPSTREAM_SECRET not in json.dumps(savings)


def test_redactor_sees_escaped_and_base64_forms() -> None:
    import base64

    secret = "sk-upstream-secret-123"
    redactor = Redactor([secret])
    escaped = "".join(f"\\u{ord(c):04x}" for c in secret).encode()
    cleaned = redactor.data(b'{"m": "' + escaped + b'", "n": "\\u0022\\n"}')
    assert json.loads(cleaned) == {"m": REDACTED, "n": '"\n'}  # still valid JSON
    for prefix in (b"", b"u:", b"ab:", b"Bearer "):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            blob = encode(prefix + secret.encode() + b"!?")
            cleaned = redactor.data(blob)
            assert REDACTED.encode() in cleaned and len(cleaned) < len(blob) + 8
    assert redactor.data(b'{"x": "\\u00e9t\\u00e9"}') == b'{"x": "\\u00e9t\\u00e9"}'  # untouched


@pytest.mark.parametrize(
    ("model", "stream", "status"),
    [
        ("fake/echo-key-escaped", False, 401),
        ("fake/echo-key-base64", False, 403),
        ("fake/echo-key-ok", False, 200),
        ("fake/echo-key-sse", True, 200),
    ],
)
async def test_every_echoed_form_is_redacted_for_client_store_and_ws(
    http: httpx2.AsyncClient, hub_url: str, model: str, stream: bool, status: int
) -> None:
    """Issue #10 finding 6: what the client decodes, the row, the exports and /ws."""
    import base64

    import websockets

    secret_b64 = base64.b64encode(f"user:{UPSTREAM_SECRET}".encode()).decode()
    async with websockets.connect(hub_url.replace("http", "ws") + "/ws") as socket:
        assert json.loads(await socket.recv())["type"] == "hello"
        body = {"model": model, "messages": HELLO, "stream": stream}
        response = await http.post("/chat/completions", json=body)
        assert response.status_code == status
        seen = [response.text]
        if not stream:
            seen.append(json.dumps(response.json(), ensure_ascii=False))  # JSON-decoded
        event = json.loads(await socket.recv())
        while event["type"] != "metric":
            event = json.loads(await socket.recv())
        seen.append(json.dumps(event, ensure_ascii=False))
    for path in ("/api/export/json", "/api/export/csv"):
        seen.append((await http.get(path)).text)
    for text in seen:
        assert UPSTREAM_SECRET not in text and secret_b64 not in text
