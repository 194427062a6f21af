"""The « Appels d’outils MCP » panel of the French dashboard, in Debian's chromium,
against a real hub called by a real MCP client."""

from __future__ import annotations

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from playwright.async_api import Browser, expect

from tests.support.dashboard_browser import RestartableHub, open_dashboard


async def test_tool_calls_appear_live_and_filter(
    browser: Browser, dash_hub: RestartableHub
) -> None:
    page, errors = await open_dashboard(browser, dash_hub.url)
    panel = page.locator("#audit-panel")
    await expect(panel.locator("#audit-body")).to_contain_text("Aucun appel d’outil")
    async with Client(f"{dash_hub.url}/mcp") as client:
        await client.call_tool("tokens_count", {"text": "bonjour"})
        with pytest.raises(MCPError):
            await client.call_tool("outil_fantome", {})
    rows = panel.locator("#audit-body tr")
    await expect(rows).to_have_count(2)  # live, from the audit events
    await expect(rows.first).to_contain_text("outil_fantome")
    await expect(rows.first).to_contain_text("inconnu")
    await expect(rows.nth(1)).to_contain_text("hub · tokens_count")
    await expect(rows.nth(1)).to_contain_text("autorisé")
    await panel.get_by_label("Décision").select_option("refused")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("outil_fantome")
    export = panel.locator("a[data-audit-export=csv]")
    await expect(export).to_have_attribute("href", "/api/export/audit/csv?decision=refused")
    assert errors == []
