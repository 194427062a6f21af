from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hub.config import HubConfig
from tests.support.dashboard_browser import RestartableHub


@pytest.fixture
async def dash_hub(hub_config: HubConfig) -> AsyncIterator[RestartableHub]:
    """The test config's hub on loopback, for a browser; it can stop and start again."""
    async with RestartableHub(hub_config) as hub:
        yield hub
