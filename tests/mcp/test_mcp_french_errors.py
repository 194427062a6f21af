"""The MCP SDK's own parse and validation errors reach people in French, on HTTP (both
protocol eras, every MCP endpoint) and over stdio; codes and statuses are kept."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest

from hub.api.app import create_app
from hub.api.mcp.french_errors import RULES, french_message
from hub.config import HubConfig, load_config
from tests.support.hub_configs import UPSTREAM_SECRET, write_config
from tests.support.servers import serve

ROOT = Path(__file__).resolve().parents[2]
ACCEPT = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
INIT = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {},
               "clientInfo": {"name": "t", "version": "1"}},
}  # fmt: skip
MODERN = {"mcp-protocol-version": "2026-07-28"}
ENGLISH = ("error", "Invalid", "must", "Missing", "not found", "Not Found", "header", "Method")


def message_of(text: str) -> tuple[int, str]:
    """Code and message of a JSON body or of the first SSE data line (the priming event's
    is empty)."""
    lines = text.splitlines()
    data = next((line[6:] for line in lines if line.startswith("data: ") and line[6:]), text)
    error = json.loads(data)["error"]
    return int(error["code"]), str(error["message"])


def assert_french(message: str) -> None:
    assert not any(word in message for word in ENGLISH), message


@pytest.fixture
async def http(hub_url: str) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(base_url=hub_url, headers=ACCEPT, timeout=10) as client:
        yield client


@pytest.mark.parametrize(
    ("body", "headers", "code", "expected"),
    [
        (b"{pas du json", {}, -32700, "JSON invalide (ligne 1, colonne 2)"),
        (b"[]", {}, -32602, "Message JSON-RPC invalide"),
        (b'{"jsonrpc": "2.0"}', {}, -32602, "Message JSON-RPC invalide"),
        (b'{"jsonrpc":"2.0","id":2,"method":"tools/list"}', {}, -32600, "Mcp-Session-Id"),
        (
            b'{"jsonrpc":"2.0","id":2,"method":"tools/list"}',
            {"mcp-session-id": "inconnue", "mcp-protocol-version": "2025-11-25"},
            -32600,
            "Session MCP inconnue",
        ),
        (b"{pas", MODERN, -32700, "JSON invalide"),
        (b'{"jsonrpc":"2.0","id":1,"method":"server/discover"}', MODERN, -32602, "params._meta"),
    ],
)
async def test_http_errors_before_any_handler_are_french(
    http: httpx2.AsyncClient, body: bytes, headers: dict[str, str], code: int, expected: str
) -> None:
    for path in ("/mcp", "/profiles/default/mcp"):
        response = await http.post(path, content=body, headers=headers)
        assert response.status_code in (400, 404), response.text
        assert int(response.headers["content-length"]) == len(response.content)
        got_code, message = message_of(response.text)
        assert got_code == code and expected in message
        assert_french(message)


async def test_errors_inside_a_session_are_french(http: httpx2.AsyncClient) -> None:
    started = await http.post("/mcp", json=INIT)
    session = {"mcp-session-id": started.headers["mcp-session-id"]}
    session["mcp-protocol-version"] = "2025-11-25"
    notified = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    await http.post("/mcp", json=notified, headers=session)
    unknown = await http.post(
        "/mcp", json={"jsonrpc": "2.0", "id": 3, "method": "frobnicate"}, headers=session
    )
    code, message = message_of(unknown.text)
    assert code == -32601 and message == "Méthode MCP inconnue."
    bad = {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"arguments": 1}}
    code, message = message_of((await http.post("/mcp", json=bad, headers=session)).text)
    assert code == -32602 and message.startswith("Paramètres de la requête invalides")


async def test_a_mismatched_header_is_named_in_french(http: httpx2.AsyncClient) -> None:
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"_meta": meta}}
    headers = {**MODERN, "mcp-method": "tools/list"}
    response = await http.post("/mcp", json=body, headers=headers)
    _, message = message_of(response.text)
    assert message == "L'en-tête mcp-method ne correspond pas à la méthode de la requête."


def test_every_rule_gives_french_and_others_pass() -> None:
    assert french_message("Outil inconnu ou non autorisé : « x ».") is None  # ours: kept
    assert french_message("MCP error -32602: Tool x not found") is None  # an upstream's own
    assert french_message("Authorization header missing") is None
    assert len(RULES) > 25


async def test_stdio_errors_are_french(hub_config: HubConfig) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub", "mcp", "--config", str(hub_config.source),
        cwd=ROOT, env={**os.environ, "FAKE_UPSTREAM_KEY": UPSTREAM_SECRET},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdin is not None and process.stdout is not None
    lines = [
        INIT,
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "frobnicate"},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"arguments": 1}},
    ]
    process.stdin.write(b"".join(json.dumps(line).encode() + b"\n" for line in lines))
    await process.stdin.drain()
    answers: dict[int, dict[str, object]] = {}
    try:
        while len(answers) < 3:
            raw = await asyncio.wait_for(process.stdout.readline(), 60)
            message = json.loads(raw)
            answers[message["id"]] = message
    finally:
        process.stdin.close()
        await asyncio.wait_for(process.wait(), 30)
    assert answers[2]["error"] == {
        "code": -32601,
        "message": "Méthode MCP inconnue.",
        "data": "frobnicate",
    }
    error = answers[3]["error"]
    assert isinstance(error, dict) and str(error["message"]).startswith("Paramètres")


async def test_upstream_door_errors_are_french(tmp_path: Path, upstream_url: str) -> None:
    extra = '\n[mcp.servers.lent]\ncommand = "sleep"\nargs = ["600"]\n'
    config = load_config(write_config(tmp_path, upstream_url, extra), {"FAKE_UPSTREAM_KEY": "k"})
    async with (
        serve(create_app(config)) as url,
        httpx2.AsyncClient(base_url=url, headers=ACCEPT) as client,
    ):
        response = await client.post("/servers/lent/mcp", content=b"{oups")
    code, message = message_of(response.text)
    assert response.status_code == 400 and code == -32700 and message.startswith("JSON invalide")
