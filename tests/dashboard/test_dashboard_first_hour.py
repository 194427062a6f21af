"""The dashboard on a fresh start without any provider key, and what a first user trips over."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from hub.config import load_config
from tests.support.dashboard_browser import MOBILE, RestartableHub, open_dashboard, screenshot
from tests.support.hub_configs import write_config
from tests.support.records import fake_record


@pytest.fixture
async def keyless_hub(tmp_path: Path, upstream_url: str) -> AsyncIterator[RestartableHub]:
    async with RestartableHub(load_config(write_config(tmp_path, upstream_url), {})) as hub:
        yield hub


async def test_fresh_start_without_key_shows_cle_manquante(
    browser: Browser, keyless_hub: RestartableHub
) -> None:
    page, errors = await open_dashboard(browser, keyless_hub.url)
    notice = page.locator("#provider-warnings")
    await expect(notice).to_be_visible()
    await expect(notice).to_contain_text("clé manquante")
    await expect(notice).to_contain_text("FAKE_UPSTREAM_KEY")
    await expect(page.locator("#log-body")).to_contain_text("Aucune requête")
    await screenshot(page, "first-hour-no-key-1280")
    await page.set_viewport_size(MOBILE)
    await expect(notice).to_be_visible()
    await screenshot(page, "first-hour-no-key-390")
    assert errors == []


async def test_sessions_newest_first_active_on_top_and_errors_readable(
    browser: Browser, keyless_hub: RestartableHub
) -> None:
    sessions = keyless_hub.state.sessions
    first = await sessions.create("Ancienne", activate=True)
    await sessions.create("Moyenne", activate=False)
    await sessions.create("Récente", activate=False)
    store = keyless_hub.state.store
    failed = replace(fake_record(first.id, 1), status="error", http_status=502,
                     error="Fournisseur « fake » injoignable après 3 tentative(s).")  # fmt: skip
    await store.insert_request(failed)
    page, errors = await open_dashboard(browser, keyless_hub.url)
    names = page.locator("#session-list li .session-name span")
    await expect(names).to_have_text(["Ancienne", "Récente", "Moyenne"])
    detail = page.locator("#log-body tr[data-status=error] .error-detail")
    await expect(detail).to_be_visible()
    await expect(detail).to_have_text("Fournisseur « fake » injoignable après 3 tentative(s).")
    assert errors == []
