"""Bodies Python's parser refuses in English get a French 400, on the OpenAI routes and REST.

Issue #24 found « maximum recursion depth exceeded… », « Unexpected UTF-8 BOM… » and
« Exceeds the limit (4300 digits)… » in answers; nesting between ~950 and 1 024 levels
was parsed, then failed while being encoded (a 500).
"""

from __future__ import annotations

import json

import httpx2
import openai
import pytest
from openai import AsyncOpenAI

from hub.core.json_errors import json_error_text
from tests.support.fake_upstream import FakeUpstream

CHAT = '{"model": "fake/echo", "messages": [{"role": "user", "content": "a"}]'
ENGLISH = ("recursion", "Expecting", "Exceeds", "BOM", "line", "column", "Error")


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


BODIES = {
    "nested 300": CHAT + ', "x": ' + _nested(300) + "}",
    "nested 980": CHAT + ', "x": ' + _nested(980) + "}",  # parsed, then failed to encode
    "nested 5000": CHAT + ', "x": ' + _nested(5000) + "}",
    "5000 digits": CHAT + ', "seed": ' + "7" * 5000 + "}",
    "syntax": '{"model": }',
    "trailing data": CHAT + "} x",
    "unterminated": '{"model": "fake',
}
EXPECTED = {
    "nested 300": "plus de 254 niveaux",
    "nested 980": "plus de 254 niveaux",
    "nested 5000": "plus de 254 niveaux",
    "5000 digits": "entier de plus de 4300 chiffres",
    "syntax": "valeur attendue (ligne 1, colonne 11)",
    "trailing data": "données en trop",
    "unterminated": "chaîne non terminée",
}


@pytest.mark.parametrize("path", ["/chat/completions", "/api/sessions", "/api/keys"])
@pytest.mark.parametrize("name", sorted(BODIES))
async def test_refused_json_is_explained_in_french(
    http: httpx2.AsyncClient, fake_upstream: FakeUpstream, path: str, name: str
) -> None:
    response = await http.post(
        path, content=BODIES[name].encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_json" and error["type"] == "invalid_request_error"
    assert error["message"].startswith("JSON invalide : ")
    assert EXPECTED[name] in error["message"]
    assert not any(word in error["message"] for word in ENGLISH), error["message"]
    assert fake_upstream.received == []


async def test_a_byte_order_mark_is_ignored(
    http: httpx2.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    """RFC 8259 §8.1: a parser may ignore it; editors on Windows write one."""
    bom = "\ufeff".encode()
    headers = {"content-type": "application/json"}
    chat = await http.post(
        "/chat/completions", content=bom + (CHAT + "}").encode(), headers=headers
    )
    assert chat.status_code == 200, chat.text
    session = await http.post("/api/sessions", content=bom + b'{"name": "BOM"}', headers=headers)
    assert session.status_code == 201 and session.json()["name"] == "BOM"
    assert len(fake_upstream.received) == 1


async def test_the_sdk_gets_a_french_error_for_deep_nesting(openai_client: AsyncOpenAI) -> None:
    deep: object = []
    for _ in range(300):
        deep = [deep]
    with pytest.raises(openai.BadRequestError) as refused:
        await openai_client.chat.completions.create(
            model="fake/echo",
            messages=[{"role": "user", "content": "a"}],
            extra_body={"metadata_tree": deep},
        )
    assert "plus de 254 niveaux" in refused.value.message


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("n", "1" * 4000, "un entier de 4000 chiffres"),
        ("temperature", "9" * 400, "un entier de 400 chiffres"),
        ("max_tokens", str(2**31), "entre 1 et 2147483647"),
    ],
)
async def test_huge_numbers_in_known_fields_are_a_400_not_a_500(
    http: httpx2.AsyncClient, field: str, value: str, shown: str
) -> None:
    body = CHAT + f', "{field}": {value}' + "}"
    response = await http.post(
        "/chat/completions", content=body.encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert shown in response.json()["error"]["message"]


@pytest.mark.parametrize("field", ["budget", "rpm", "tpm", "expires_at"])
async def test_huge_numbers_in_key_limits_are_a_400(http: httpx2.AsyncClient, field: str) -> None:
    body = json.dumps({"name": "x"})[:-1] + f', "{field}": {"1" * 4000}' + "}"
    response = await http.post(
        "/api/keys", content=body.encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert "hors limites" in response.json()["error"]["message"]


def test_every_parser_message_has_a_french_reason() -> None:
    for text in ('{"a" 1}', '{"a": 1,}', "[1,]", '"\\x"', '"\\u12"', '"a\nb"', "{1: 2}"):
        with pytest.raises(json.JSONDecodeError) as caught:
            json.loads(text)
        message = json_error_text(caught.value)
        assert "syntaxe invalide" not in message, (text, caught.value.msg)
