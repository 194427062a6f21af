"""The savings panel: past events come from /api on load, live ones join them; cached tokens."""

from __future__ import annotations

import time
from dataclasses import replace

from playwright.async_api import Browser, expect

from hub.core.storage.savings import SavingsStore
from tests.support.dashboard_browser import RestartableHub, open_dashboard
from tests.support.records import fake_record

EVENTS = "#savings-events li"


async def test_past_events_load_and_live_ones_join(
    browser: Browser, dash_hub: RestartableHub
) -> None:
    state = dash_hub.state
    session = await state.sessions.create("Agent", activate=True)
    other = await state.sessions.create("Autre", activate=False)
    await state.store.insert_request(replace(fake_record(session.id, 1), cached_tokens=40))
    events = SavingsStore(state.store)
    await events.add_event(session.id, "masking", 900, 600, {"masked": [{"hash": "a"}]})
    await events.add_event(session.id, "compaction", 5000, 1200, {"rounds": 20})
    await events.add_event(other.id, "compaction", 7000, 100, {"rounds": 30})

    page, errors = await open_dashboard(browser, dash_hub.url)
    await expect(page.locator(EVENTS)).to_have_count(2)  # this session's only
    await expect(page.locator(EVENTS).first).to_contain_text(
        "Compaction (20 tour(s) résumé(s)) : 3\u202f800 tokens économisés"
    )
    await expect(page.locator(EVENTS).nth(1)).to_contain_text("Masquage (1 contenu(s)) : 300")
    await expect(page.locator("#totals dd[data-field=cached_tokens]")).to_have_text("40")

    live = {"session_id": session.id, "event_id": 99, "tokens_before": 800, "tokens_after": 700}
    state.bus.publish("masking", {**live, "masked": [], "at": time.time()})
    state.bus.publish("compaction", {**live, "session_id": other.id, "event_id": 100})
    await expect(page.locator(EVENTS)).to_have_count(3)
    await expect(page.locator(EVENTS).first).to_contain_text("Masquage : 100 tokens économisés")
    assert errors == []
