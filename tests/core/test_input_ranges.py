"""Issue #10 finding 11: ids, limits and text from clients are range-checked (400, never 500)."""

from __future__ import annotations

import httpx2
import pytest

from hub.core.ids import ascii_int
from tests.support.fake_upstream import FakeUpstream

JSON_TYPE = {"content-type": "application/json"}
HUGE = [str(2**63), str(2**64), "9" * 40, "²", "٣", "١٢", "1_0", "%2B7", "-1", "0", "1e3", "0x10"]


def test_ascii_int_takes_only_plain_digits_in_range() -> None:
    assert ascii_int(" 42 ") == 42 and ascii_int(str(2**63 - 1)) == 2**63 - 1
    for bad in (str(2**63), "9" * 40, "²", "٣", "1_0", "+7", "-1", "", " ", "1.0"):
        assert ascii_int(bad) is None, bad


async def test_ids_out_of_range_or_not_ascii_are_400(asgi_http: httpx2.AsyncClient) -> None:
    for raw in HUGE:
        for method, path in (
            ("GET", f"/api/sessions/{raw}"),
            ("DELETE", f"/api/sessions/{raw}"),
            ("POST", f"/api/sessions/{raw}/activate"),
            ("GET", f"/api/sessions/{raw}/metrics"),
            ("GET", f"/api/export/json?session={raw}"),
            ("GET", f"/api/export/csv?session={raw}"),
            ("GET", f"/api/savings?session={raw}"),
        ):
            response = await asgi_http.request(method, path)
            assert response.status_code == 400, (method, path, response.text)
            assert response.json()["error"]["message"]
    session = (await asgi_http.post("/api/sessions", json={})).json()["id"]
    for name in ("limit", "before"):
        for raw in HUGE:
            for url in (
                f"/api/sessions/{session}/metrics?{name}={raw}",
                f"/api/requests?{name}={raw}",
            ):
                response = await asgi_http.get(url)
                assert response.status_code == 400, url
                assert "invalide" in response.json()["error"]["message"]
    for raw in HUGE:
        assert (await asgi_http.get(f"/api/requests/{raw}")).status_code in (400, 404), raw
    for raw in ("²", "٣", "١٢", "1_0", "9" * 40, "--5", "%2B-5", "12.5"):  # tz: minutes, signed
        for path in ("/api/analytics", "/api/requests", "/api/export/csv"):
            response = await asgi_http.get(f"{path}?tz={raw}")
            assert response.status_code == 400, (path, raw)
            assert response.json()["error"]["param"] == "tz"
    for raw in ("١٧٠٠٠٠٠٠٠٠", "²", "1e9"):  # epoch seconds: ASCII digits only
        assert (await asgi_http.get(f"/api/requests?from={raw}")).status_code == 400, raw
    assert (await asgi_http.get("/api/requests?tz=-120&limit=1")).status_code == 200
    largest = await asgi_http.get(f"/api/sessions/{2**63 - 1}")
    assert largest.status_code == 404


async def test_session_header_out_of_range_is_400(asgi_http: httpx2.AsyncClient) -> None:
    body = {"model": "fake/echo", "messages": [{"role": "user", "content": "x"}]}
    for raw in (str(2**63).encode(), "²".encode("latin-1"), b"0", b"1_0"):
        response = await asgi_http.post(
            "/chat/completions", json=body, headers={b"x-kimi-session": raw}
        )
        assert response.status_code == 400, raw
        assert response.json()["error"]["code"] == "invalid_session_id"


LONE = ["\\ud800", "\\udfff", "a\\ud83d", "\\ude00b"]


@pytest.mark.parametrize("escape", LONE)
async def test_lone_surrogates_anywhere_are_400(
    asgi_http: httpx2.AsyncClient, fake_upstream: FakeUpstream, escape: str
) -> None:
    session = (await asgi_http.post("/api/sessions", json={})).json()["id"]
    bodies = [
        ("/chat/completions", '{"model": "fake/echo", "messages": [{"role": "user", '
                              f'"content": "{escape}"}}]}}'),
        ("/chat/completions", '{"model": "fake/echo", "user": "' + escape + '", '
                              '"messages": [{"role": "user", "content": "x"}]}'),
        ("/chat/completions", '{"model": "fake/echo", "messages": [{"role": "user", '
                              f'"content": [{{"type": "text", "text": "{escape}"}}]}}]}}'),
        ("/api/sessions", '{"name": "' + escape + '"}'),
        ("/api/sessions", '{"' + escape + '": 1}'),
    ]  # fmt: skip
    for path, body in bodies:
        response = await asgi_http.post(path, content=body.encode(), headers=JSON_TYPE)
        assert response.status_code == 400, (path, body)
        assert response.json()["error"]["code"] == "invalid_unicode"
    renamed = await asgi_http.patch(
        f"/api/sessions/{session}", content=f'{{"name": "{escape}"}}'.encode(), headers=JSON_TYPE
    )
    assert renamed.status_code == 400
    assert fake_upstream.received == []


async def test_valid_unicode_passes_whole(asgi_http: httpx2.AsyncClient) -> None:
    body = '{"name": "\\ud83d\\ude00 é 中文 \\u0000"}'.encode()
    created = await asgi_http.post("/api/sessions", content=body, headers=JSON_TYPE)
    assert created.status_code == 201
    assert created.json()["name"] == "😀 é 中文 \x00"
    raw_surrogate = b'{"name": "\xed\xa0\x80"}'  # a surrogate encoded as UTF-8 bytes
    response = await asgi_http.post("/api/sessions", content=raw_surrogate, headers=JSON_TYPE)
    assert response.status_code == 400
