"""Request inspector and analytics in Debian's chromium, against a real hub and the SDK."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from openai import AsyncOpenAI
from playwright.async_api import Browser, Page, expect

from hub.config import load_config
from tests.support.chats import history
from tests.support.dashboard_browser import (
    MOBILE,
    SCREENSHOTS,
    RestartableHub,
    open_dashboard,
    screenshot,
)
from tests.support.hub_configs import SAVINGS, UPSTREAM_SECRET, write_config
from tests.support.records import fake_record

DAY = 86_400
BODIES = "\n[logging]\nstore_bodies = true\n"


@pytest.fixture
async def savings_hub(tmp_path: Path, upstream_url: str) -> AsyncIterator[RestartableHub]:
    extra = (
        SAVINGS.format(masking="true", compaction="true", summarise="true", summariser="") + BODIES
    )
    config = load_config(
        write_config(tmp_path, upstream_url, extra), {"FAKE_UPSTREAM_KEY": UPSTREAM_SECRET}
    )
    async with RestartableHub(config) as hub:
        yield hub


async def dialog_shot(page: Page, name: str) -> None:
    """The open dialog from its top (a modal: a full-page shot would cut it)."""
    await page.locator("#inspector").evaluate("(d) => { d.scrollTop = 0; }")
    SCREENSHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


async def inspect_row(page: Page, table: str, request_id: int) -> None:
    await page.locator(f"{table} button[data-inspect='{request_id}']").click()
    await expect(page.locator("#inspector")).to_be_visible()
    await expect(page.locator("#inspector-title")).to_have_text(f"Requête n° {request_id}")


async def test_inspector_shows_original_and_forwarded_messages(
    browser: Browser, savings_hub: RestartableHub
) -> None:
    async with AsyncOpenAI(base_url=savings_hub.url, api_key="k", max_retries=0) as sdk:
        await sdk.chat.completions.create(model="fake/wide", messages=history(2))  # masked
        await sdk.chat.completions.create(model="fake/window", messages=history(3))  # compacted
    page, errors = await open_dashboard(browser, savings_hub.url)
    # a new model opened a new session (auto-session): the search journal shows both
    await expect(page.locator("#search-results tr[data-id]")).to_have_count(2)
    ids = await page.locator("#search-results tr[data-id]").evaluate_all(
        "(rows) => rows.map((r) => Number(r.dataset.id))"
    )
    masked_id, compacted_id = min(ids), max(ids)
    await inspect_row(page, "#search-results", masked_id)
    dialog = page.locator("#inspector")
    columns = dialog.locator(".bodies.side-by-side .body-column")
    await expect(columns).to_have_count(2)
    await expect(columns.nth(0).locator("h3")).to_have_text("Envoyé par le client")
    await expect(columns.nth(1).locator("h3")).to_contain_text("Reçu par le fournisseur")
    await expect(columns.nth(0)).to_contain_text("tâche 60 traitée")  # the original log
    await expect(columns.nth(1)).to_contain_text("Content masked")
    await expect(columns.nth(1).locator(".message.changed")).to_have_count(2)  # two tool outputs
    await expect(dialog.locator(".facts")).to_contain_text("fake/wide")
    await expect(dialog.locator(".facts")).to_contain_text("Tokens économisés")
    reveal = columns.nth(1).locator("button[data-mask]").first
    await reveal.click()
    original = columns.nth(1).locator("pre.mask-original").first
    await expect(original).to_contain_text("tâche 60 traitée")
    await expect(original).to_contain_text("KeyError: 'invoice_id'")
    await dialog_shot(page, "inspector-masked-1280")
    await page.set_viewport_size(MOBILE)
    await dialog_shot(page, "inspector-masked-390")
    await page.set_viewport_size({"width": 1280, "height": 800})
    await page.locator("#inspector-close").click()
    await expect(dialog).to_be_hidden()
    await inspect_row(page, "#log-body", compacted_id)  # the live journal opens it too
    summary = dialog.locator(".body-column").nth(1).locator(".message.summary")
    await expect(summary).to_have_count(1)
    await expect(summary).to_contain_text("résumé de compaction")
    assert UPSTREAM_SECRET not in await dialog.inner_text()
    assert errors == []


async def _fill(hub: RestartableHub) -> None:
    state = hub.state
    session = await state.sessions.create("Historique", activate=True)
    now = time.time()
    for index in range(60):
        model = "fake/echo" if index % 3 else "other/echo"
        failed = index % 12 == 0
        record = replace(
            fake_record(session.id, index, model), created_at=now - (index % 10) * DAY,
            provider=model.split("/")[0], status="error" if failed else "ok",
            http_status=502 if failed else 200,
            error="Fournisseur injoignable après 3 tentative(s)." if failed else None,
        )  # fmt: skip
        await state.store.insert_request(record)


async def chart_labels(page: Page, canvas: str) -> list[str]:
    labels: list[str] = await page.evaluate(f"() => Chart.getChart('{canvas}').data.labels")
    return labels


async def chart_total(page: Page, canvas: str, dataset: int) -> int:
    total: int = await page.evaluate(
        f"() => Chart.getChart('{canvas}').data.datasets[{dataset}].data.reduce((a, b) => a + b, 0)"
    )
    return total


async def test_filters_and_date_ranges_change_charts_and_journal(
    browser: Browser, savings_hub: RestartableHub
) -> None:
    await _fill(savings_hub)
    page, errors = await open_dashboard(browser, savings_hub.url)
    info = page.locator("#search-info")
    await expect(info).to_contain_text("60 résultat(s)")
    assert len(await chart_labels(page, "daily-tokens-chart")) == 30  # default: 30 days
    requests_total = await chart_total(page, "daily-requests-chart", 0)
    errors_total = await chart_total(page, "daily-requests-chart", 1)
    assert (requests_total, errors_total) == (55, 5)
    await expect(page.locator("#analytics-by-model tr")).to_have_count(2)
    await expect(page.locator("#search-results tr[data-id]")).to_have_count(50)
    await page.locator("#search-older").click()
    await expect(page.locator("#search-results tr[data-id]")).to_have_count(10)
    await expect(info).to_contain_text("51–60")
    # one model
    await page.select_option("#analytics-filters select[name=model]", "other/echo")
    await page.locator("#analytics-filters button[type=submit]").click()
    await expect(info).to_contain_text("20 résultat(s)")
    await expect(page.locator("#analytics-by-model tr")).to_have_count(1)
    assert (
        await chart_total(page, "daily-requests-chart", 0)
        + await chart_total(page, "daily-requests-chart", 1)
        == 20
    )
    # today only
    await page.locator("#analytics-filters button[data-days='1']").click()
    await expect(info).to_contain_text("2 résultat(s)")
    assert len(await chart_labels(page, "daily-tokens-chart")) == 1
    # error text, all models, everything
    await page.select_option("#analytics-filters select[name=model]", "")
    await page.fill("#analytics-filters input[name=q]", "injoignable")
    await page.locator("#analytics-filters button[data-days='0']").click()
    await expect(info).to_contain_text("5 résultat(s)")
    await expect(page.locator("#search-results .error-detail").first).to_be_visible()
    await expect(page.locator("#analytics-summary")).to_contain_text("taux d’erreur 100")
    await screenshot(page, "analytics-1280")
    await page.set_viewport_size(MOBILE)
    scroll = await page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll <= MOBILE["width"], "la page déborde horizontalement à 390 px"
    await screenshot(page, "analytics-390")
    assert errors == []
