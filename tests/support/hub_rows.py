"""The request rows a hub stored, read back the way a person exports them."""

from __future__ import annotations

import httpx2

from tests.support.json_values import Json


async def stored_rows(http: httpx2.AsyncClient) -> list[Json]:
    """Every request row, oldest first (``GET /api/export/json``)."""
    response = await http.get("/api/export/json")
    assert response.status_code == 200, response.text
    rows: list[Json] = response.json()["requests"]
    return rows
