"""The French dashboard in Debian's chromium, against a real hub and the openai SDK."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

from openai import AsyncOpenAI
from playwright.async_api import Browser, Dialog, Page, expect

from hub.config import HubConfig, load_config
from hub.core.storage.store import Store
from tests.support.dashboard_browser import MOBILE, RestartableHub, open_dashboard, screenshot
from tests.support.mcp_upstreams import PYTHON, TESTS
from tests.support.polling import until
from tests.support.records import fake_record

CONTRAST_CHECK = (Path(__file__).parent / "dashboard_contrast.js").read_text()


async def chat(hub: RestartableHub, content: str, model: str = "fake/echo") -> None:
    async with AsyncOpenAI(base_url=hub.url, api_key="k", max_retries=0) as client:
        await client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": content}]
        )


async def settle(page: Page) -> None:
    """Two animation frames: Chart.js resizes on the frame after a viewport change."""
    await page.evaluate(
        "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"
    )


async def chart_data(page: Page) -> list[list[int]]:
    data: list[list[int]] = await page.evaluate(
        "() => Chart.getChart('token-chart').data.datasets.map((d) => d.data)"
    )
    return data


async def test_live_gauge_chart_log_and_totals(browser: Browser, dash_hub: RestartableHub) -> None:
    page, errors = await open_dashboard(browser, dash_hub.url)
    await expect(page.locator("#log-body")).to_contain_text("Aucune requête")
    await chat(dash_hub, "salut")  # prompt 5 tokens of 1000 -> vert
    await expect(page.locator("#log-body tr[data-id]")).to_have_count(1)
    await expect(page.locator("#gauge")).to_have_attribute("data-colour", "vert")
    await expect(page.locator("#totals dd[data-field=requests]")).to_have_text("1")
    await chat(dash_hub, "x" * 3300)  # 829 / 1000 -> first threshold (80 %)
    await expect(page.locator("#gauge")).to_have_attribute("data-colour", "jaune")
    await expect(page.locator("#gauge-text")).to_have_text("82,9 % — attention")
    await chat(dash_hub, "x" * 3700)  # 929 / 1000 -> second threshold (90 %)
    await expect(page.locator("#gauge")).to_have_attribute("data-colour", "rouge")
    await expect(page.locator("#log-body tr[data-id]")).to_have_count(3)
    assert await chart_data(page) == [[5, 829, 929], [9, 9, 9]]
    await expect(page.locator("#log-older")).to_be_hidden()  # nothing older to fetch
    # 1 763 prompt tokens with a narrow no-break space, as fr-FR writes it
    await expect(page.locator("#totals dd[data-field=prompt_tokens]")).to_have_text("1\u202f763")
    await expect(page.locator("#toast")).to_contain_text("Alerte")
    first = page.locator("#log-body tr[data-id]").last
    await expect(first).to_contain_text("fake/echo")
    await expect(first).to_contain_text("réel (estimé")
    assert await page.evaluate(CONTRAST_CHECK) == []  # WCAG AA on every visible text
    await screenshot(page, "dashboard-1280x800")
    await page.set_viewport_size(MOBILE)
    await settle(page)
    await screenshot(page, "dashboard-390x844")
    assert await page.evaluate(CONTRAST_CHECK) == []
    for width in (MOBILE["width"], 360):
        await page.set_viewport_size({"width": width, "height": 740})
        await settle(page)
        scroll = await page.evaluate("() => document.documentElement.scrollWidth")
        assert scroll <= width, f"la page déborde horizontalement à {width} px"
    await page.keyboard.press("Tab")  # skip link, then the first control
    await page.keyboard.press("Tab")
    outline = await page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid", "focus clavier invisible"
    assert errors == []


async def test_sessions_create_rename_activate_delete(
    browser: Browser, dash_hub: RestartableHub
) -> None:
    page, errors = await open_dashboard(browser, dash_hub.url)
    await page.fill("#new-session-name", "Refonte <b>CSS</b>")
    await page.press("#new-session-name", "Enter")
    item = page.locator("#session-list li", has_text="Refonte <b>CSS</b>")
    await expect(item.locator(".badge")).to_have_text("active")
    await expect(page.locator("#session-title")).to_contain_text("Refonte <b>CSS</b>")
    await page.fill("#new-session-name", "Deuxième")
    await page.click("#session-create button")
    await expect(
        page.locator("#session-list li", has_text="Deuxième").locator(".badge")
    ).to_be_visible()
    # the first one is no longer active: activate it again from the page
    await item.get_by_role("button", name="Activer").click()
    await expect(item.locator(".badge")).to_have_text("active")
    sessions = await dash_hub.state.sessions.list()
    assert [s.name for s in sessions if s.active] == ["Refonte <b>CSS</b>"]
    # rename inline
    await item.get_by_role("button", name="Renommer").click()
    await page.get_by_label("Nouveau nom pour Refonte <b>CSS</b>").fill("Refonte du thème")
    await page.get_by_role("button", name="Enregistrer").click()
    renamed = page.locator("#session-list li", has_text="Refonte du thème")
    await expect(renamed).to_be_visible()
    # delete: cancelling keeps it, confirming removes it
    await renamed.get_by_role("button", name="Supprimer").click()
    await expect(page.locator("#confirm-dialog")).to_contain_text("Refonte du thème")
    await page.get_by_role("button", name="Annuler").click()
    await expect(renamed).to_be_visible()
    await renamed.get_by_role("button", name="Supprimer").click()
    await page.locator("#confirm-ok").click()
    await expect(renamed).to_have_count(0)
    assert [s.name for s in await dash_hub.state.sessions.list()] == ["Deuxième"]
    await expect(page.locator("#session-title")).to_contain_text("Deuxième")
    assert errors == []


async def test_reconnects_after_hub_restart_and_refetches(
    browser: Browser, dash_hub: RestartableHub
) -> None:
    page, errors = await open_dashboard(browser, dash_hub.url)
    await chat(dash_hub, "avant le redémarrage")
    await expect(page.locator("#log-body tr[data-id]")).to_have_count(1)
    await dash_hub.stop()
    await expect(page.locator("#banner")).to_be_visible()
    await expect(page.locator("#banner")).to_have_text("Connexion perdue — reconnexion…")
    await screenshot(page, "dashboard-reconnect-banner")
    await dash_hub.start()  # same port, same database
    await expect(page.locator("#banner")).to_be_hidden()
    await expect(page.locator("#conn-state")).to_have_text("Connecté — en direct")
    await chat(dash_hub, "après le redémarrage")
    await expect(page.locator("#log-body tr[data-id]")).to_have_count(2)
    await expect(page.locator("#totals dd[data-field=requests]")).to_have_text("2")
    assert errors == []


async def test_refetch_on_reconnect_shows_rows_written_while_away(
    browser: Browser, dash_hub: RestartableHub
) -> None:
    page, errors = await open_dashboard(browser, dash_hub.url)
    await chat(dash_hub, "un")
    await expect(page.locator("#log-body tr[data-id]")).to_have_count(1)
    await dash_hub.stop()
    await expect(page.locator("#banner")).to_be_visible()
    # written while the hub is down, straight to its database: no /ws event will ever
    # announce them (inserted after the restart, the page's refetch could fall between
    # two of them and show totals and log from different moments)
    async with await Store.open(dash_hub.config.database_path) as store:
        session_id = (await store.list_requests())[0].session_id
        for i in range(3):
            await store.insert_request(fake_record(session_id, i))
    await dash_hub.start()
    await expect(page.locator("#banner")).to_be_hidden()
    await expect(page.locator("#log-body tr[data-id]")).to_have_count(4)
    await expect(page.locator("#totals dd[data-field=requests]")).to_have_text("4")
    assert errors == []


async def test_export_csv_and_json_downloads(browser: Browser, dash_hub: RestartableHub) -> None:
    page, errors = await open_dashboard(browser, dash_hub.url)
    await chat(dash_hub, "=SOMME(A1:A2)")
    await chat(dash_hub, "deux")
    await expect(page.locator("#log-body tr[data-id]")).to_have_count(2)
    async with page.expect_download() as csv_info:
        await page.click("#export-csv")
    download = await csv_info.value
    assert download.suggested_filename.endswith(".csv")
    text = (await download.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["model_key"] for r in rows] == ["fake/echo", "fake/echo"]
    assert {r["status"] for r in rows} == {"ok"}
    async with page.expect_download() as json_info:
        await page.click("#export-json")
    data = json.loads((await (await json_info.value).path()).read_text(encoding="utf-8"))
    assert data["totals"]["requests"] == 2
    assert len(data["requests"]) == 2
    assert data["sessions"][0]["id"] == int(rows[0]["session_id"])
    assert errors == []


async def test_mcp_panel_and_compaction_preview(browser: Browser, dash_hub: RestartableHub) -> None:
    page, errors = await open_dashboard(browser, dash_hub.url)
    await expect(page.locator("#mcp-panel")).to_contain_text("Aucun serveur MCP configuré")
    await chat(dash_hub, "pour avoir une session")
    await expect(page.locator("#log-body tr[data-id]")).to_have_count(1)
    await page.click("#compaction-preview")
    await expect(page.locator("#compaction-result")).to_contain_text("Aperçu — avant :")
    await expect(page.locator("#compaction-result")).to_contain_text("économie :")
    # live savings events go through the real bus and /ws
    session_id = (await dash_hub.state.sessions.list())[0].id
    dash_hub.state.bus.publish(
        "compaction",
        {"session_id": session_id, "tokens_saved": 1234, "message": "3 messages résumés"},
    )
    await expect(page.locator("#savings-events")).to_contain_text("1\u202f234 tokens économisés")
    dash_hub.state.bus.publish("masking", {"session_id": session_id, "tokens_saved": 56})
    await expect(page.locator("#savings-events li").first).to_contain_text("Masquage : 56 tokens")
    assert errors == []


DYN_UPSTREAM = f"""
[mcp.servers.dyn]
command = {json.dumps(PYTHON)}
args = [{json.dumps(str(TESTS / "mcp_dynamic_server.py"))}]
tools = {{ allow = ["grow", "sleep", "env"] }}

[mcp.servers.casse]
command = "/nulle-part/<img src=x onerror=alert(1)>"

[mcp.servers.off]
enabled = false
"""


async def test_mcp_panel_against_the_real_servers_route(
    browser: Browser, hub_config: HubConfig
) -> None:
    """A real upstream (the python dynamic server): state, tool count, restart, live events."""
    path = hub_config.source
    path.write_text(path.read_text() + DYN_UPSTREAM)
    async with RestartableHub(load_config(path, {"FAKE_UPSTREAM_KEY": "k"})) as hub:
        page, errors = await open_dashboard(browser, hub.url)
        dyn = page.locator(".mcp-server[data-name=dyn]")
        await expect(dyn).to_have_attribute("data-state", "ready")  # via live mcp_status
        await expect(dyn.locator(".badge")).to_have_text("prêt")
        await expect(dyn).to_contain_text("3 outils · stdio · 0 appel(s)")
        broken = page.locator(".mcp-server[data-name=casse]")
        await expect(broken).to_have_attribute("data-state", "down")
        await expect(broken.locator(".badge")).to_have_text("hors service")
        await expect(broken).to_contain_text("Dernière erreur : ")
        assert await page.locator("#mcp-panel img").count() == 0  # text, never markup
        off = page.locator(".mcp-server[data-name=off]")
        await expect(off.locator(".badge")).to_have_text("désactivé")
        await expect(off.locator("button")).to_have_count(0)  # a restart would be a 409

        restarts: list[str] = []
        listings: list[str] = []
        page.on("request", lambda r: restarts.append(r.url) if r.method == "POST" else None)
        page.on("request", lambda r: listings.append(r.url) if r.url.endswith("/servers") else None)
        before = len(listings)
        await page.get_by_role("button", name="Redémarrer le serveur MCP dyn").click()
        await expect(page.locator("#toast")).to_contain_text("Redémarrage du serveur MCP « dyn »")
        assert restarts == [hub.url + "/api/mcp/servers/dyn/restart"]
        # back to ready through the mcp_status WS event; the restart is counted
        await expect(dyn).to_contain_text("1 redémarrage(s)")
        await expect(dyn.locator(".badge")).to_have_text("prêt")
        assert [s["restarts"] for s in hub.state.upstreams.statuses() if s["name"] == "dyn"] == [1]
        # the click refreshes once; the other listings are the live mcp_status events' doing
        await until(lambda: len(listings) >= before + 2)
        assert await page.evaluate(CONTRAST_CHECK) == []
        await screenshot(page, "dashboard-mcp-panel")
        assert errors == []


async def test_api_key_hub_asks_once_then_goes_live(
    browser: Browser, hub_config: HubConfig
) -> None:
    secured = replace(hub_config, server=replace(hub_config.server, api_key="cle-du-hub-42"))
    async with RestartableHub(secured) as hub:
        context = await browser.new_context(locale="fr-FR")
        page = await context.new_page()
        asked: list[str] = []

        async def answer(dialog: Dialog) -> None:
            asked.append(dialog.message)
            await dialog.accept("cle-du-hub-42")

        page.on("dialog", answer)
        sockets: list[str] = []
        page.on("websocket", lambda socket: sockets.append(socket.url))
        await page.goto(hub.url + "/")
        await expect(page.locator("#conn-state")).to_have_attribute("data-state", "open")
        await expect(page.locator("#mcp-panel")).to_contain_text("Aucun serveur MCP")
        assert asked == ["Ce hub demande une clé API (KIMI_PROXY_API_KEY) :"]
        assert sockets and all(url.endswith("/ws") for url in sockets)  # no key in the URL
        async with AsyncOpenAI(base_url=hub.url, api_key="cle-du-hub-42", max_retries=0) as client:
            await client.chat.completions.create(
                model="fake/echo", messages=[{"role": "user", "content": "protégé"}]
            )
        await expect(page.locator("#log-body tr[data-id]")).to_have_count(1)
        # a plain link cannot carry the key: the page fetches the export with it
        async with page.expect_download() as csv_info:
            await page.click("#export-csv")
        download = await csv_info.value
        assert download.suggested_filename.startswith("kimi-proxy-")
        rows = list(csv.DictReader(io.StringIO((await download.path()).read_text("utf-8"))))
        assert [r["status"] for r in rows] == ["ok"]
