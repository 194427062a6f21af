"""A real OpenID provider on loopback (npm oauth2-mock-server, tests/support/oauth_provider.mjs)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest

from tests.support.node import ROOT, node22

SCRIPT = Path(__file__).with_name("oauth_provider.mjs")
PACKAGE = ROOT / "node_modules" / "oauth2-mock-server"


@dataclass
class Provider:
    issuer: str
    http: httpx2.AsyncClient

    async def token(
        self, claims: dict[str, object], kid: str | None = None, expires_in: int = 3600
    ) -> str:
        """A token signed by the provider with these claims (``None`` removes one)."""
        body: dict[str, object] = {"claims": claims, "expiresIn": expires_in}
        if kid is not None:
            body["kid"] = kid
        response = await self.http.post(f"{self.issuer}/test/token", json=body)
        response.raise_for_status()
        return str(response.json()["token"])

    async def rotate(self) -> str:
        """A new signing key; returns its kid."""
        response = await self.http.post(f"{self.issuer}/test/rotate", json={})
        response.raise_for_status()
        return str(response.json()["kid"])


@asynccontextmanager
async def oauth_provider() -> AsyncIterator[Provider]:
    node = node22()
    if node is None or not PACKAGE.exists():
        pytest.skip("Node 22 ou oauth2-mock-server absent (scripts/test-setup.sh) : test ignoré")
    process = await asyncio.create_subprocess_exec(
        node, str(SCRIPT), stdout=asyncio.subprocess.PIPE, cwd=str(ROOT)
    )
    try:
        assert process.stdout is not None
        issuer = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().strip()
        assert issuer.startswith("http://"), issuer
        async with httpx2.AsyncClient(timeout=10) as http:
            yield Provider(issuer, http)
    finally:
        process.terminate()
        await process.wait()
