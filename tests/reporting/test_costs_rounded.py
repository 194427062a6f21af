"""Costs read as decimals: rows, totals, analytics, stats and the CSV export.

At 0.3 / 1.68 per million tokens, the fake upstream's answer (5 prompt and 9 completion
tokens) costs 1.6619999999999997e-05 in floats and three of them 4.985999999999999e-05:
the hub shows 1.662e-05 and 4.986e-05 (``hub.core.money``, 10 decimal places).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import httpx2
from openai import AsyncOpenAI

from hub.api.app import create_app
from hub.config import load_config
from tests.support.chats import HELLO
from tests.support.hub_configs import UPSTREAM_SECRET, write_config
from tests.support.servers import serve

NOISY = """
[models.noisy]
provider = "fake"
model = "echo"
input_price = 0.3
output_price = 1.68
"""
ONE, THREE = 1.662e-05, 4.986e-05


async def test_costs_are_rounded_wherever_people_read_them(
    tmp_path: Path, upstream_url: str
) -> None:
    config = load_config(
        write_config(tmp_path, upstream_url, NOISY), {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET}
    )
    async with serve(create_app(config)) as url, httpx2.AsyncClient(base_url=url) as http:
        async with AsyncOpenAI(base_url=url, api_key="x", max_retries=0) as client:
            for _ in range(3):
                await client.chat.completions.create(model="noisy", messages=HELLO)
        exported = (await http.get("/api/export/json")).json()
        stats = (await http.get("/api/stats")).json()
        analytics = (await http.get("/api/analytics")).json()
        session = exported["requests"][0]["session_id"]
        metrics = (await http.get(f"/api/sessions/{session}/metrics")).json()
        text = (await http.get("/api/export/csv")).text
    assert [r["cost"] for r in exported["requests"]] == [ONE] * 3
    assert exported["totals"]["cost"] == THREE
    assert stats["totals"]["cost"] == THREE and metrics["totals"]["cost"] == THREE
    assert analytics["totals"]["cost"] == THREE
    assert [m["cost"] for m in analytics["by_model"]] == [THREE]
    cells = [row["cost"] for row in csv.DictReader(io.StringIO(text))]
    assert cells == ["0.00001662"] * 3
    assert all(re.fullmatch(r"0\.\d{1,10}", cell) for cell in cells)
