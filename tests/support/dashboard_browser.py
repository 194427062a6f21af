"""The dashboard's browser tests: Debian chromium, pages with their errors, a restartable hub.

Never downloads a browser: without /usr/bin/chromium the ``browser`` fixture (conftest)
skips with that reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from playwright.async_api import Browser, Page, ViewportSize, async_playwright

from hub.api.app import create_app
from hub.api.state import HubState
from hub.config import HubConfig

CHROMIUM = Path("/usr/bin/chromium")
HAVE_CHROMIUM = CHROMIUM.exists()
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
MOBILE: ViewportSize = {"width": 390, "height": 844}


class RestartableHub:
    """The hub on a fixed loopback port, stoppable and restartable on the same DB."""

    def __init__(self, config: HubConfig) -> None:
        self.config = config
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._app = create_app(config)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def state(self) -> HubState:
        state = self._app.state.hub
        assert isinstance(state, HubState)
        return state

    async def start(self) -> None:
        self._app = create_app(self.config)
        config = uvicorn.Config(
            self._app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on",
            timeout_graceful_shutdown=2,
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("le hub s'est arrêté au démarrage")
            await asyncio.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    async def __aenter__(self) -> RestartableHub:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        await self._task
        self._server = None


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's headless chromium driven by Playwright (``HAVE_CHROMIUM`` says if it is there)."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


class PageErrors(list[str]):
    """Script errors and CSP violations seen by a page; the tests assert it stays empty."""


async def open_dashboard(
    browser: Browser, url: str, viewport: ViewportSize = DESKTOP
) -> tuple[Page, PageErrors]:
    context = await browser.new_context(
        viewport=viewport, locale="fr-FR", timezone_id="Europe/Paris", accept_downloads=True
    )
    page = await context.new_page()
    errors = PageErrors()
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: (
            errors.append(f"console: {msg.text}")
            if "Content Security Policy" in msg.text or "Uncaught" in msg.text
            else None
        ),
    )
    await page.goto(url + "/")
    await page.wait_for_selector("#conn-state[data-state=open]")
    return page, errors


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
