"""The dashboard on 100 000 stored requests: API answers and the whole page.

    python scripts/bench.py dashboard [--rows N] [--runs N]

Fills a fresh SQLite file with N request rows (90 days, 20 sessions, 6 models on 3
providers, 4 % errors), starts the hub on it in a child process (``python -m hub
serve``), times each call the dashboard makes when it opens (median of ``--runs``), then
opens the page in Debian's chromium and times it until the journal, the totals and the
analytics panel (charts, tables, first search page) are drawn. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

import httpx2

from bench.proxy import _free_port, _machine, _spawn, hub_serve
from hub.core.storage.database import SqlParam
from hub.core.storage.store import Store

HAVE_CHROMIUM = Path("/usr/bin/chromium").exists()

DAY = 86_400
MODELS = (
    ("kimi/k2", "kimi"),
    ("kimi/k2-turbo", "kimi"),
    ("deep/chat", "deep"),
    ("deep/reasoner", "deep"),
    ("local/qwen", "local"),
    ("local/llama", "local"),
)
CONFIG = """
[database]
path = "{db}"

[providers.kimi]
base_url = "http://127.0.0.1:9/v1"
[providers.deep]
base_url = "http://127.0.0.1:9/v1"
[providers.local]
base_url = "http://127.0.0.1:9/v1"
{models}
"""


def _models() -> str:
    return "".join(
        f'\n[models."{key}"]\nprovider = "{provider}"\nmax_context = 128000\n'
        f"input_price = 0.6\noutput_price = 2.5\n"
        for key, provider in MODELS
    )


async def fill(path: Path, rows: int) -> None:
    store = await Store.open(path)
    now = time.time()
    rng = random.Random(15)
    await store.db.execute_many(
        "INSERT INTO sessions (name, created_at, active) VALUES (?, ?, ?)",
        [(f"Session {i}", now - (20 - i) * 4 * DAY, int(i == 19)) for i in range(20)],
    )
    batch: list[tuple[SqlParam, ...]] = []
    for index in range(rows):
        created = now - 90 * DAY + 90 * DAY * index / rows
        model, provider = MODELS[rng.randrange(len(MODELS))]
        failed = rng.random() < 0.04
        prompt, completion = rng.randint(200, 60_000), rng.randint(10, 2_000)
        batch.append(
            (
                1 + min(19, index * 20 // rows),
                created,
                model,
                provider,
                model.split("/")[1],
                1,
                prompt,
                completion,
                "upstream",
                prompt - 40,
                rng.uniform(80, 900),
                rng.uniform(300, 30_000),
                "error" if failed else "ok",
                502 if failed else 200,
                "Fournisseur injoignable après 3 tentative(s) : ConnectError." if failed else None,
                (prompt * 0.6 + completion * 2.5) / 1e6,
                1,
                rng.choice((0, 0, 0, 1500)),
            )
        )
        if len(batch) == 10_000:
            await _insert(store, batch)
            batch = []
    if batch:
        await _insert(store, batch)
    await store.close()


async def _insert(store: Store, batch: list[tuple[SqlParam, ...]]) -> None:
    await store.db.execute_many(
        "INSERT INTO requests (session_id, created_at, model_key, provider, upstream_model,"
        " stream, prompt_tokens, completion_tokens, usage_source, prompt_estimate, ttfb_ms,"
        " total_ms, status, http_status, error, cost, attempts, tokens_saved)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        batch,
    )


async def _wait(url: str) -> None:
    async with httpx2.AsyncClient() as client:
        for _ in range(300):
            try:
                await client.get(url + "/health")
                return
            except httpx2.TransportError:
                await asyncio.sleep(0.1)
    raise RuntimeError("le hub n'a pas démarré")


def _today_minus(days: int) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(time.time() - days * DAY))


def calls() -> list[tuple[str, str]]:
    month = f"from={_today_minus(29)}&to={_today_minus(0)}&tz=0"
    return [
        ("page (index.html)", "/"),
        ("/api/stats", "/api/stats"),
        ("/api/sessions", "/api/sessions"),
        ("metrics, 100 rows of the active session", "/api/sessions/20/metrics?limit=100"),
        ("analytics, 30 days", f"/api/analytics?{month}"),
        ("analytics, 90 days, all rows", "/api/analytics?tz=0"),
        ("analytics, one model, 30 days", f"/api/analytics?{month}&model=deep/chat"),
        ("search, first page of 50 (30 days)", f"/api/requests?{month}&limit=50"),
        ("search, page 500 (keyset cursor)", "/api/requests?limit=50&before=75000"),
        ("search, error text « injoignable »", "/api/requests?q=injoignable&limit=50"),
        ("search, status failed + model", "/api/requests?status=failed&model=kimi/k2&limit=50"),
    ]


async def time_calls(url: str, runs: int) -> list[tuple[str, float]]:
    results = []
    async with httpx2.AsyncClient(base_url=url, timeout=60) as client:
        for name, path in calls():
            samples = []
            for _ in range(runs):
                started = time.perf_counter()
                response = await client.get(path)
                samples.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
            results.append((name, statistics.median(samples)))
    return results


async def time_page(url: str, runs: int) -> list[float]:
    from playwright.async_api import async_playwright

    ready = (
        "() => document.querySelectorAll('#log-body tr[data-id]').length > 0"
        " && document.querySelectorAll('#search-results tr[data-id]').length > 0"
        " && document.querySelector('#analytics').dataset.loading === 'false'"
        " && !document.querySelector('#analytics-summary').textContent.startsWith('—')"
        " && document.querySelector('[data-field=requests]').textContent !== '—'"
    )
    samples = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        for _ in range(runs):
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            started = time.perf_counter()
            await page.goto(url + "/")
            await page.wait_for_function(ready, timeout=60_000)
            samples.append((time.perf_counter() - started) * 1000)
            await page.close()
        await browser.close()
    return samples


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench.py dashboard")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        started = time.perf_counter()
        await fill(db, args.rows)
        fill_s = time.perf_counter() - started
        config = Path(tmp) / "config.toml"
        config.write_text(CONFIG.format(db=db, models=_models()))
        port = _free_port()
        hub = _spawn(hub_serve(config, port))
        url = f"http://127.0.0.1:{port}"
        try:
            await _wait(url)
            api = await time_calls(url, args.runs)
            page = await time_page(url, args.runs) if HAVE_CHROMIUM else []
        finally:
            hub.terminate()
            hub.wait(timeout=30)
    print(f"{args.rows} lignes ({fill_s:.1f} s pour les écrire) · {_machine()}\n")
    print("| appel | médiane ms |\n| --- | ---: |")
    for name, ms in api:
        print(f"| {name} | {ms:.1f} |")
    if page:
        print(
            f"| page complète dans chromium (médiane de {len(page)}, min {min(page):.0f},"
            f" max {max(page):.0f}) | {statistics.median(page):.0f} |"
        )
    else:
        print("| page complète dans chromium | non mesurée : /usr/bin/chromium absent |")
