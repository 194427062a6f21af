"""MCP through a real nginx in front of two replicas, with the mcp SDK's client (issue #26).

Protocol 2026-07-28 is stateless: round robin is fine. 2025-11-25 keeps a session on
the replica that answered ``initialize``: the configuration of docs/TEAM.md keeps each
client on one replica; plain round robin breaks such sessions (the documented reason).
"""

from __future__ import annotations

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from tests.support.nginx import missing_nginx, running_nginx
from tests.support.replicas import Replica

pytestmark = pytest.mark.skipif(missing_nginx() is not None, reason=str(missing_nginx()))
CALLS = 6


def _backends(replicas: list[Replica]) -> list[str]:
    return [f"127.0.0.1:{r.port}" for r in replicas]


async def _calls(url: str, mode: str) -> None:
    async with Client(f"{url}/mcp", mode=mode) as client:
        assert client.protocol_version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
        for _ in range(CALLS):
            result = await client.call_tool("tokens_count", {"text": "bonjour"})
            assert not result.is_error, result.content


async def test_stateless_requests_spread_and_sessions_stay_put(two_replicas: list[Replica]) -> None:
    with running_nginx(_backends(two_replicas)) as nginx:
        await _calls(nginx.url, "auto")
        stateless = nginx.upstreams()
        assert len(set(stateless)) == 2, stateless  # 2026-07-28: both replicas served
        for _ in range(3):  # three sessions, each on one replica
            await _calls(nginx.url, "legacy")
        assert len(set(nginx.upstreams()[len(stateless) :])) == 1


async def test_plain_round_robin_breaks_older_sessions(two_replicas: list[Replica]) -> None:
    """Why the sticky configuration is required (not a behaviour to keep)."""
    with running_nginx(_backends(two_replicas), mcp=False) as nginx:
        await _calls(nginx.url, "auto")  # stateless: fine anywhere
        with pytest.raises((MCPError, ExceptionGroup)):
            await _calls(nginx.url, "legacy")
