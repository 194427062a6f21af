"""The keys section of the French dashboard, in Debian's chromium, against a real hub."""

from __future__ import annotations

import openai
import pytest
from openai import AsyncOpenAI
from playwright.async_api import Browser, expect

from tests.support.chats import HELLO
from tests.support.dashboard_browser import RestartableHub, open_dashboard


async def test_create_use_and_revoke_a_key(browser: Browser, dash_hub: RestartableHub) -> None:
    page, errors = await open_dashboard(browser, dash_hub.url)
    panel = page.locator("#keys-panel")
    await expect(panel.locator("#key-list")).to_contain_text("Aucune clé")
    await panel.get_by_label("Nom").fill("Éditeur <i>CI</i>")
    await panel.get_by_label("Budget").fill("2")
    await panel.get_by_label("Période").select_option("month")
    await panel.get_by_label("Req./min").fill("5")
    await panel.get_by_label("Modèles").fill("fake/*")
    await panel.get_by_role("button", name="Créer la clé").click()
    secret_box = panel.locator("#key-secret code")
    await expect(secret_box).to_contain_text("sk-kp-")
    secret = await secret_box.inner_text()
    item = panel.locator("#key-list li", has_text="Éditeur <i>CI</i>")
    await expect(item).to_contain_text("par mois")
    await expect(item).to_contain_text("5 req/min")
    async with AsyncOpenAI(base_url=dash_hub.url, api_key=secret, max_retries=0) as client:
        await client.chat.completions.create(model="fake/echo", messages=HELLO)
        await item.get_by_role("button", name="Révoquer").click()
        await page.locator("#confirm-ok").click()
        await expect(item.locator(".badge")).to_have_text("révoquée")
        with pytest.raises(openai.AuthenticationError):
            await client.chat.completions.create(model="fake/echo", messages=HELLO)
    assert secret not in await page.locator("#key-list").inner_text()
    assert errors == []
