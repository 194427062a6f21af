"""Large histories: a bounded window, older pages on demand, a burst of live events."""

from __future__ import annotations

import time

from playwright.async_api import Browser, expect

from tests.support.dashboard_browser import SCREENSHOTS, RestartableHub, open_dashboard
from tests.support.records import fake_record

ROWS = "#log-body tr[data-id]"


async def test_thousand_requests_page_and_burst(browser: Browser, dash_hub: RestartableHub) -> None:
    state = dash_hub.state
    session = await state.sessions.create("Gros historique", activate=True)
    for i in range(1000):
        await state.store.insert_request(fake_record(session.id, i))

    started = time.perf_counter()
    page, errors = await open_dashboard(browser, dash_hub.url)
    await expect(page.locator(ROWS)).to_have_count(100)  # newest page only
    first_paint = time.perf_counter() - started
    await expect(page.locator("#totals dd[data-field=requests]")).to_have_text("1\u202f000")
    await expect(page.locator(ROWS).first).to_have_attribute("data-id", "1000")

    await page.click("#log-older")
    await expect(page.locator(ROWS)).to_have_count(200)
    await expect(page.locator(ROWS).last).to_have_attribute("data-id", "801")

    # 1 000 more rows announced one event each, as the recorder does, in one burst
    for i in range(1000):
        await state.store.insert_request(fake_record(session.id, i))
    newest = await state.store.list_requests(session.id, limit=1000)
    started = time.perf_counter()
    for record in reversed(newest):
        state.bus.publish("metric", {"request": record.to_json()})
    await expect(page.locator(ROWS).first).to_have_attribute("data-id", "2000")
    await expect(page.locator(ROWS)).to_have_count(500)  # bounded window
    await expect(page.locator("#totals dd[data-field=requests]")).to_have_text("2\u202f000")
    burst = time.perf_counter() - started
    assert await page.evaluate("() => 1 + 1") == 2  # the page still answers
    labels = await page.evaluate("() => Chart.getChart('token-chart').data.labels")
    assert len(labels) == 120 and labels[-1] == "n° 2000"
    await expect(page.locator("#log-caption")).to_contain_text("fenêtre limitée à 500")

    SCREENSHOTS.mkdir(exist_ok=True)
    (SCREENSHOTS / "dashboard-history-timings.txt").write_text(
        f"first page of a 1 000-request session: {first_paint * 1000:.0f} ms\n"
        f"1 000 live metric events to a 500-row window: {burst * 1000:.0f} ms\n"
    )
    assert errors == []
