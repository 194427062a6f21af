"""What a stdio child inherits from the hub's environment (documented in the README)."""

from __future__ import annotations

import pytest

from hub.features.mcp_hub import SupervisorSettings, UpstreamHub
from hub.features.mcp_hub.child_env import child_environment
from tests.support.mcp_upstreams import dynamic, running_in_task


def test_certificates_proxies_locale_and_runtimes_pass_secrets_do_not() -> None:
    hub_env = {
        "NODE_EXTRA_CA_CERTS": "/etc/ca.pem",
        "HTTPS_PROXY": "http://proxy:3128",
        "LC_ALL": "fr_FR.UTF-8",
        "PYTHONPATH": "/opt/lib",
        "NODE_AUTH_TOKEN": "npm-secret",  # NODE_* but a secret
        "OPENAI_API_KEY": "sk-hub",
        "KIMI_ADMIN": "x",
    }
    env = child_environment(hub_env, {"LC_ALL": "C", "OWN": "1"})
    assert env["NODE_EXTRA_CA_CERTS"] == "/etc/ca.pem"
    assert env["HTTPS_PROXY"] == "http://proxy:3128" and env["PYTHONPATH"] == "/opt/lib"
    assert env["LC_ALL"] == "C" and env["OWN"] == "1"  # the server's own env wins
    assert not {"NODE_AUTH_TOKEN", "OPENAI_API_KEY", "KIMI_ADMIN"} & env.keys()
    assert "PATH" in env  # the SDK's minimal environment is still there


async def test_a_child_sees_the_allowed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NODE_EXTRA_CA_CERTS", "/etc/entreprise-ca.pem")
    monkeypatch.setenv("SOME_PROVIDER_API_KEY", "sk-not-for-children")
    hub = UpstreamHub({"dyn": dynamic()}, SupervisorSettings())
    async with running_in_task(hub):
        assert await hub.connections["dyn"].wait_ready(30)
        ca = await hub.call_tool("dyn__env", {"name": "NODE_EXTRA_CA_CERTS"})
        key = await hub.call_tool("dyn__env", {"name": "SOME_PROVIDER_API_KEY"})
    assert ca.content[0].text == "/etc/entreprise-ca.pem"  # type: ignore[union-attr]
    assert key.content[0].text == ""  # type: ignore[union-attr]
